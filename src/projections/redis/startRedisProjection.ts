import type { RedisConfig } from '../../config.js';
import type { Consumer, ConsumerDefinition } from '../../consumers/consumer.js';
import type { Logger } from '../../log.js';
import { openRedis } from './client.js';
import { redisKeys } from './keys.js';
import { createRedisMemoryCache } from './memoryCache.js';
import type { RedisMemoryCache } from './memoryCache.js';
import { REDIS_PROJECTION, redisProjection } from './redisProjection.js';
import { createCheckpoints } from '../../consumers/checkpoints.js';
import type { DatabasePool } from '../../db/pool.js';

/** The Redis projection running in this process: its consumer and the cache reads use. */
export interface RunningRedisProjection {
  consumer: Consumer;
  cache: RedisMemoryCache;
  stop(): Promise<void>;
}

/** What starting the Redis projection needs from the composition root. */
export interface RedisProjectionParts {
  config: RedisConfig;
  log: Logger;
  retryMaxMs: number;
  pool: DatabasePool;
  startConsumer(definition: ConsumerDefinition): Consumer;
}

// A read from Redis slower than this falls back to PostgreSQL (a stalled Redis stalls no read).
const READ_TIMEOUT_MS = 100;
const APPLY_TIMEOUT_MS = 2_000;

/** Starts the Redis projection's consumer and its read cache. */
export async function startRedisProjection({
  config,
  log,
  pool,
  retryMaxMs,
  startConsumer,
}: RedisProjectionParts): Promise<RunningRedisProjection> {
  const projectionLog = log.child({ projection: 'redis' });
  const keys = redisKeys(config.keyPrefix);
  const writer = await openRedis({ url: config.url, log: projectionLog, role: 'projection', commandTimeoutMs: APPLY_TIMEOUT_MS });
  const reader = await openRedis({ url: config.url, log: projectionLog, role: 'reads', commandTimeoutMs: READ_TIMEOUT_MS });
  const replayFromStart = () => createCheckpoints(pool).reset(REDIS_PROJECTION);
  const definition = redisProjection({ redis: writer, keys, limits: config, replayFromStart, pool, log: projectionLog });
  const consumer = startConsumer({ ...definition, retry: { maxMs: retryMaxMs } });
  const cache = createRedisMemoryCache({ redis: reader, keys, log: projectionLog });
  return {
    consumer,
    cache,
    async stop() {
      await consumer.stop();
      writer.disconnect();
      reader.disconnect();
    },
  };
}
