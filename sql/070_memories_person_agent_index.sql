-- One index for a person's memories by agent, where there were two: (person, agent, newest
-- first) serves ListMemories(agent, person) in its order (an equality on both columns, as
-- memories_agent_user_newest did) and the skip scan of a person's agents in GetSharedContext
-- (one probe per agent, as memories_user_agents did: sql/021). Every memory written updated
-- both; an index less is one B-tree insert less per memory written (auren migrate: BENCHMARKS.md
-- "JSON import"). The reads' plans: test/memory/readIndexes.int.spec.ts.
create index memories_user_agent_newest on memories (user_id, agent_id, created_at desc, id desc) where deleted_at is null;
drop index memories_agent_user_newest;
drop index memories_user_agents;
