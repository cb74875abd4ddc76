import type { StreamAppend, StreamWriter } from '../events/eventStore.js';
import type { AppendResult, JsonObject } from '../events/types.js';
import { principalStamp, RESERVED_METADATA_KEY } from '../auth/principal.js';
import { memoryStream } from './model.js';
import type { Caller, Memory, MEMORY_EVENTS } from './model.js';

/** One change of a memory, as its event records it. */
export interface MemoryChange {
  /** The memory whose change it is (its identity: id, agent, person, type). */
  memory: Pick<Memory, 'id' | 'agentId' | 'userId' | 'type'>;
  /** Its version before the change (0 for a new memory): the stream must be exactly there. */
  versionBefore: bigint;
  eventId: string;
  type: (typeof MEMORY_EVENTS)[Exclude<keyof typeof MEMORY_EVENTS, 'retrieved'>];
  caller: Caller;
  /** What changed, besides the memory's identity, which every event carries. */
  data: JsonObject;
  /** Facts about the write beside the person and the caller (an import's source file). */
  metadata?: JsonObject;
}

/**
 * Appends a change to the memory's stream. The trigger apply_memory_event (sql/functions/)
 * changes the row in the same statement, so a row never exists without its event. The exact
 * expected version refuses a change made on a version another writer has already moved past.
 * metadata.user_id puts the event on the person's audit trail.
 */
export function appendChange(writer: StreamWriter, change: MemoryChange, signal?: AbortSignal): Promise<AppendResult> {
  const { streamId, expected, events } = changeAppend(change);
  return writer.append(streamId, expected, events, signal);
}

/** A change as the append that records it: one event on the memory's stream, at exactly its version before. */
export function changeAppend(change: MemoryChange): StreamAppend {
  const { memory } = change;
  return {
    streamId: memoryStream(memory.id),
    expected: { kind: 'exact', version: change.versionBefore },
    events: [
      {
        eventId: change.eventId,
        type: change.type,
        data: { memory_id: memory.id, agent_id: memory.agentId, user_id: memory.userId, type: memory.type, ...change.data },
        metadata: {
          ...(memory.userId === null ? {} : { user_id: memory.userId }),
          ...change.metadata,
          caller: change.caller.name,
          [RESERVED_METADATA_KEY]: { principal: principalStamp(change.caller) },
        },
      },
    ],
  };
}

/** An expiry as event data: ISO 8601, or null for none. */
export const expiryData = (expiresAt: number | null): string | null => (expiresAt === null ? null : new Date(expiresAt).toISOString());
