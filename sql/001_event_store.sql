-- The event store: append-only events, ordered per stream by version and globally by
-- (transaction_id, position). Every write goes through append_to_stream(), and triggers keep
-- the log append-only: both are in sql/functions/, re-created on every migration.

create table streams (
  stream_id  text primary key,
  version    bigint not null check (version >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table events (
  -- "prepare" of the public Position: unique, assigned in insertion order.
  position       bigint generated always as identity primary key,
  -- "commit" of the public Position: the writing transaction. Tails read only rows whose
  -- transaction is older than every transaction still running, so no later commit of an
  -- earlier position can be skipped.
  transaction_id xid8 not null default pg_current_xact_id(),
  event_id       uuid not null,
  stream_id      text not null,
  version        bigint not null check (version >= 1),
  type           text not null,
  data           jsonb not null,
  metadata       jsonb not null,
  correlation_id text,
  causation_id   text,
  created_at     timestamptz not null default now(),
  constraint events_event_id_key unique (event_id),
  constraint events_stream_version_key unique (stream_id, version)
);

create index events_log_order on events (transaction_id, position);
create index events_type_log_order on events (type, transaction_id, position);
