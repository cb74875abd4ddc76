-- Keeps the memories table (sql/003_memories.sql) in the statement that appends a memory's
-- event: the row is what its stream's events say, at its stream's version. Only the memory
-- module writes streams `memory-<id>` (the event store refuses them to clients).
-- A memory_created event may carry created_at: a memory imported from a legacy file keeps its
-- original time (src/memory/imports.ts); updated_at is still when its event was written.

create or replace function apply_memory_event() returns trigger language plpgsql as $$
declare
  v_id uuid := (new.data->>'memory_id')::uuid;
begin
  case new.type
    when 'memory_created' then
      insert into memories (id, agent_id, user_id, type, content, metadata, confidence,
                            created_at, updated_at, expires_at, version, last_event_id)
      values (v_id, new.data->>'agent_id', new.data->>'user_id', new.data->>'type', new.data->'content',
              new.data->'metadata', (new.data->>'confidence')::double precision,
              coalesce((new.data->>'created_at')::timestamptz, new.created_at), new.created_at,
              (new.data->>'expires_at')::timestamptz, new.version, new.event_id);
    when 'memory_updated' then
      update memories
         set content = coalesce(new.data->'content', content),
             metadata = coalesce(new.data->'metadata', metadata),
             confidence = coalesce((new.data->>'confidence')::double precision, confidence),
             updated_at = new.created_at, version = new.version, last_event_id = new.event_id
       where id = v_id;
    when 'memory_deleted' then
      update memories set deleted_at = new.created_at, updated_at = new.created_at, version = new.version, last_event_id = new.event_id
       where id = v_id;
    when 'memory_expired' then
      update memories set expired_at = new.created_at, updated_at = new.created_at, version = new.version, last_event_id = new.event_id
       where id = v_id;
    else
      raise exception 'unknown memory event type %', new.type;
  end case;
  if not found then
    raise exception 'memory % has no row for its event %', v_id, new.type;
  end if;
  return null;
end;
$$;

-- One exception: append_imported_memories() (sql/functions/) writes the rows of the memories it
-- imports itself, set-wise and before it takes the log's counter, with the expressions above, and
-- says so for its own transaction (auren.memory_rows = 'written'); only its memory_created events
-- skip the trigger.
create or replace trigger memories_from_events after insert on events
  for each row when (new.stream_id like 'memory-%'
                     and not (new.type = 'memory_created' and current_setting('auren.memory_rows', true) is not distinct from 'written'))
  execute function apply_memory_event();
