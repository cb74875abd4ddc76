-- The event store: append-only events, ordered per stream by version and in the whole log by
-- position. Every write goes through append_batch(), and triggers keep the log append-only:
-- both are in sql/functions/, re-created on every migration.

create table streams (
  stream_id  text primary key,
  version    bigint not null check (version >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- The log's counter: the last position handed out. append_batch() updates it before anything
-- else and its row lock is held until the appending transaction commits, so appending
-- transactions take positions one after another, in the order they commit. A reader that sees
-- position p therefore sees every position before it: nothing else on the server (a long
-- transaction in another database, say) can hold the log back, and positions have no gaps.
create table log_head (
  id   boolean primary key default true check (id),
  last bigint not null check (last >= 0)
);
insert into log_head (last) values (0);

create table events (
  -- The public Position: commit = prepare = position.
  position       bigint primary key check (position >= 1),
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

create index events_type_position on events (type, position);
