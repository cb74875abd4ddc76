import type { JsonObject } from '../../events/types.js';
import type { Logger } from '../../log.js';
import { MEMORY_TYPES } from '../../memory/model.js';
import type { Memory, MemoryType } from '../../memory/model.js';
import type { MemoryCache } from '../../memory/reads.js';
import type { ProjectionRedis } from './client.js';
import type { RedisKeys } from './keys.js';

/** GetMemory reads so far: answered from Redis, found stale at their audit event, or not in Redis. */
export interface CacheStats {
  served: number;
  unverified: number;
  misses: number;
}

/** The Redis projection as GetMemory's cache, with its counters. */
export interface RedisMemoryCache extends MemoryCache {
  stats(): CacheStats;
}

/** What the cache needs: the projection's Redis. */
export interface RedisMemoryCacheOptions {
  redis: ProjectionRedis;
  keys: RedisKeys;
  log: Logger;
}

/**
 * GetMemory from the Redis projection. A cached memory is the memory's state at its cached
 * version; the read's memory_retrieved event reports, as it commits, the memory's version at
 * that point of the log (reads.ts), and the cached state is served only when the two are equal.
 * Nothing waits for the projection or for the head of the log: a lagging projection costs a
 * read from PostgreSQL, never a stale answer.
 */
export function createRedisMemoryCache({ redis, keys, log }: RedisMemoryCacheOptions): RedisMemoryCache {
  let failing = false;
  const stats: CacheStats = { served: 0, unverified: 0, misses: 0 };
  return {
    stats: () => ({ ...stats }),
    async lookup(id) {
      let hash: Record<string, string>;
      try {
        hash = await redis.hgetall(keys.memory(id));
        failing = false;
      } catch (error) {
        if (!failing) log.warn({ err: error }, 'Redis read failed; reading from PostgreSQL until it answers');
        failing = true;
        stats.misses++;
        return undefined;
      }
      const memory = toMemory(hash);
      if (!memory) stats.misses++;
      return memory;
    },
    verified(current) {
      if (current) stats.served++;
      else stats.unverified++;
    },
  };
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
