import { ChromaClient } from 'chromadb';
import type { Redis } from 'ioredis';
import { logPosition } from '../../src/events/types.js';
import type { TestApp } from './app.js';
import { eventually } from './events.js';

/**
 * The settings of a test app whose Redis projection writes under `prefix` at `url`, with no TTL
 * (a test compares whole states: nothing may expire meanwhile).
 */
export function redisProjectionEnv(url: string, prefix: string): Record<string, string> {
  return {
    REDIS_URL: url,
    REDIS_KEY_PREFIX: prefix,
    REDIS_MEMORY_TTL_S: '0',
    REDIS_LIST_TTL_S: '0',
    REDIS_CONVERSATIONS_TTL_S: '0',
    REDIS_DECISIONS_TTL_S: '0',
  };
}

/** Every key under `prefix` and its value, keys without the prefix, TTLs left out. */
export async function dumpRedis(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  const dump: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    const name = key.slice(prefix.length);
    if (name === 'projection:applied') continue;
    const type = await redis.type(key);
    if (type === 'hash') dump[name] = await redis.hgetall(key);
    else if (type === 'zset') dump[name] = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else dump[name] = await redis.get(key);
  }
  return dump;
}

/** Resolves once the app's Redis projection has handled the whole log. */
export async function redisCaughtUp(t: TestApp, timeoutMs = 20_000): Promise<void> {
  const end = logPosition(await t.app.eventStore.logEnd()) - 1n;
  await eventually(
    () => logPosition(t.app.redisProjection!.consumer.status().checkpoint) >= end,
    'the Redis projection caught up',
    timeoutMs,
  );
}

/** Resolves once the app's Chroma projection has handled the whole log. */
export async function chromaCaughtUp(t: TestApp, timeoutMs = 60_000): Promise<void> {
  const end = logPosition(await t.app.eventStore.logEnd()) - 1n;
  const reached = () => logPosition(t.app.chromaProjection!.consumer.status().checkpoint) >= end;
  await eventually(reached, 'the Chroma projection caught up', timeoutMs);
}

/** Every record of a collection, by id: document, metadata, and the vector rounded to 6 places. */
export async function dumpCollection(url: string, name: string): Promise<Record<string, unknown>> {
  const { hostname, port } = new URL(url);
  const collection = await new ChromaClient({ host: hostname, port: Number(port) }).getCollection({
    name,
    embeddingFunction: null,
  } as never);
  const all = await collection.get({ include: ['documents', 'metadatas', 'embeddings'] });
  const dump: Record<string, unknown> = {};
  all.ids.forEach((id, i) => {
    dump[id] = { document: all.documents[i], metadata: all.metadatas[i], vector: all.embeddings[i]!.map((x) => Math.round(x * 1e6) / 1e6) };
  });
  return Object.fromEntries(Object.entries(dump).sort(([a], [b]) => (a < b ? -1 : 1)));
}
