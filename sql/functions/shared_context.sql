-- GetSharedContext in one statement, one snapshot and one round trip (src/collaboration/queries.ts):
-- the person's validated hypotheses, newest validation first, within the byte budget, then the
-- memory module's part (shared_memories, sql/functions/shared_memories.sql) with what is left of
-- it. A function so that PL/pgSQL keeps the statement's plan for the session: sent inline, the
-- statement was parsed and planned on every call (0.75 ms of planning in its EXPLAIN ANALYZE,
-- about half of the statement; BENCHMARKS.md, "Collaboration").
-- The hypotheses stop at the first that would pass the budget; if any is left out, nothing of the
-- memory module's part fits either (its budget is the rest after all of them).

create or replace function shared_context(
  p_user_id          text,
  p_requesting_agent text,
  p_min_confidence   double precision,
  p_per_agent        integer,
  p_decisions        integer,
  p_hypotheses       integer,
  p_max_bytes        bigint
) returns table (memories jsonb, hypotheses jsonb, hypotheses_truncated boolean) language plpgsql stable
-- The plan depends on no value (equalities on indexed columns, limits): planned once per session.
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
  return query
    select shared_memories(p_user_id, p_requesting_agent, p_min_confidence, p_per_agent, p_decisions, p_max_bytes - validated.bytes),
           validated.hypotheses, validated.truncated
      from (
        select coalesce(jsonb_agg(sized.hypothesis order by sized.resolved_at desc, sized.id desc) filter (where sized.running <= p_max_bytes), '[]'::jsonb) as hypotheses,
               coalesce(max(sized.running), 0) as bytes, coalesce(bool_or(sized.running > p_max_bytes), false) as truncated
          from (
            select jsonb_build_object(
                     'id', latest.id::text, 'agent_id', latest.agent_id, 'user_id', latest.user_id, 'statement', latest.statement,
                     'status', latest.status, 'initial_confidence', latest.initial_confidence, 'evidence', latest.evidence,
                     'final_confidence', latest.final_confidence, 'validation_evidence', latest.validation_evidence,
                     'resolved_by', latest.resolved_by,
                     'formed_at', floor(extract(epoch from latest.formed_at) * 1000)::float8,
                     'resolved_at', floor(extract(epoch from latest.resolved_at) * 1000)::float8,
                     'version', latest.version::text) as hypothesis,
                   latest.resolved_at, latest.id, sum(latest.size) over (order by latest.resolved_at desc, latest.id desc) as running
              from (select h.* from hypotheses h
                     where h.user_id = p_user_id and h.status = 'validated'
                     order by h.resolved_at desc, h.id desc limit p_hypotheses) latest
          ) sized
      ) validated;
end;
$$;
