import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { rebuildProjection } from '../../src/projections/admin.js';
import { deleteKeys } from '../../src/projections/redis/client.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { eventually } from '../support/events.js';
import { dumpRedis, redisCaughtUp, redisProjectionEnv } from '../support/projections.js';
import { freePort, startRedisServer, stopProcess } from './redisServer.js';

// A batch of the Redis projection checks Redis (is what the checkpoint says applied still
// there?), reads PostgreSQL, then writes. Redis restarted without its data between the check and
// the writes: the writes must not land unchecked, or their applied position hides the loss.
describe('The Redis projection when Redis comes back empty in the middle of a batch', function () {
  this.timeout(120_000);
  let redisPort: number;
  let redisServer: ChildProcess;
  let t: TestApp;
  let redis: Redis;
  let db: pg.Client;
  let probe: pg.Client;
  const prefix = `comes-back-${randomUUID()}:`;

  before(async () => {
    redisPort = await freePort();
    redisServer = await startRedisServer(redisPort);
    t = await startTestApp({
      ...redisProjectionEnv(`redis://127.0.0.1:${redisPort}`, prefix),
      PROJECTION_RETRY_MAX_MS: '200',
    });
    redis = new Redis({ port: redisPort, lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    probe = new pg.Client({ connectionString: t.databaseUrl });
    await probe.connect();
  });
  after(async () => {
    await db?.end();
    await probe?.end();
    await t?.stop();
    redis?.disconnect();
    if (redisServer) await stopProcess(redisServer);
  });

  const as = { headers: { 'x-auren-agent': 'coach' } };
  const store = (i: number) =>
    t.memory.storeMemory({ agentId: 'coach', userId: `u${i % 2}`, type: MemoryType.FACT, content: { text: `note ${i}` } }, as);

  it('checks it again instead of writing into it, and replays the log: the state equals a fresh replay', async () => {
    for (let i = 0; i < 6; i++) await store(i);
    await redisCaughtUp(t);

    // Redis goes away; a new memory's batch fails at its write and is retried, checking nothing
    // (the connection has not come back), reading the memory's row each time.
    await stopProcess(redisServer);
    await store(6);
    // Held at that read: the row's table locked.
    await db.query('begin');
    await db.query('lock table memories in access exclusive mode');
    await eventually(
      async () =>
        // Outside the locking transaction, whose view of pg_stat_activity is taken once.
        (
          await probe.query(
            `select 1 from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock' and query like '%created_at%memories%'`,
          )
        ).rowCount! > 0,
      "the projection's batch waits for the row's read",
    );
    // Redis comes back without its data, and the projection's connection with it.
    redisServer = await startRedisServer(redisPort);
    await redis.connect();
    await eventually(
      async () => ((await redis.client('LIST')) as string).includes('name=auren-projection'),
      "the projection's connection is back",
      10_000,
    );
    await db.query('commit');

    await redisCaughtUp(t, 30_000);
    const cameBack = await dumpRedis(redis, prefix);
    assert.ok(Object.keys(cameBack).length > 7, 'every memory is in Redis again');

    // A fresh replay from the log; the consumer notices its moved checkpoint at its next event.
    await rebuildProjection(t.app.pool, 'redis', () => deleteKeys(redis, `${prefix}*`).then(() => undefined));
    const nudge = (await t.memory.storeMemory({ agentId: 'nudge', userId: 'nudge', type: MemoryType.FACT, content: { text: 'x' } }, as))
      .memory!;
    await sleep(2_500);
    await redisCaughtUp(t, 30_000);
    const replayed = await dumpRedis(redis, prefix);
    for (const key of Object.keys(replayed)) if (key.includes('nudge') || key.includes(nudge.id)) delete replayed[key];
    const lists = replayed['projection:lists'] as Record<string, string>;
    for (const list of Object.keys(lists)) if (list.includes('nudge')) delete lists[list];
    assert.deepEqual(replayed, cameBack);
  });
});
