import type { StreamWriter } from '../events/eventStore.js';
import { comparePositions } from '../events/types.js';
import type { JsonObject, Position, ProposedEvent } from '../events/types.js';

import { principalStamp, RESERVED_METADATA_KEY } from '../auth/principal.js';
import { accessStream, MEMORY_EVENTS, memoryStream } from './model.js';
import type { Caller, Memory } from './model.js';

/** What a read was: the operation and the query it answered (filters, search text, ids asked for). */
export interface Retrieval {
  operation: 'get_memory' | 'list_memories' | 'search_memories' | 'get_memory_history';
  query: JsonObject;
}

/** The type of the record of a read of people's data that is not a memory read (the audit trail, the log). */
export const DATA_ACCESSED = 'data_accessed';
/**
 * The type of the record of a page of a person's audit trail read. It is on their access stream
 * but not in the trail itself: a trail that grew with each page read would never end.
 */
export const AUDIT_TRAIL_READ = 'audit_trail_read';
/** Records of reads: reading one is not itself recorded, or a tail that reads them would record forever. */
export const READ_RECORDS: readonly string[] = [DATA_ACCESSED, AUDIT_TRAIL_READ];

/**
 * Records reads of people's data other than memory reads: one data_accessed event per person on
 * their access stream, naming the caller (its principal), the operation and what was read.
 */
export async function recordPersonAccess(
  writer: StreamWriter,
  caller: Caller,
  byPerson: ReadonlyMap<string, JsonObject>,
  operation: string,
  signal?: AbortSignal,
  type = DATA_ACCESSED,
): Promise<void> {
  if (byPerson.size === 0) return;
  const principal = principalStamp(caller);
  await writer.appendEach(
    [...byPerson].map(([userId, what]) => ({
      streamId: accessStream(userId),
      events: [
        {
          type,
          data: { caller: caller.name, principal, user_id: userId, operation, ...what },
          metadata: { user_id: userId, caller: caller.name, [RESERVED_METADATA_KEY]: { principal } },
        },
      ],
    })),
    signal,
  );
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
  const appends = retrievalAppends(caller, memories, retrieval);
  if (appends.length === 0) return undefined;
  const results = await writer.appendEach(appends, signal);
  return results.map((result) => result.lastPosition).reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b));
}

/** The memories whose changes a cached list depends on: those of its scope, changed after a position. */
export interface CachedScope {
  /** The position the cache had applied when it was read. */
  position: Position;
  /** The identity its memories share (their events' data): agent_id, user_id, type. */
  scope: JsonObject;
}

/** Most events a cached answer may be behind the log and still be checked (the check reads them). */
export const CACHE_MAX_SCAN = 1_000;

/**
 * Records a read of memories answered from a cached list, exactly as recordRetrieval records it,
 * on the condition that no memory of the list's scope changed after the position the cache was
 * at: true when recorded (then the cached list is the scope's state at the record, so it is the
 * answer), false when something changed, or the cache was too far behind, and nothing was
 * recorded (the caller reads PostgreSQL and records that read instead). `memories` must hold
 * at least one person's memory: a read about nobody records nothing and proves nothing.
 */
export async function recordCachedListRetrieval(
  writer: StreamWriter,
  caller: Caller,
  memories: readonly Memory[],
  retrieval: Retrieval,
  cached: CachedScope,
  signal?: AbortSignal,
): Promise<boolean> {
  const appends = retrievalAppends(caller, memories, retrieval);
  if (appends.length === 0) throw new Error('a cached read about nobody cannot be verified by its record');
  const recorded = await writer.appendEachIfUnchanged(
    appends,
    { after: cached.position, streamPrefix: memoryStream(''), data: cached.scope, maxScan: CACHE_MAX_SCAN },
    signal,
  );
  return recorded !== 'changed';
}

// One memory_retrieved event per person whose memories were read, on their access stream.
function retrievalAppends(
  caller: Caller,
  memories: readonly Memory[],
  retrieval: Retrieval,
): { streamId: string; events: ProposedEvent[] }[] {
  const byPerson = new Map<string, string[]>();
  const others = new Set(memories.filter((m) => caller.agentId !== null && m.agentId !== caller.agentId).map((m) => m.id));
  for (const memory of memories) {
    if (memory.userId === null) continue;
    const ids = byPerson.get(memory.userId) ?? [];
    ids.push(memory.id);
    byPerson.set(memory.userId, ids);
  }
  return [...byPerson].map(([userId, memoryIds]) => ({
    streamId: accessStream(userId),
    events: [
      retrievedEvent(
        caller,
        userId,
        memoryIds,
        memoryIds.some((id) => others.has(id)),
        retrieval,
      ),
    ],
  }));
}

/**
 * Records a read of one memory answered from a cache, on the condition that the memory is at
 * the cached version when the record commits: true when recorded (the cached state is the
 * memory's state at its read record, so it is the answer), false when the memory had changed
 * and nothing was recorded (the caller reads PostgreSQL and records that read instead).
 */
export async function recordCachedRetrieval(
  writer: StreamWriter,
  caller: Caller,
  memory: Memory & { userId: string },
  retrieval: Retrieval,
  signal?: AbortSignal,
): Promise<boolean> {
  const shared = caller.agentId !== null && memory.agentId !== caller.agentId;
  const recorded = await writer.appendIfStreamAt(
    accessStream(memory.userId),
    [retrievedEvent(caller, memory.userId, [memory.id], shared, retrieval)],
    { streamId: memoryStream(memory.id), version: memory.version },
    signal,
  );
  return recorded !== 'changed';
}

// The memory_retrieved event of a read of one person's memories.
function retrievedEvent(caller: Caller, userId: string, memoryIds: string[], shared: boolean, retrieval: Retrieval): ProposedEvent {
  return {
    type: MEMORY_EVENTS.retrieved,
    data: {
      caller: caller.name,
      principal: principalStamp(caller),
      user_id: userId,
      operation: retrieval.operation,
      // Another agent's memories, read through the shared-context scope: said so in the record.
      shared,
      memory_ids: memoryIds,
      query: retrieval.query,
    },
    metadata: { user_id: userId, caller: caller.name, [RESERVED_METADATA_KEY]: { principal: principalStamp(caller) } },
  };
}
