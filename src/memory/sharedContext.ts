import { z } from 'zod';
import { rowCheck } from '../db/fastRows.js';
import { memoryRow } from './queries.js';
import type { Memory } from './model.js';

// The memory module's part of GetSharedContext (src/collaboration/reads.ts): the SQL function
// shared_memories (sql/functions/shared_memories.sql) builds it as one JSON value, inside the
// collaboration module's statement (shared_context), so that the whole context is read in one
// statement — one snapshot and one round trip; it is parsed back here.

/** The other agents' recent high-confidence memories of a person, and the person's recent decisions. */
export interface SharedMemories {
  /** Every other agent with live memories of the person, by agent id, each with its newest memories above the threshold. */
  agents: { agentId: string; memories: Memory[] }[];
  /** Decision memories of every agent, newest first. */
  decisions: Memory[];
  /** Whether memories were left out to stay within the budget. */
  truncated: boolean;
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

/** The value of shared_memories(), checked, as the domain's memories. */
export function parseSharedMemories(value: unknown): SharedMemories {
  const fast = rowCheck(sharedMemoriesJson)(value);
  const parsed = fast.ok ? (fast.data as z.infer<typeof sharedMemoriesJson>) : sharedMemoriesJson.parse(value);
  return {
    agents: parsed.agents.map((a) => ({ agentId: a.agent_id, memories: a.memories.map(fromJson) })),
    decisions: parsed.decisions.map(fromJson),
    truncated: parsed.truncated,
  };
}
