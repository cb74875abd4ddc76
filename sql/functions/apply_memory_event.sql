-- Keeps the memories table (sql/003_memories.sql) in the statement that appends a memory's
-- events: the row is what its stream's events say, at its stream's version. Only the memory
-- module writes streams `memory-<id>` (the event store refuses them to clients).
-- A memory_created event may carry created_at: a memory imported from a legacy file keeps its
-- original time (src/memory/imports.ts); updated_at is still when its event was written.
--
-- Once per statement, over the events it inserted (a transition table), not once per event: a
-- row trigger ran its INSERT as a statement of its own per memory, and starting that statement
-- (the table's eight indexes opened, its partial indexes' predicates, generated columns and
-- checks prepared) cost about as much as writing the row. The memories a statement creates go
-- in with one INSERT; the other changes, rarer, are applied one by one in log order, as the row
-- trigger did. Measured (.scratch A/B, 200,000 memories, append_batch() statements of new
-- memories, each committed, backend CPU, rounds alternated, load 3.2–3.8): 16 memories a
-- statement 5,650 -> 4,150 µs, 4 a statement 2,100 -> 2,000, 1 a statement 1,513 -> 1,463;
-- a statement of another stream's event 1,213 -> 1,138 (no cost the noise lets through).

create or replace function apply_memory_event() returns trigger language plpgsql as $$
declare
  -- append_imported_memories() writes the rows of its memory_created events itself, set-wise
  -- and before it takes the log's counter, and says so for its insert (auren.memory_rows).
  v_rows_written boolean := current_setting('auren.memory_rows', true) is not distinct from 'written';
  v_created      int;
  v_changed      int;
  v_event        record;
begin
  -- Most statements append no memory event (other streams, the audit events of reads): one
  -- look at the statement's events, and nothing else is started.
  select count(*) filter (where n.type = 'memory_created'), count(*) filter (where n.type <> 'memory_created')
    into v_created, v_changed
    from new_events n where n.stream_id like 'memory-%';

  if v_created > 0 and not v_rows_written then
    insert into memories (id, agent_id, user_id, type, content, metadata, confidence,
                          created_at, updated_at, expires_at, version, last_event_id)
    select (n.data->>'memory_id')::uuid, n.data->>'agent_id', n.data->>'user_id', n.data->>'type', n.data->'content',
           n.data->'metadata', (n.data->>'confidence')::double precision,
           coalesce((n.data->>'created_at')::timestamptz, n.created_at), n.created_at,
           (n.data->>'expires_at')::timestamptz, n.version, n.event_id
      from new_events n
     where n.stream_id like 'memory-%' and n.type = 'memory_created'
     order by n.position;
  end if;
  if v_changed = 0 then
    return null;
  end if;

  -- After the creations: a memory created in this statement may change in it too.
  for v_event in select n.type, (n.data->>'memory_id')::uuid as id, n.data, n.created_at, n.version, n.event_id
                   from new_events n
                  where n.stream_id like 'memory-%' and n.type <> 'memory_created'
                  order by n.position loop
    case v_event.type
      when 'memory_updated' then
        update memories
           set content = coalesce(v_event.data->'content', content),
               metadata = coalesce(v_event.data->'metadata', metadata),
               confidence = coalesce((v_event.data->>'confidence')::double precision, confidence),
               updated_at = v_event.created_at, version = v_event.version, last_event_id = v_event.event_id
         where id = v_event.id;
      when 'memory_deleted' then
        update memories set deleted_at = v_event.created_at, updated_at = v_event.created_at, version = v_event.version,
                            last_event_id = v_event.event_id
         where id = v_event.id;
      when 'memory_expired' then
        update memories set expired_at = v_event.created_at, updated_at = v_event.created_at, version = v_event.version,
                            last_event_id = v_event.event_id
         where id = v_event.id;
      else
        raise exception 'unknown memory event type %', v_event.type;
    end case;
    if not found then
      raise exception 'memory % has no row for its event %', v_event.id, v_event.type;
    end if;
  end loop;
  return null;
end;
$$;

-- One exception: append_imported_memories() (sql/functions/) writes the rows of the memories it
-- imports itself, set-wise and before it takes the log's counter, with the expressions above, and
-- says so for its own insert (auren.memory_rows = 'written'); only its memory_created events
-- are skipped here.
create or replace trigger memories_from_events after insert on events referencing new table as new_events
  for each statement execute function apply_memory_event();
