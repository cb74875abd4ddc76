-- append_to_stream appends p_events (a JSON array of {event_id, type, data, metadata,
-- correlation_id, causation_id}) to one stream in the caller's transaction. Every write to
-- the event store goes through it.
--   p_expected: 'any' | 'no_stream' | 'stream_exists' | 'exact' (with p_expected_version).
-- Returns one row: outcome 'appended', 'duplicate' (every event id was already appended
-- with the same content by an earlier call: its result is returned, nothing is written) or
-- 'wrong_expected_version' (nothing written; stream_version is the actual version).
-- Event ids reused with different content raise SQLSTATE 'AU409'.
-- The duplicate-id check probes the event_id index directly: measured, a join on a small
-- table was planned as a full scan on every append.

create or replace function append_to_stream(
  p_stream_id text,
  p_expected text,
  p_expected_version bigint,
  p_events jsonb
) returns table (
  outcome        text,
  stream_version bigint,
  first_commit   text,
  first_prepare  bigint,
  last_commit    text,
  last_prepare   bigint
) language plpgsql as $$
declare
  v_current bigint;
  v_count   int := jsonb_array_length(p_events);
  v_ids     uuid[];
  v_found   int;
  v_same    int;
begin
  -- Lock the stream row: appends to one stream are serialized until commit, so versions
  -- are gap-free and an expected version is checked against the committed state.
  loop
    select s.version into v_current from streams s where s.stream_id = p_stream_id for update;
    exit when found;
    if p_expected in ('stream_exists') or (p_expected = 'exact' and p_expected_version <> 0) then
      v_current := 0;
      exit;
    end if;
    insert into streams (stream_id, version) values (p_stream_id, 0) on conflict do nothing;
    if found then
      v_current := 0;
      exit;
    end if;
    -- another append created the stream meanwhile: lock its row on the next turn
  end loop;

  -- Idempotent retry: the same event ids again return the first result. Probe the unique
  -- index with = any(): joined to jsonb_array_elements (which the planner takes for 100
  -- rows) the probe became a scan of the whole table while it was small.
  select array_agg((e->>'event_id')::uuid order by ord) into v_ids
    from jsonb_array_elements(p_events) with ordinality as t(e, ord);
  select count(*) into v_found from events ev where ev.event_id = any(v_ids);
  if v_found > 0 then
    select count(*) into v_same
      from jsonb_array_elements(p_events) with ordinality as p(e, ord)
      join events ev on ev.event_id = (p.e->>'event_id')::uuid
     where ev.stream_id = p_stream_id
       and ev.type = p.e->>'type'
       and ev.data = p.e->'data'
       and ev.metadata = p.e->'metadata'
       and ev.correlation_id is not distinct from p.e->>'correlation_id'
       and ev.causation_id is not distinct from p.e->>'causation_id';
  end if;
  if v_found > 0 then
    if v_found = v_count and v_same = v_count then
      return query
        select 'duplicate', max(ev.version),
               (array_agg(ev.transaction_id::text order by ev.transaction_id, ev.position))[1],
               min(ev.position),
               (array_agg(ev.transaction_id::text order by ev.transaction_id desc, ev.position desc))[1],
               max(ev.position)
          from events ev where ev.event_id = any(v_ids);
      return;
    end if;
    raise exception 'event id already used by an event with different content'
      using errcode = 'AU409',
            detail = (select string_agg(ev.event_id::text, ',') from events ev where ev.event_id = any(v_ids));
  end if;

  if (p_expected = 'no_stream' and v_current <> 0)
     or (p_expected = 'stream_exists' and v_current = 0)
     or (p_expected = 'exact' and v_current <> p_expected_version) then
    return query select 'wrong_expected_version', v_current, null::text, null::bigint, null::text, null::bigint;
    return;
  end if;

  return query
    with appended as (
      insert into events (event_id, stream_id, version, type, data, metadata, correlation_id, causation_id)
      select (e->>'event_id')::uuid, p_stream_id, v_current + ord, e->>'type', e->'data', e->'metadata',
             e->>'correlation_id', e->>'causation_id'
        from jsonb_array_elements(p_events) with ordinality as t(e, ord)
       order by ord
      returning events.position
    )
    select 'appended', v_current + v_count,
           pg_current_xact_id()::text, min(a.position), pg_current_xact_id()::text, max(a.position)
      from appended a;

  update streams set version = v_current + v_count, updated_at = now() where stream_id = p_stream_id;
end;
$$;
