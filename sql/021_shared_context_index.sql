-- GetSharedContext (src/memory/sharedContext.ts), measured with EXPLAIN ANALYZE in
-- bench/collaboration/run.ts on a person with 6 agents × 1,000 memories among 24,000:
-- - The agents holding a person's memories are found by a skip scan, one probe per agent. With
--   memories_agent_user_newest (agent first) each probe walked the index across every other
--   person of the next agents (0.75 ms a probe, 4.9 ms for 6 agents); with the person first it
--   is one index leaf per agent. Its predicate names agent_id <> '' (always true: agent ids
--   are never empty), which only that statement states: as the smallest index on user_id it
--   was otherwise taken for a person's ListMemories, read as a bitmap and sorted, rather than
--   memories_user_newest walked in order (test/memory/readIndexes.int.spec.ts).
-- - A person's newest decisions were read through memories_newest, filtering 18,000 rows away
--   (10 ms); decisions are a small part of the memories, so a partial index holds them alone.
create index memories_user_agents on memories (user_id, agent_id) where deleted_at is null and agent_id <> '';
create index memories_user_decisions on memories (user_id, created_at desc, id desc) where type = 'decision' and deleted_at is null;
