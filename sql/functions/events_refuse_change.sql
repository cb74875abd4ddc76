-- The log is append-only: no update, delete or truncate, whoever asks.
create or replace function events_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'the event log is append-only: % on events is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;

-- The bindings live here, not in a numbered file: the numbered files run before this folder,
-- and a trigger cannot be created before its function (see src/db/migrate.ts).
create or replace trigger events_append_only_rows before update or delete on events
  for each row execute function events_refuse_change();
create or replace trigger events_append_only_truncate before truncate on events
  for each statement execute function events_refuse_change();
