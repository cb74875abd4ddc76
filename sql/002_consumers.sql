-- Durable consumers: where each named consumer stands in the log, and how it is doing.
-- Written only by the replica holding the consumer's advisory lock; the position moves by
-- compare-and-set, so a replica that lost the lock without noticing cannot move it back.

create table consumer_checkpoints (
  name            text primary key,
  -- The last position handled (or scanned past, for a filtered consumer): processing resumes
  -- after it. (0, 0) is the log's start. The pair is the public Position (commit, prepare).
  commit          bigint not null default 0 check (commit >= 0),
  prepare         bigint not null default 0 check (prepare >= 0),
  updated_at      timestamptz not null default now(),
  -- Handler calls that succeeded, over every run (at least once: a re-delivery counts again).
  handled_events  bigint not null default 0 check (handled_events >= 0),
  -- The handler failing on the event after the checkpoint: null / 0 while it succeeds.
  last_error      text,
  failed_attempts int not null default 0 check (failed_attempts >= 0),
  failing_since   timestamptz
);
