-- Agent memories: a read model kept by the trigger apply_memory_event (sql/functions/) in the
-- statement that appends the memory's event, so a row never exists without its event, nor an
-- event without its row. The row records that event (last_event_id) and its stream's version.

create table memories (
  id            uuid primary key,
  agent_id      text not null,
  -- The person the memory is about: any id the agents use ("user_12345"); null for none.
  user_id       text,
  type          text not null check (type in ('fact', 'analysis', 'recommendation', 'hypothesis', 'insight', 'conversation', 'decision')),
  content       jsonb not null check (jsonb_typeof(content) = 'object'),
  metadata      jsonb not null check (jsonb_typeof(metadata) = 'object'),
  confidence    double precision not null check (confidence >= 0 and confidence <= 1),
  -- The words of the text values of content: not its keys, not its punctuation.
  search        tsvector generated always as (jsonb_to_tsvector('english'::regconfig, content, '["string"]')) stored,
  created_at    timestamptz not null,
  updated_at    timestamptz not null,
  expires_at    timestamptz,
  deleted_at    timestamptz,
  -- Set when the expiry sweeper recorded memory_expired.
  expired_at    timestamptz,
  version       bigint not null check (version >= 1),
  last_event_id uuid not null
);

-- Newest first, by agent and person, by person, and overall; (created_at, id) is the keyset.
create index memories_agent_user_newest on memories (agent_id, user_id, created_at desc, id desc) where deleted_at is null;
create index memories_user_newest on memories (user_id, created_at desc, id desc) where deleted_at is null;
create index memories_newest on memories (created_at desc, id desc) where deleted_at is null;
create index memories_search on memories using gin (search) where deleted_at is null;
-- The sweeper's work list: live memories with an expiry not yet recorded.
create index memories_expiring on memories (expires_at) where expires_at is not null and deleted_at is null and expired_at is null;

-- ListMemories by agent alone (one agent's memories about everyone), newest first. Neither
-- memories_agent_user_newest (ordered within one person only) nor memories_newest (all agents,
-- filtered row by row) serves it in order: measured with EXPLAIN on 55,000 memories in
-- test/memory/readIndexes.int.spec.ts. GetMemoryStats(agent_id) reads through it too.
create index memories_agent_newest on memories (agent_id, created_at desc, id desc) where deleted_at is null;

-- A person's memories come from the few agents that advise them: agent_id and user_id are
-- correlated, and the planner, assuming them independent, underestimates (agent, person) and
-- sorts a heavy person's whole history instead of reading memories_agent_user_newest in order.
create statistics memories_agent_user_stats (dependencies, ndistinct) on agent_id, user_id from memories;

-- The audit trail of a person: events about them carry metadata.user_id.
create index events_user_order on events ((metadata->>'user_id'), position) where metadata ? 'user_id';
-- Estimates for the audit trail (events.aboutPersonQuery: metadata->>'user_id' = $1 in log order).
-- The planner does not use the statistics of the partial index events_user_order, so without
-- these it takes every person for 0.5% of the log: a person with a long trail was read whole and
-- sorted for every page. With them it walks the index in order and stops at the page's end.
-- Measured in test/memory/history.int.spec.ts ("answers from the index events_user_order").
create statistics events_user_id_stats on ((metadata->>'user_id')) from events;
