-- The memory module's part of GetSharedContext (src/memory/sharedContext.ts): the other agents'
-- recent high-confidence memories of a person and the person's recent decisions, as one JSON
-- value, within a byte budget. A function rather than an expression in the caller's statement
-- because PL/pgSQL keeps its statement's plan for the session: the inline statement was parsed
-- and planned on every call, which took most of its time (bench/collaboration/run.ts, BENCHMARKS.md).
--
-- The value: {agents: [{agent_id, memories}], decisions: [...], truncated}. The budget (bytes of
-- memories.size) is spent in the answer's order — decisions newest first, then the agents by
-- id, each newest first — and the answer stops at the first memory that would pass it:
-- `running` is the bytes up to and with each memory across both parts, so what is kept is a
-- prefix of that order. Every agent is listed, with the memories that fit (none after the cut).
-- The agents are found from the data by a skip scan of memories_user_agent_newest (sql/070), one
-- probe per agent (`agent_id <> ''`, always true, was the predicate of the index it replaced).

create or replace function shared_memories(
  p_user_id          text,
  p_requesting_agent text,
  p_min_confidence   double precision,
  p_per_agent        integer,
  p_decisions        integer,
  p_budget           bigint
) returns jsonb language plpgsql stable
-- The plan depends on no value (equalities on indexed columns, limits): planned once per session.
set plan_cache_mode = force_generic_plan
as $$
declare
  v_result jsonb;
begin
  with recursive decisions as (
    select recent.memory, recent.created_at, recent.id, sum(recent.size) over (order by recent.created_at desc, recent.id desc) as running
      from (select shared_memory_json(m) as memory, m.created_at, m.id, m.size from memories m
             where m.user_id = p_user_id and m.type = 'decision' and m.deleted_at is null and m.expired_at is null
               and (m.expires_at is null or m.expires_at > now())
             order by m.created_at desc, m.id desc limit p_decisions) recent
  ),
  agents(agent_id) as (
    (select m.agent_id from memories m where m.user_id = p_user_id and m.deleted_at is null and m.agent_id <> '' order by m.agent_id limit 1)
    union all
    select (select m.agent_id from memories m
             where m.user_id = p_user_id and m.deleted_at is null and m.agent_id <> '' and m.agent_id > a.agent_id
             order by m.agent_id limit 1)
      from agents a where a.agent_id is not null
  ),
  others as (select agents.agent_id from agents where agents.agent_id is not null and agents.agent_id <> p_requesting_agent),
  newest as (
    select others.agent_id, n.memory, n.created_at, n.id,
           (select coalesce(max(decisions.running), 0) from decisions)
           + sum(n.size) over (order by others.agent_id, n.created_at desc, n.id desc) as running
      from others cross join lateral (
        select shared_memory_json(m) as memory, m.created_at, m.id, m.size from memories m
         where m.agent_id = others.agent_id and m.user_id = p_user_id and m.deleted_at is null and m.expired_at is null
           and (m.expires_at is null or m.expires_at > now()) and m.confidence >= p_min_confidence
         order by m.created_at desc, m.id desc limit p_per_agent) n
  )
  select jsonb_build_object(
    'agents', coalesce((select jsonb_agg(jsonb_build_object('agent_id', others.agent_id, 'memories', coalesce(
                          (select jsonb_agg(newest.memory order by newest.created_at desc, newest.id desc) from newest
                            where newest.agent_id = others.agent_id and newest.running <= p_budget), '[]'::jsonb))
                        order by others.agent_id) from others), '[]'::jsonb),
    'decisions', coalesce((select jsonb_agg(decisions.memory order by decisions.created_at desc, decisions.id desc)
                             from decisions where decisions.running <= p_budget), '[]'::jsonb),
    'truncated', exists (select from decisions where decisions.running > p_budget)
                 or exists (select from newest where newest.running > p_budget))
    into v_result;
  return v_result;
end $$;

-- One live memory as shared_memories gives it: times as epoch milliseconds (truncated, as the
-- service's timestamptz parser truncates them), the version as text (JSON has no 64-bit integers).
create or replace function shared_memory_json(m memories) returns jsonb language sql stable as $$
  select jsonb_build_object(
    'id', m.id::text, 'agent_id', m.agent_id, 'user_id', m.user_id, 'type', m.type,
    'content', m.content, 'metadata', m.metadata, 'confidence', m.confidence,
    'created_at', floor(extract(epoch from m.created_at) * 1000)::float8,
    'updated_at', floor(extract(epoch from m.updated_at) * 1000)::float8,
    'expires_at', floor(extract(epoch from m.expires_at) * 1000)::float8,
    'version', m.version::text, 'last_event_id', m.last_event_id::text)
$$;
