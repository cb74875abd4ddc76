import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { APPLY_EVENT, READ_LIST } from './scripts.js';

/** An ioredis client with the projection's scripts as commands. */
export type ProjectionRedis = Redis & {
  applyMemoryEvent(...args: (string | number)[]): Promise<number>;
  readList(list: string, applied: string, afterScore: string, afterId: string, count: number, memoryPrefix: string): Promise<unknown[]>;
};

/** How a connection to Redis behaves. */
export interface RedisConnectionOptions {
  url: string;
  log: Logger;
  /** What the connection is for, in its client name and the log. */
  role: string;
  /** A command not answered in this time fails (a stalled Redis must not stall a read). */
  commandTimeoutMs: number;
}

/**
 * Opens a connection that fails commands at once while Redis is down instead of queueing them
 * (the projection retries from its checkpoint; a read falls back to PostgreSQL), and keeps
 * reconnecting in the background.
 */
export async function openRedis({ url, log, role, commandTimeoutMs }: RedisConnectionOptions): Promise<ProjectionRedis> {
  // Loaded when a projection uses Redis: a server without REDIS_URL does not hold ioredis.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    connectionName: `auren-${role}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
    lazyConnect: false,
  });
  redis.defineCommand('applyMemoryEvent', { numberOfKeys: 7, lua: APPLY_EVENT });
  redis.defineCommand('readList', { numberOfKeys: 2, lua: READ_LIST });
  let down = false;
  redis.on('error', (error: unknown) => {
    if (!down) log.warn({ err: error, redis: role }, 'Redis connection failed; reconnecting in the background');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({ redis: role }, 'Redis connection is back');
    down = false;
  });
  return redis as ProjectionRedis;
}

/** Deletes every key matching `pattern` (the projection's prefix), a page at a time. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) deleted += await redis.unlink(...found);
  } while (cursor !== '0');
  return deleted;
}
