import { sql } from 'slonik';
import type { FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { memoryRow } from './queries.js';
import type { Memory } from './model.js';

// The memory module's part of GetSharedContext (src/collaboration/reads.ts): an expression the
// caller puts in its own statement beside its own parts, so that the whole context is read in
// one statement — one snapshot and one round trip — and parsed back here.

/** What the shared context asks of the memories. */
export interface SharedMemoriesQuery {
  userId: string;
  /** Left out: the agent asking. */
  requestingAgent: string;
  minConfidence: number;
  perAgent: number;
  decisions: number;
  /**
   * Bytes of documents (content and metadata as JSON text, memories.size) the answer may hold,
   * as a SQL expression (the caller's statement may have spent some of its budget already).
   */
  budget: FragmentSqlToken;
}

/** The other agents' recent high-confidence memories of a person, and the person's recent decisions. */
export interface SharedMemories {
  /** Every other agent with live memories of the person, by agent id, each with its newest memories above the threshold. */
  agents: { agentId: string; memories: Memory[] }[];
  /** Decision memories of every agent, newest first. */
  decisions: Memory[];
  /** Whether memories were left out to stay within the budget. */
  truncated: boolean;
}

// Live: not deleted (the partial indexes' condition) and not expired. The orders name the
// table's columns, so that they are the indexes' orders.
const live = sql.fragment`memories.deleted_at is null and memories.expired_at is null
  and (memories.expires_at is null or memories.expires_at > now())`;
// Times as epoch milliseconds, truncated as the pool's timestamptz parser truncates them.
const ms = (column: FragmentSqlToken) => sql.fragment`floor(extract(epoch from ${column}) * 1000)::float8`;
const memoryJson = sql.fragment`jsonb_build_object(
  'id', memories.id::text, 'agent_id', memories.agent_id, 'user_id', memories.user_id, 'type', memories.type,
  'content', memories.content, 'metadata', memories.metadata, 'confidence', memories.confidence,
  'created_at', ${ms(sql.fragment`memories.created_at`)}, 'updated_at', ${ms(sql.fragment`memories.updated_at`)},
  'expires_at', ${ms(sql.fragment`memories.expires_at`)}, 'version', memories.version::text,
  'last_event_id', memories.last_event_id::text)`;

/**
 * The agents holding memories of a person, found from the data (the seed hard-coded six names):
 * a skip scan over memories_user_agents, one probe per agent. `agent_id <> ''` (always true) is
 * that partial index's predicate, which no other statement states (sql/021).
 */
function agentsOf(userId: string): FragmentSqlToken {
  return sql.fragment`
    with recursive agents(agent_id) as (
      (select agent_id from memories where user_id = ${userId} and deleted_at is null and agent_id <> '' order by agent_id limit 1)
      union all
      select (select m.agent_id from memories m
               where m.user_id = ${userId} and m.deleted_at is null and m.agent_id <> '' and m.agent_id > a.agent_id
               order by m.agent_id limit 1)
        from agents a where a.agent_id is not null
    )
    select agent_id from agents where agent_id is not null`;
}

/**
 * The shared memories of a person as one JSON expression: `{agents: [{agent_id, memories}],
 * decisions: [...], truncated}`. Put it in a statement; parse its value with parseSharedMemories.
 *
 * The budget is spent in the answer's order — decisions newest first, then the agents by id, each
 * newest first — and the answer stops at the first memory that would pass it: `running` is the
 * bytes up to and with each memory, across both parts, so what is kept is a prefix of that order.
 * Every agent is listed, with the memories that fit (none after the cut).
 */
export function sharedMemoriesExpression(q: SharedMemoriesQuery): FragmentSqlToken {
  return sql.fragment`(
    with budget as (select (${q.budget})::bigint as bytes),
    decisions as (
      select recent.memory, recent.created_at, recent.id, sum(recent.size) over (order by recent.created_at desc, recent.id desc) as running
        from (select ${memoryJson} as memory, memories.created_at, memories.id, memories.size from memories
               where memories.user_id = ${q.userId} and memories.type = 'decision' and ${live}
               order by memories.created_at desc, memories.id desc limit ${q.decisions}) recent),
    others as (select agent_id from (${agentsOf(q.userId)}) found where found.agent_id <> ${q.requestingAgent}),
    newest as (
      select others.agent_id, n.memory, n.created_at, n.id,
             (select coalesce(max(decisions.running), 0) from decisions) + sum(n.size) over (order by others.agent_id, n.created_at desc, n.id desc) as running
        from others cross join lateral (
          select ${memoryJson} as memory, memories.created_at, memories.id, memories.size from memories
           where memories.agent_id = others.agent_id and memories.user_id = ${q.userId} and ${live}
             and memories.confidence >= ${q.minConfidence}
           order by memories.created_at desc, memories.id desc limit ${q.perAgent}) n)
    select jsonb_build_object(
      'agents', coalesce((select jsonb_agg(jsonb_build_object('agent_id', others.agent_id, 'memories', coalesce(
                            (select jsonb_agg(newest.memory order by newest.created_at desc, newest.id desc) from newest, budget
                              where newest.agent_id = others.agent_id and newest.running <= budget.bytes), '[]'::jsonb))
                          order by others.agent_id) from others), '[]'::jsonb),
      'decisions', coalesce((select jsonb_agg(decisions.memory order by decisions.created_at desc, decisions.id desc)
                               from decisions, budget where decisions.running <= budget.bytes), '[]'::jsonb),
      'truncated', exists (select from decisions, budget where decisions.running > budget.bytes)
                   or exists (select from newest, budget where newest.running > budget.bytes)))`;
}

// A memories row as the statement builds it in JSON: live rows only, the version as text.
const memoryJsonRow = memoryRow.omit({ deleted_at: true, expired_at: true }).extend({ version: z.string() });
const sharedMemoriesJson = z.object({
  agents: z.array(z.object({ agent_id: z.string(), memories: z.array(memoryJsonRow) })),
  decisions: z.array(memoryJsonRow),
  truncated: z.boolean(),
});

function fromJson(m: z.infer<typeof memoryJsonRow>): Memory {
  return {
    id: m.id,
    agentId: m.agent_id,
    userId: m.user_id,
    type: m.type,
    content: m.content,
    metadata: m.metadata,
    confidence: m.confidence,
    createdAt: m.created_at,
    updatedAt: m.updated_at,
    expiresAt: m.expires_at,
    version: BigInt(m.version),
    deleted: false,
    expired: false,
    lastEventId: m.last_event_id,
  };
}

/** The value of sharedMemoriesExpression, checked, as the domain's memories. */
export function parseSharedMemories(value: unknown): SharedMemories {
  const parsed = sharedMemoriesJson.parse(value);
  return {
    agents: parsed.agents.map((a) => ({ agentId: a.agent_id, memories: a.memories.map(fromJson) })),
    decisions: parsed.decisions.map(fromJson),
    truncated: parsed.truncated,
  };
}
