-- append_to_stream: one append through append_batch(), for scripts, psql and bulk loads.
-- The service itself sends batches.

create or replace function append_to_stream(p_stream_id text, p_expected text, p_expected_version bigint, p_events jsonb)
returns table (outcome text, stream_version bigint, first_position bigint, last_position bigint, conflicting_ids text)
language sql as $$
  select b.outcome, b.stream_version, b.first_position, b.last_position, b.conflicting_ids
    from append_batch(jsonb_build_array(jsonb_build_object(
      'stream_id', p_stream_id, 'expected', p_expected, 'expected_version', p_expected_version, 'events', p_events))) as b
$$;
