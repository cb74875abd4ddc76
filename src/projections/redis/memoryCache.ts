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
export function createRedisMemoryCache({ redis, keys, head, log, verifyWaitMs }: RedisMemoryCacheOptions): MemoryCache {
  let failing = false;
  return {
    async lookup(id) {
      let reply: [string | null, string[]];
      try {
        reply = await redis.readMemory(keys.applied, keys.memory(id));
        failing = false;
      } catch (error) {
        if (!failing) log.warn({ err: error }, 'Redis read failed; reading from PostgreSQL until it answers');
        failing = true;
        return undefined;
      }
      const [appliedText, flat] = reply;
      const applied = parsePosition(appliedText);
      if (!applied || flat.length === 0) return undefined;
      const hash: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
      const memory = toMemory(hash);
      const own = parsePosition(hash.position);
      if (!memory || !own) return undefined;
      return { memory, asOf: comparePositions(own, applied) > 0 ? own : applied };
    },

    async isCurrent(cached, audited) {
      if (comparePositions(cached.asOf, audited) >= 0) return true;
      if (!(await headReached(head, audited, verifyWaitMs))) return false;
      const stream = memoryStream(cached.memory.id);
      let cursor = positionAfter(cached.asOf);
      for (let scanned = 0; scanned < VERIFY_SCAN_MAX; ) {
        const events = head.read(cursor, SCAN_PAGE);
        if (events === 'behind') return false;
        for (const event of events) {
          if (comparePositions(event.position, audited) >= 0) return true;
          if (event.streamId === stream) return false;
        }
        if (events.length === 0) return true;
        scanned += events.length;
        cursor = positionAfter(events.at(-1)!.position);
      }
      return false;
    },
  };
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
