-- append_imported_memories: the bulk write path of `auren migrate` (src/memory/imports.ts). Each
-- memory is what StoreMemory writes: one memory_created event, version 1 of its new stream
-- `memory-<id>`, and its row in memories, in this one statement's transaction. What differs is
-- the order, so that several imports can run at once on a 2-core machine:
--
--   1. the memories rows, set-wise, with the very expressions of apply_memory_event() over the
--      same event data (their created_at is now(), the transaction's time, as the event's is),
--      `on conflict (id) do nothing`: a memory already there (imported earlier, or by a
--      concurrent run, which this waits for) is not written again, nor its event;
--   2. their streams, at version 1;
--   3. only then the log's counter (sql/001_event_store.sql), held to commit as append_batch()
--      holds it, so positions still follow commit order; under it only the events are inserted,
--      each hashed in the insert itself as append_batch() hashes its appends' first events (a
--      first event chains to nothing; the trigger event_chain, a PL/pgSQL call per event, cost
--      about 10% of the import's PostgreSQL time: BENCHMARKS.md "JSON import"). The memories
--      trigger skips these memory_created events (auren.memory_rows, set for this insert only):
--      their rows are written.
--
-- The counter is thus held for the events alone (about a third of the work: BENCHMARKS.md), and
-- steps 1–2 of one batch run while another batch holds it. Two runs importing the same files
-- at once can deadlock on each other's rows (PostgreSQL aborts one with 40P01): the importer
-- sends that batch again.
--
-- The JSON is read once, into arrays; when every memory was new, as on a first import, they go
-- to the events as they are (a second pass over the JSON for the events, as before, measured
-- 240 ms of CPU against 220 for 2,000 memories, the least of 7 on a loaded machine: barely
-- more than the noise, but no cheaper).
--
-- p_events: a JSON array of {event_id, data, metadata}, data being a memory_created event's
-- (memory_id, agent_id, user_id, type, content, metadata, confidence, expires_at, created_at).
-- p_inner, p_outer: the hash-chain key's pads (sql/functions/event_chain.sql).
-- Returns the memories written now, with their events' positions; the others were there.
create or replace function append_imported_memories(p_events jsonb, p_inner bytea default null, p_outer bytea default null)
returns table (memory_id uuid, event_position bigint) language plpgsql as $$
declare
  v_ids       uuid[];
  v_event_ids uuid[];
  v_data      jsonb[];
  v_metadata  jsonb[];
  v_written   uuid[];
  v_count     int;
  v_last      bigint;
  v_chain     boolean;
begin
  -- Hashed when the service gave its key and the chain is on (the trigger enabled), as append_batch() decides.
  v_chain := p_inner is not null
             and coalesce((select t.tgenabled <> 'D' from pg_trigger t
                            where t.tgrelid = 'events'::regclass and t.tgname = 'events_chain'), false);
  if p_inner is not null then
    perform set_config('auren.chain_inner', encode(p_inner, 'hex'), true), set_config('auren.chain_outer', encode(p_outer, 'hex'), true);
  end if;
  perform set_config('auren.memory_rows', 'written', true);

  -- The batch's columns, out of the JSON in one pass, in its order.
  select array_agg((e.data->>'memory_id')::uuid), array_agg(e.event_id), array_agg(e.data), array_agg(e.metadata)
    into v_ids, v_event_ids, v_data, v_metadata
    from jsonb_to_recordset(p_events) as e(event_id uuid, data jsonb, metadata jsonb);

  with written as (
    insert into memories (id, agent_id, user_id, type, content, metadata, confidence,
                          created_at, updated_at, expires_at, version, last_event_id)
    select u.id, u.data->>'agent_id', u.data->>'user_id', u.data->>'type', u.data->'content',
           u.data->'metadata', (u.data->>'confidence')::double precision,
           coalesce((u.data->>'created_at')::timestamptz, now()), now(),
           (u.data->>'expires_at')::timestamptz, 1, u.event_id
      from unnest(v_ids, v_event_ids, v_data) as u(id, event_id, data)
     order by 1
        on conflict (id) do nothing
    returning id
  )
  select array_agg(id), count(*) into v_written, v_count from written;
  if v_count = 0 then
    return;
  end if;
  if v_count < cardinality(v_ids) then
    -- Some were there (or one was sent twice: two copies of a file): only the memories written
    -- now get their events and streams, each at its first place in the batch.
    select array_agg(f.id order by f.k), array_agg(f.event_id order by f.k), array_agg(f.data order by f.k), array_agg(f.metadata order by f.k)
      into v_ids, v_event_ids, v_data, v_metadata
      from (select distinct on (u.id) u.*
              from unnest(v_ids, v_event_ids, v_data, v_metadata) with ordinality as u(id, event_id, data, metadata, k)
             where u.id = any(v_written)
             order by u.id, u.k) as f;
  end if;

  insert into streams (stream_id, version) select 'memory-' || id, 1 from unnest(v_ids) as u(id);

  update log_head set last = last + v_count where id returning last - v_count into v_last;

  insert into events (position, event_id, stream_id, version, type, data, metadata, correlation_id, causation_id, created_at, hash)
  select v_last + u.k, u.event_id, 'memory-' || u.id, 1, 'memory_created', u.data, u.metadata, null, null, now(),
         case when v_chain then
           event_hash(null, p_inner, p_outer, u.event_id, 'memory-' || u.id, 1, 'memory_created', u.data, u.metadata,
                      null, null, v_last + u.k, now())
         end
    from unnest(v_ids, v_event_ids, v_data, v_metadata) with ordinality as u(id, event_id, data, metadata, k)
   order by u.k;
  -- Back to the trigger for any later statement of the transaction.
  perform set_config('auren.memory_rows', '', true);

  return query select u.id, v_last + u.k from unnest(v_ids) with ordinality as u(id, k);
end;
$$;
