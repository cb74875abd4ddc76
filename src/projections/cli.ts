import type { Config } from '../config.js';
import { openDatabase } from '../db/openDatabase.js';
import { createEventStore } from '../events/eventStore.js';
import type { Logger } from '../log.js';
import { PROJECTIONS, projectionStatus, rebuildProjection } from './admin.js';
import type { ProjectionName } from './admin.js';
import path from 'node:path';
import { dropCollection } from './chroma/collection.js';
import { embeddedChromaUrl } from './chroma/embeddedChroma.js';
import { deleteKeys, openRedis } from './redis/client.js';
import { redisKeys } from './redis/keys.js';

/** `auren projections status` and `auren projections rebuild redis|chroma`; resolves to the exit code. */
export async function projectionsCommand(args: string[], config: Config, log: Logger): Promise<number> {
  const [action, target] = args;
  if (action === 'rebuild' && !(target !== undefined && target in PROJECTIONS)) {
    process.stderr.write(`auren: projections rebuild expects one of ${Object.keys(PROJECTIONS).join(', ')}\n`);
    return 2;
  }
  if (action !== 'status' && action !== 'rebuild') {
    process.stderr.write(`auren: projections expects status or rebuild; see auren --help\n`);
    return 2;
  }
  const database = await openDatabase(
    {
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      embeddedPort: config.embeddedPostgresPort,
      poolSize: 2,
      startupTimeoutMs: config.startupTimeoutMs,
    },
    log,
  );
  const store = createEventStore({ pool: database.pool, limits: config.events, log });
  try {
    if (action === 'status') {
      for (const s of await projectionStatus(database.pool, store)) {
        const checkpoint = s.checkpoint ? s.checkpoint.commit.toString() : 'never ran';
        const failing = s.failedAttempts > 0 ? `  failing (${s.failedAttempts} attempts): ${s.lastError}` : '';
        process.stdout.write(`${s.name}\tcheckpoint ${checkpoint}\tlag ${s.lagEvents} events, ${s.lagSeconds.toFixed(1)} s${failing}\n`);
      }
      return 0;
    }
    const name = target as ProjectionName;
    await rebuildProjection(database.pool, name, () => clearProjection(name, config, log));
    process.stdout.write(`${name}: checkpoint reset to the start of the log; the running service replays it from there\n`);
    return 0;
  } finally {
    await store.stop();
    await database.close();
  }
}

async function clearProjection(name: ProjectionName, config: Config, log: Logger): Promise<void> {
  if (name === 'chroma') {
    const chroma = config.chroma;
    if (chroma.kind === 'off') return;
    const url = chroma.kind === 'url' ? chroma.url : await embeddedChromaUrl(path.join(config.dataDir, 'chroma'));
    // The embedded Chroma not running: the replay upserts every memory again over what is kept.
    if (url) await dropCollection(url, chroma.collection);
    return;
  }
  if (name === 'redis') {
    if (!config.redis) return;
    const redis = await openRedis({ url: config.redis.url, log, role: 'rebuild', commandTimeoutMs: 10_000 });
    try {
      await new Promise<void>((resolve, reject) => {
        redis.once('ready', resolve);
        redis.once('error', reject);
      });
      await deleteKeys(redis, redisKeys(config.redis.keyPrefix).pattern);
    } finally {
      redis.disconnect();
    }
  }
}
