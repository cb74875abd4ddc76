import { comparePositions, positionAfter } from '../../events/types.js';
import type { JsonObject, Position } from '../../events/types.js';
import type { Logger } from '../../log.js';
import { MEMORY_TYPES, memoryStream } from '../../memory/model.js';
import type { Memory, MemoryType } from '../../memory/model.js';
import type { MemoryCache } from '../../memory/reads.js';
import type { LogHead } from '../../tails/logHead.js';
import type { ProjectionRedis } from './client.js';
import type { RedisKeys } from './keys.js';
import { parsePosition } from './redisProjection.js';

/** GetMemory reads so far: answered from Redis, refused by the verification, or not in Redis. */
export interface CacheStats {
  served: number;
  unverified: number;
  misses: number;
}

/** The Redis projection as GetMemory's cache, with its counters. */
export interface RedisMemoryCache extends MemoryCache {
  stats(): CacheStats;
}

/** What the cache needs: the projection's Redis, and the process's head of the log to verify against. */
export interface RedisMemoryCacheOptions {
  redis: ProjectionRedis;
  keys: RedisKeys;
  head: LogHead;
  log: Logger;
  /** How long a read waits for the head of the log to reach its own audit event. */
  verifyWaitMs: number;
}

// Events of the head's window a verification looks through at most; beyond, PostgreSQL answers.
const VERIFY_SCAN_MAX = 20_000;
const SCAN_PAGE = 1_000;

/**
 * GetMemory from the Redis projection, served only when verified current. A cached memory is
 * the memory's state as of a position p (the projection's applied position, read atomically
 * with it; or the memory's own last event, if later). Once the read's memory_retrieved event
 * has committed at position A, the memory's state at A is the cached one exactly when no event
 * of the memory's stream lies between p and A: the head of the log (which reads every commit,
 * of every replica) tells, from memory, without a query per read.
 */
export function createRedisMemoryCache({ redis, keys, head, log, verifyWaitMs }: RedisMemoryCacheOptions): RedisMemoryCache {
  let failing = false;
  const stats: CacheStats = { served: 0, unverified: 0, misses: 0 };
  return {
    stats: () => ({ ...stats }),
    async lookup(id) {
      let reply: [string | null, string[]];
      try {
        reply = await redis.readMemory(keys.applied, keys.memory(id));
        failing = false;
      } catch (error) {
        if (!failing) log.warn({ err: error }, 'Redis read failed; reading from PostgreSQL until it answers');
        failing = true;
        stats.misses++;
        return undefined;
      }
      const [appliedText, flat] = reply;
      const applied = parsePosition(appliedText);
      if (!applied || flat.length === 0) {
        stats.misses++;
        return undefined;
      }
      const hash: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
      const memory = toMemory(hash);
      const own = parsePosition(hash.position);
      if (!memory || !own) {
        stats.misses++;
        return undefined;
      }
      const asOf = comparePositions(own, applied) > 0 ? own : applied;
      // Changed since, as far as this process has read the log already: PostgreSQL answers,
      // and records the read only if it finds the memory.
      if (changedSince(id, asOf, head.next()) !== false) {
        stats.unverified++;
        return undefined;
      }
      return { memory, asOf };
    },

    async isCurrent(cached, audited) {
      const current = await verify(cached.memory.id, cached.asOf, audited);
      if (current) stats.served++;
      else stats.unverified++;
      return current;
    },
  };

  async function verify(id: string, asOf: Position, audited: Position): Promise<boolean> {
    if (comparePositions(asOf, audited) >= 0) return true;
    if (!(await headReached(head, audited, verifyWaitMs))) return false;
    return changedSince(id, asOf, audited) === false;
  }

  // Whether an event of the memory lies after `asOf` and before `until`, from the head's
  // window; 'unknown' when the window does not reach back that far.
  function changedSince(id: string, asOf: Position, until: Position): boolean | 'unknown' {
    const stream = memoryStream(id);
    let cursor = positionAfter(asOf);
    for (let scanned = 0; scanned < VERIFY_SCAN_MAX; ) {
      const events = head.read(cursor, SCAN_PAGE);
      if (events === 'behind') return 'unknown';
      for (const event of events) {
        if (comparePositions(event.position, until) >= 0) return false;
        if (event.streamId === stream) return true;
      }
      if (events.length === 0) return false;
      scanned += events.length;
      cursor = positionAfter(events.at(-1)!.position);
    }
    return 'unknown';
  }
}
// Waits until the head has read past `position`; false when it has not within `ms`.
async function headReached(head: LogHead, position: Position, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (comparePositions(head.next(), position) <= 0) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([head.changed(), new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
    clearTimeout(timer);
  }
  return true;
}

// The memory a hash holds; undefined if any field is missing (a hash half-expired, or older).
function toMemory(hash: Record<string, string>): Memory | undefined {
  const { id, agentId, type, content, metadata, confidence, createdAt, updatedAt, expiresAt, version, lastEventId } = hash;
  if (
    id === undefined ||
    agentId === undefined ||
    !MEMORY_TYPES.includes(type as MemoryType) ||
    content === undefined ||
    metadata === undefined ||
    confidence === undefined ||
    createdAt === undefined ||
    updatedAt === undefined ||
    expiresAt === undefined ||
    version === undefined ||
    lastEventId === undefined
  )
    return undefined;
  return {
    id,
    agentId,
    userId: hash.userId ?? null,
    type: type as MemoryType,
    content: JSON.parse(content) as JsonObject,
    metadata: JSON.parse(metadata) as JsonObject,
    confidence: Number(confidence),
    createdAt: Number(createdAt),
    updatedAt: Number(updatedAt),
    expiresAt: expiresAt === '' ? null : Number(expiresAt),
    version: BigInt(version),
    // Deleted and swept-expired memories are removed from Redis; one past its time is decided by the reader.
    deleted: false,
    expired: false,
    lastEventId,
  };
}
