-- event_hash: the hash of one event: HMAC-SHA256 (inner and outer key pads given) over the
-- previous event of its stream's hash and the event's fields as a JSON array (jsonb's text is
-- canonical: one spelling per value, keys ordered), so no two events encode alike. Stable, not
-- immutable, as its body is (jsonb_build_array, extract from timestamptz): so PostgreSQL inlines it
-- into the statement that calls it instead of running it as a function per event (measured: 20 µs
-- per event at load 8, BENCHMARKS.md "Security").
create or replace function event_hash(
  p_prev bytea, p_inner bytea, p_outer bytea,
  p_event_id uuid, p_stream_id text, p_version bigint, p_type text, p_data jsonb, p_metadata jsonb,
  p_correlation_id text, p_causation_id text, p_position bigint, p_created_at timestamptz
) returns bytea language sql stable as $$
  select sha256(p_outer || sha256(p_inner || coalesce(p_prev, ''::bytea) || convert_to(jsonb_build_array(
    p_event_id, p_stream_id, p_version, p_type, p_data, p_metadata, p_correlation_id, p_causation_id, p_position,
    (extract(epoch from p_created_at) * 1000000)::bigint)::text, 'UTF8')))
$$;

-- event_chain_hash: each event's hash as an aggregate over its stream's events in version order,
-- used as a window (`over (partition by stream_id order by version)`), so one statement hashes
-- several events of one stream, each over the one before it. Its first argument is the hash of
-- the stream's last event before them (null for a new stream); the rest are event_hash's. The
-- step is plpgsql, which keeps its plan: a `language sql` step is not inlined into an aggregate
-- and runs through the SQL-function executor per event (the 20 µs of BENCHMARKS.md "Security").
create or replace function event_chain_step(
  p_hash bytea, p_before bytea, p_inner bytea, p_outer bytea,
  p_event_id uuid, p_stream_id text, p_version bigint, p_type text, p_data jsonb, p_metadata jsonb,
  p_correlation_id text, p_causation_id text, p_position bigint, p_created_at timestamptz
) returns bytea language plpgsql stable as $$
begin
  -- The running hash is null only before the first event (a hash is never null).
  return event_hash(coalesce(p_hash, p_before), p_inner, p_outer, p_event_id, p_stream_id, p_version, p_type, p_data,
                    p_metadata, p_correlation_id, p_causation_id, p_position, p_created_at);
end;
$$;

create or replace aggregate event_chain_hash(
  bytea, bytea, bytea, uuid, text, bigint, text, jsonb, jsonb, text, text, bigint, timestamptz
) (sfunc = event_chain_step, stype = bytea);

-- Chains each new event that comes without a hash to the previous one of its stream. append_batch
-- hashes its events itself, set-wise in its inserts (event_chain_hash: a row trigger per event
-- cost more than the hash, BENCHMARKS.md "Security"), except after a stream whose last event is
-- missing, which it leaves to this trigger to refuse. append_imported_memories hashes its own too
-- (each imported event is the first of a new stream).
-- The key pads come from the appending transaction (append_batch sets them from its caller); an
-- insert without them (plain SQL, not the service) gets no hash, and `auren audit verify` reports
-- it. A BEFORE trigger sees the rows its statement inserted before (PostgreSQL: "Trigger
-- visibility"), and the inserts go in version order, so the predecessor is always there.
-- Disabling this trigger turns the chain off for append_batch too (it looks the trigger up).
create or replace function event_chain() returns trigger language plpgsql as $$
declare
  v_inner bytea := decode(coalesce(current_setting('auren.chain_inner', true), ''), 'hex');
  v_outer bytea := decode(coalesce(current_setting('auren.chain_outer', true), ''), 'hex');
  v_prev  bytea;
begin
  if length(v_inner) = 0 then
    new.hash := null;
    return new;
  end if;
  if new.version > 1 then
    select e.hash into v_prev from events e where e.stream_id = new.stream_id and e.version = new.version - 1;
    if not found then
      raise exception 'event_chain: version % of stream % has no predecessor', new.version, new.stream_id;
    end if;
  end if;
  new.created_at := coalesce(new.created_at, now());
  new.hash := event_hash(v_prev, v_inner, v_outer, new.event_id, new.stream_id, new.version, new.type, new.data,
                         new.metadata, new.correlation_id, new.causation_id, new.position, new.created_at);
  return new;
end;
$$;

-- An event that comes with a hash is not hashed again: only the service's key makes a hash that
-- verifies, so a made-up one is reported as altered.
create or replace trigger events_chain before insert on events
  for each row when (new.hash is null) execute function event_chain();
