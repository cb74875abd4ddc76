-- ListMemories by agent alone (one agent's memories about everyone), newest first. Neither
-- memories_agent_user_newest (ordered within one person only) nor memories_newest (all agents,
-- filtered row by row) serves it in order: measured with EXPLAIN on 55,000 memories in
-- test/memory/readIndexes.int.spec.ts. GetMemoryStats(agent_id) reads through it too.
create index memories_agent_newest on memories (agent_id, created_at desc, id desc) where deleted_at is null;

-- A person's memories come from the few agents that advise them: agent_id and user_id are
-- correlated, and the planner, assuming them independent, underestimates (agent, person) and
-- sorts a heavy person's whole history instead of reading memories_agent_user_newest in order.
create statistics memories_agent_user_stats (dependencies, ndistinct) on agent_id, user_id from memories;
