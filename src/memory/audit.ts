import type { StreamWriter } from '../events/eventStore.js';
import { comparePositions } from '../events/types.js';
import type { JsonObject, Position } from '../events/types.js';
import { accessStream, MEMORY_EVENTS } from './model.js';
import type { Caller, Memory } from './model.js';

/** What a read was: the operation and the query it answered (filters, search text, ids asked for). */
export interface Retrieval {
  operation: 'get_memory' | 'list_memories' | 'search_memories' | 'get_memory_history';
  query: JsonObject;
}

/**
 * Records a read of people's data (HIPAA access log): one memory_retrieved event per person
 * whose memories were returned, on that person's access stream, naming the caller, the
 * person, the ids returned and the query, all in one commit. Call it after reading and answer
 * only once it returned: if the record cannot be written, the read fails and returns nothing.
 * Memories about nobody (no user id) are nobody's data and are not recorded. Resolves to the
 * position of the last event recorded; undefined when nothing was.
 */
export async function recordRetrieval(
  writer: StreamWriter,
  caller: Caller,
  memories: readonly Memory[],
  retrieval: Retrieval,
  signal?: AbortSignal,
): Promise<Position | undefined> {
  const byPerson = new Map<string, string[]>();
  for (const memory of memories) {
    if (memory.userId === null) continue;
    const ids = byPerson.get(memory.userId) ?? [];
    ids.push(memory.id);
    byPerson.set(memory.userId, ids);
  }
  if (byPerson.size === 0) return undefined;
  const results = await writer.appendEach(
    [...byPerson].map(([userId, memoryIds]) => ({
      streamId: accessStream(userId),
      events: [
        {
          type: MEMORY_EVENTS.retrieved,
          data: { caller: caller.agentId, user_id: userId, operation: retrieval.operation, memory_ids: memoryIds, query: retrieval.query },
          metadata: { user_id: userId, caller: caller.agentId },
        },
      ],
    })),
    signal,
  );
  return results.map((result) => result.lastPosition).reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b));
}
