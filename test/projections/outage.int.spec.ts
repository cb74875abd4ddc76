import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { rebuildProjection } from '../../src/projections/admin.js';
import { dropCollection } from '../../src/projections/chroma/collection.js';
import { projectionHealthName } from '../../src/projections/health.js';
import { deleteKeys } from '../../src/projections/redis/client.js';
import { ServingStatus } from '../../src/server/health.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { startTestChroma } from '../support/chroma.js';
import type { TestChroma } from '../support/chroma.js';
import { eventually } from '../support/events.js';
import { chromaCaughtUp, dumpCollection, dumpRedis, redisCaughtUp, redisProjectionEnv } from '../support/projections.js';
import { freePort, startRedisServer, stopProcess } from './redisServer.js';

describe('Projections through an outage of Redis and Chroma', function () {
  this.timeout(180_000);
  let redisPort: number;
  let redisServer: ChildProcess;
  let chroma: TestChroma;
  let t: TestApp;
  let redis: Redis;
  const prefix = `outage-${randomUUID()}:`;
  const collection = `outage_${randomUUID().slice(0, 8)}`;

  before(async () => {
    redisPort = await freePort();
    redisServer = await startRedisServer(redisPort);
    chroma = await startTestChroma();
    t = await startTestApp({
      ...redisProjectionEnv(`redis://127.0.0.1:${redisPort}`, prefix),
      CHROMA_URL: chroma.url,
      CHROMA_COLLECTION: collection,
      PROJECTION_RETRY_MAX_MS: '300',
    });
    redis = new Redis({ port: redisPort, lazyConnect: true });
  });
  after(async () => {
    await t?.stop();
    redis?.disconnect();
    if (redisServer) await stopProcess(redisServer);
    await chroma?.stop();
  });

  it('keeps storing while they are down, says which projection lags, and catches up to the state of a fresh replay', async () => {
    const as = { headers: { 'x-auren-agent': 'coach' } };
    const ids: string[] = [];
    let failures = 0;
    const work = async (i: number) => {
      try {
        if (i % 4 === 3 && ids.length > 0) await t.memory.updateMemory({ id: ids[i % ids.length]!, content: { text: `updated ${i}` } }, as);
        else if (i % 9 === 8 && ids.length > 0)
          await t.memory.deleteMemory({ id: ids[(i * 5) % ids.length]!, reason: '' }, as).catch(() => {});
        else {
          const type = [MemoryType.FACT, MemoryType.CONVERSATION, MemoryType.DECISION][i % 3]!;
          const { memory } = await t.memory.storeMemory(
            { agentId: 'coach', userId: `u${i % 4}`, type, content: { text: `sleep note ${i}` } },
            as,
          );
          ids.push(memory!.id);
        }
      } catch (error) {
        if (!(error instanceof Error && /was deleted/.test(error.message))) failures++;
      }
    };
    for (let i = 0; i < 40; i++) await work(i);

    await stopProcess(redisServer);
    await chroma.stop(true);
    for (let i = 40; i < 100; i++) await work(i);
    await eventually(
      () =>
        t.app.health.get(projectionHealthName('redis')) === ServingStatus.NOT_SERVING &&
        t.app.health.get(projectionHealthName('chroma')) === ServingStatus.NOT_SERVING,
      'health says both projections lag',
    );
    assert.equal(t.app.health.get(''), ServingStatus.SERVING, 'the service stays up');
    for (let i = 100; i < 120; i++) await work(i);
    assert.equal(failures, 0, 'no write failed while Redis and Chroma were down');

    redisServer = await startRedisServer(redisPort);
    await chroma.start();
    await sleep(500);
    await redisCaughtUp(t, 60_000);
    await chromaCaughtUp(t, 60_000);
    await eventually(() => t.app.health.get(projectionHealthName('redis')) === ServingStatus.SERVING, 'redis projection healthy');
    await redis.connect();
    const afterOutage = { redis: await dumpRedis(redis, prefix), chroma: await dumpCollection(chroma.url, collection) };
    assert.ok(Object.keys(afterOutage.redis).length > 20);

    // A fresh replay of each, from the log.
    await rebuildProjection(t.app.pool, 'redis', () => deleteKeys(redis, `${prefix}*`).then(() => undefined));
    await rebuildProjection(t.app.pool, 'chroma', () => dropCollection(chroma.url, collection));
    const nudge = (await t.memory.storeMemory({ agentId: 'nudge', userId: 'nudge', type: MemoryType.FACT, content: { text: 'x' } }, as))
      .memory!;
    await sleep(2_500); // both notice their moved checkpoint and take their locks again
    await redisCaughtUp(t, 60_000);
    await chromaCaughtUp(t, 60_000);
    const replayed = { redis: await dumpRedis(redis, prefix), chroma: await dumpCollection(chroma.url, collection) };
    for (const key of Object.keys(replayed.redis)) if (key.includes('nudge') || key.includes(nudge.id)) delete replayed.redis[key];
    // The lists made since the replay from the start, the nudge's among them.
    const lists = replayed.redis['projection:lists'] as Record<string, string>;
    for (const list of Object.keys(lists)) if (list.includes('nudge')) delete lists[list];
    delete replayed.chroma[nudge.id];
    assert.deepEqual(replayed.redis, afterOutage.redis);
    assert.deepEqual(replayed.chroma, afterOutage.chroma);
  });
});
