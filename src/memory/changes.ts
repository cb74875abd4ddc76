import type { FragmentSqlToken } from 'slonik';
import type { StoreTransaction } from '../events/eventStore.js';
import type { JsonObject } from '../events/types.js';
import { memoryStream } from './model.js';
import { changeMemoryQuery, toMemory } from './queries.js';
import type { Caller, Memory, MEMORY_EVENTS } from './model.js';

/** One change of a memory, as its event records it. */
export interface MemoryChange {
  /** The memory as the change left it. */
  memory: Memory;
  /** Its version before the change (0 for a new memory): the stream must be exactly there. */
  versionBefore: bigint;
  eventId: string;
  type: (typeof MEMORY_EVENTS)[Exclude<keyof typeof MEMORY_EVENTS, 'retrieved'>];
  caller: Caller;
  /** What changed, besides the memory's identity (id, agent, person, type) which every event carries. */
  data: JsonObject;
}

/**
 * Appends a change to the memory's stream inside the transaction that changed its row. The
 * exact expected version makes a second writer that raced past the row lock fail instead of
 * writing a version twice. metadata.user_id puts the event on the person's audit trail.
 */
export async function appendChange(tx: StoreTransaction, change: MemoryChange): Promise<void> {
  const { memory } = change;
  await tx.append(
    memoryStream(memory.id),
    { kind: 'exact', version: change.versionBefore },
    [{
      eventId: change.eventId,
      type: change.type,
      data: { memory_id: memory.id, agent_id: memory.agentId, user_id: memory.userId, type: memory.type, ...change.data },
      metadata: memory.userId === null ? { caller: change.caller.agentId } : { user_id: memory.userId, caller: change.caller.agentId },
    }],
  );
}

/** Applies `sets` to a memory row locked by this transaction, counting the change and naming its event. */
export async function changeRow(tx: StoreTransaction, id: string, eventId: string, sets: FragmentSqlToken[]): Promise<Memory> {
  return toMemory(await tx.db.one(changeMemoryQuery(id, eventId, sets)));
}

/** An expiry as event data: ISO 8601, or null for none. */
export const expiryData = (expiresAt: number | null): string | null => (expiresAt === null ? null : new Date(expiresAt).toISOString());
