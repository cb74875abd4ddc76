import { sql } from 'slonik';
import type { FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { rowCheck } from '../db/fastRows.js';
import { memoryRow } from './queries.js';
import type { Memory } from './model.js';

// The memory module's part of GetSharedContext (src/collaboration/reads.ts): an expression the
// caller puts in its own statement beside its own parts, so that the whole context is read in
// one statement — one snapshot and one round trip — and parsed back here. The expression calls
// the SQL function shared_memories (sql/functions/shared_memories.sql), whose plan PostgreSQL
// keeps for the session: parsed and planned on every call, the same query took three times as long.

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

/**
 * The shared memories of a person as one JSON expression: `{agents: [{agent_id, memories}],
 * decisions: [...], truncated}`, by the function shared_memories (sql/functions/, where the
 * order the budget is spent in is told). Put it in a statement; parse its value with
 * parseSharedMemories.
 */
export function sharedMemoriesExpression(q: SharedMemoriesQuery): FragmentSqlToken {
  return sql.fragment`shared_memories(${q.userId}, ${q.requestingAgent}, ${q.minConfidence}::float8, ${q.perAgent}::int,
    ${q.decisions}::int, (${q.budget})::bigint)`;
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
  const fast = rowCheck(sharedMemoriesJson)(value);
  const parsed = fast.ok ? (fast.data as z.infer<typeof sharedMemoriesJson>) : sharedMemoriesJson.parse(value);
  return {
    agents: parsed.agents.map((a) => ({ agentId: a.agent_id, memories: a.memories.map(fromJson) })),
    decisions: parsed.decisions.map(fromJson),
    truncated: parsed.truncated,
  };
}
