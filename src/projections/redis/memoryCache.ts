import type { JsonObject } from '../../events/types.js';
import type { Logger } from '../../log.js';
import { MEMORY_TYPES } from '../../memory/model.js';
import type { Memory, MemoryType } from '../../memory/model.js';
import type { MemoryCache } from '../../memory/reads.js';
import type { CachedList } from '../../memory/listCache.js';
import type { Keyset } from '../../memory/pageToken.js';
import type { MemoryFilter } from '../../memory/queries.js';
import { parsePosition } from './redisProjection.js';
import { NO_FLOOR } from './scripts.js';
import type { ProjectionRedis } from './client.js';
import type { RedisKeys } from './keys.js';

/**
 * Reads so far: answered from Redis, found stale at their audit event, or not in Redis;
 * GetMemory's, then the lists' (ListMemories).
 */
export interface CacheStats {
  served: number;
  unverified: number;
  misses: number;
  listsServed: number;
  listsUnverified: number;
  listMisses: number;
}

/** The Redis projection as the cache of GetMemory and the recent lists, with its counters. */
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
 * A list is read with the position the projection had applied, atomically (READ_LIST), and its
 * page is served only when the read's records commit with no memory event of the list's scope
 * after that position (reads.ts, audit.ts). Nothing waits for the projection or for the head
 * of the log: a lagging projection costs a read from PostgreSQL, never a stale answer.
 */
export function createRedisMemoryCache({ redis, keys, log }: RedisMemoryCacheOptions): RedisMemoryCache {
  let failing = false;
  const stats: CacheStats = { served: 0, unverified: 0, misses: 0, listsServed: 0, listsUnverified: 0, listMisses: 0 };
  const failed = (error: unknown) => {
    if (!failing) log.warn({ err: error }, 'Redis read failed; reading from PostgreSQL until it answers');
    failing = true;
  };
  return {
    stats: () => ({ ...stats }),
    async lookup(id) {
      let hash: Record<string, string>;
      try {
        hash = await redis.hgetall(keys.memory(id));
        failing = false;
      } catch (error) {
        failed(error);
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
    async list(filter, after, count) {
      const target = listOf(keys, filter);
      const read = target && (await readList(target.key, after, count).catch(failed));
      if (!target || !read) {
        stats.listMisses++;
        return undefined;
      }
      failing = false;
      return { ...read, scope: target.scope };
    },
    listVerified(current) {
      if (current) stats.listsServed++;
      else stats.listsUnverified++;
    },
  };

  // The list's memories after the keyset; undefined when it is not complete or a memory's hash is gone.
  async function readList(key: string, after: Keyset | null, count: number): Promise<Omit<CachedList, 'scope'> | undefined> {
    const reply = await redis.readList(key, keys.applied, after?.createdAtUs.toString() ?? '', after?.id ?? '', count, keys.memoryPrefix);
    const [appliedText, floor, ended] = reply as [string, string | null, number];
    const position = parsePosition(appliedText);
    if (!position || floor === null) return undefined;
    const memories: CachedList['memories'] = [];
    for (let i = 3; i < reply.length; i += 3) {
      const fields = reply[i + 2] as string[];
      const hash: Record<string, string> = {};
      for (let f = 0; f < fields.length; f += 2) hash[fields[f]!] = fields[f + 1]!;
      const memory = toMemory(hash);
      // The score is the memory's creation time: a hash that says otherwise is not this list's.
      if (!memory || hash.createdAtUs !== reply[i + 1] || memory.id !== reply[i] || memory.id !== memory.id.toLowerCase()) return undefined;
      memories.push({ memory, createdAtUs: BigInt(hash.createdAtUs) });
    }
    // Ended at a floor that trimming raised: older memories of the scope are in PostgreSQL only.
    return { memories, ended: ended === 1 && Number(floor) === NO_FLOOR, position };
  }
}

/** The list the projection keeps for a ListMemories filter, and the identity its memories share; undefined for other filters. */
function listOf(keys: RedisKeys, filter: MemoryFilter): { key: string; scope: JsonObject } | undefined {
  const { agentId, userId, types } = filter;
  // A tenant-bound key's list of people, and swept expiries (removed from Redis), are PostgreSQL's.
  if (filter.userIds != null || filter.includeExpired) return undefined;
  const only = types.length === 1 ? types[0] : types.length === 0 ? null : undefined;
  if (agentId !== null && userId === null && only === null) return { key: keys.agentMemories(agentId), scope: { agent_id: agentId } };
  if (agentId !== null && userId !== null && only === null)
    return { key: keys.personAgentMemories(userId, agentId), scope: { agent_id: agentId, user_id: userId } };
  if (agentId === null && userId !== null && only === 'conversation')
    return { key: keys.personConversations(userId), scope: { user_id: userId, type: 'conversation' } };
  if (agentId !== null && userId === null && only === 'decision')
    return { key: keys.agentDecisions(agentId), scope: { agent_id: agentId, type: 'decision' } };
  return undefined;
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
