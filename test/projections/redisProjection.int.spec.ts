import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { sql } from 'slonik';
import { z } from 'zod';
import { timestampFromMs, timestampMs } from '@bufbuild/protobuf/wkt';
import { comparePositions } from '../../src/events/types.js';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { PROJECTIONS, projectionStatus, rebuildProjection } from '../../src/projections/admin.js';
import { deleteKeys } from '../../src/projections/redis/client.js';
import { accessStream } from '../../src/memory/model.js';
import { checkImportedMemory, importMemories } from '../../src/memory/imports.js';
import { IMPORTER } from '../../src/importer/importer.js';
import { memoryLimits } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { redisKeys } from '../../src/projections/redis/keys.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { eventually } from '../support/events.js';
import { dumpRedis, redisCaughtUp as caughtUp, redisProjectionEnv } from '../support/projections.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const agent = (name: string) => ({ headers: { 'x-auren-agent': name } });

describe('Redis projection', function () {
  this.timeout(60_000);
  let t: TestApp;
  let redis: Redis;
  const prefix = `test-${randomUUID()}:`;
  before(async () => {
    t = await startTestApp({
      ...redisProjectionEnv(REDIS_URL, prefix),
      REDIS_LIST_MAX: '5',
      MEMORY_EXPIRY_SWEEP_MS: '50',
    });
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    await t.stop();
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  });

  it('ends in the same state replayed from scratch, or applied twice, as built incrementally', async () => {
    const people = ['u-a', 'u-b', 'u-c'];
    const agents = ['sleep', 'nutrition'];
    const types = [MemoryType.FACT, MemoryType.CONVERSATION, MemoryType.DECISION, MemoryType.INSIGHT];
    const ids: string[] = [];
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 120; i++) {
      const roll = random(10);
      const live = ids.length > 0;
      if (roll < 5 || !live) {
        const expires = random(6) === 0 ? { expiresAt: timestampFromMs(Date.now() + 300 + random(400)) } : {};
        const { memory } = await t.memory.storeMemory(
          {
            agentId: agents[random(2)]!,
            userId: random(8) === 0 ? '' : people[random(3)]!,
            type: types[random(4)]!,
            content: { text: `note ${i}` },
            confidence: random(100) / 100,
            ...expires,
          },
          agent('writer'),
        );
        ids.push(memory!.id);
      } else if (roll < 8) {
        const id = ids[random(ids.length)]!;
        await t.memory.updateMemory({ id, content: { text: `changed ${i}` }, confidence: 0.5 }, agent('writer')).catch(() => undefined);
      } else {
        const id = ids[random(ids.length)]!;
        await t.memory.deleteMemory({ id, reason: 'wrong' }, agent('writer')).catch(() => undefined);
      }
    }
    for (const type of [MemoryType.CONVERSATION, MemoryType.DECISION])
      await t.memory.storeMemory({ agentId: 'sleep', userId: 'u-a', type, content: { text: 'kept' } }, agent('writer'));
    await sleep(1_000); // the short expiries pass and are swept
    await caughtUp(t);
    const incremental = await dumpRedis(redis, prefix);
    assert.ok(Object.keys(incremental).some((key) => key.endsWith(':conversations')));
    assert.ok(Object.keys(incremental).some((key) => key.endsWith(':decisions')));

    // Every live memory of PostgreSQL, and nothing else, has its hash.
    const live = await t.app.pool.anyFirst(
      sql.type(z.object({ id: z.string() }))`select id::text from memories where deleted_at is null and expired_at is null`,
    );
    const cached = Object.keys(incremental)
      .filter((key) => key.startsWith('memory:'))
      .map((key) => key.slice('memory:'.length));
    assert.deepEqual(cached.sort(), [...live].sort());

    // Applied again from the start over the same state.
    await rebuildProjection(t.app.pool, 'redis', async () => {});
    await t.memory.storeMemory({ agentId: 'x', userId: 'u-z', type: MemoryType.FACT, content: { text: 'nudge' } }, agent('writer'));
    await eventually(() => t.app.redisProjection!.consumer.status().handledEvents > 0, 'replay started');
    await caughtUp(t);
    const twice = await dumpRedis(redis, prefix);

    // Replayed from scratch.
    await rebuildProjection(t.app.pool, 'redis', () => deleteKeys(redis, `${prefix}*`).then(() => undefined));
    await t.memory.storeMemory({ agentId: 'x', userId: 'u-z', type: MemoryType.FACT, content: { text: 'nudge 2' } }, agent('writer'));
    await caughtUp(t);
    await sleep(300);
    await caughtUp(t);
    const replayed = await dumpRedis(redis, prefix);
    // The nudges (agent x, person u-z) only made the running consumer notice the reset.
    const nudged = (key: string) => key.includes('u-z') || key.includes('agent:x:');
    const withoutNudges = (dump: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(dump)
          .filter(([key, value]) => !nudged(key) && (value as { agentId?: string }).agentId !== 'x')
          .map(([key, value]) =>
            // The lists made since the replay from the start, by key.
            key === 'projection:lists'
              ? [key, Object.fromEntries(Object.entries(value as Record<string, string>).filter(([list]) => !nudged(list)))]
              : [key, value],
          ),
      );
    assert.deepEqual(withoutNudges(twice), withoutNudges(incremental));
    assert.deepEqual(withoutNudges(replayed), withoutNudges(incremental));
  });

  it('serves GetMemory from Redis with the same answer and the same access record as PostgreSQL', async () => {
    const userId = `u-${randomUUID()}`;
    const { memory: stored } = await t.memory.storeMemory(
      {
        agentId: 'sleep',
        userId,
        type: MemoryType.FACT,
        content: { text: 'sleeps 6 hours', nested: { a: [1, 2.5, 'x'] } },
        confidence: 0.123456789012345,
      },
      agent('writer'),
    );
    await caughtUp(t);
    const before = t.app.redisProjection!.cache.stats();
    const fromRedis = await t.memory.getMemory({ id: stored!.id }, agent('reader'));
    const after = t.app.redisProjection!.cache.stats();
    assert.equal(after.served, before.served + 1, 'served from Redis');

    // The same read with the projection stopped: PostgreSQL answers.
    const plain = await startTestApp({ DATABASE_URL: t.databaseUrl });
    try {
      const fromPostgres = await plain.memory.getMemory({ id: stored!.id }, agent('reader'));
      assert.deepEqual(fromRedis.memory, fromPostgres.memory);
    } finally {
      await plain.stop();
    }
    const log = (await t.app.eventStore.readStream(accessStream(userId), 0n, 'forwards', 10)).events;
    assert.equal(log.length, 2);
    // The two services minted their own admin keys: the records match but for the key's id.
    const withoutKeyId = (value: unknown) => JSON.parse(JSON.stringify(value).replace(/"key_id":"[^"]*"/g, '"key_id":"…"'));
    assert.deepEqual(withoutKeyId(log[0]!.data), withoutKeyId(log[1]!.data));
    assert.deepEqual(withoutKeyId(log[0]!.metadata), withoutKeyId(log[1]!.metadata));
  });

  it('keeps an imported memory’s own creation time, as PostgreSQL does', async () => {
    const userId = `u-${randomUUID()}`;
    const id = randomUUID();
    const createdAt = Date.parse('2024-03-05T06:07:08.123Z');
    const memory = checkImportedMemory(
      {
        id,
        eventId: randomUUID(),
        agentId: 'legacy_sleep',
        userId,
        type: 'fact',
        content: { text: 'slept 5 hours in 2024' },
        metadata: {},
        confidence: 0.7,
        createdAt,
        source: { file: 'legacy.json' },
      },
      memoryLimits(loadConfig({})),
    );
    await importMemories({ pool: t.app.pool, eventMaxBytes: loadConfig({}).events.eventMaxBytes }, IMPORTER, [memory]);
    await caughtUp(t);
    const before = t.app.redisProjection!.cache.stats();
    const fromRedis = (await t.memory.getMemory({ id }, agent('reader'))).memory!;
    assert.equal(t.app.redisProjection!.cache.stats().served, before.served + 1, 'served from Redis');
    const plain = await startTestApp({ DATABASE_URL: t.databaseUrl });
    try {
      const fromPostgres = (await plain.memory.getMemory({ id }, agent('reader'))).memory!;
      assert.deepEqual(fromRedis, fromPostgres);
      assert.equal(Number(timestampMs(fromRedis.createdAt!)), createdAt);
    } finally {
      await plain.stop();
    }
    const scores = await redis.zrange(redisKeys(prefix).agentMemories('legacy_sleep'), 0, -1, 'WITHSCORES');
    assert.equal(scores[scores.indexOf(id) + 1], String(createdAt * 1000), 'scored by its creation time in µs');
  });

  it('answers reads racing updates with the state at each read, never an older one, and records each answered read once', async function () {
    this.timeout(60_000);
    const userId = `u-${randomUUID()}`;
    const { memory } = await t.memory.storeMemory(
      { agentId: 'sleep', userId, type: MemoryType.FACT, content: { text: 'v1' } },
      agent('writer'),
    );
    const id = memory!.id;
    let acknowledged = 1n; // the newest version whose update was answered
    let writing = true;
    const writer = (async () => {
      try {
        await write();
      } finally {
        writing = false; // the readers stop, whether the writer ended or failed
      }
    })();
    async function write() {
      for (let v = 2n; v <= 40n; v++) {
        await t.memory.updateMemory({ id, content: { text: `v${v}` } }, agent('writer'));
        acknowledged = v;
        // Pauses now and then until the projection caught up and Redis served a read.
        if (v % 8n === 0n) {
          await caughtUp(t);
          const served = t.app.redisProjection!.cache.stats().served;
          await eventually(() => t.app.redisProjection!.cache.stats().served > served, 'a read served from Redis');
        }
      }
    }
    const before = t.app.redisProjection!.cache.stats();
    let reads = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (writing) {
          const floor = acknowledged;
          const read = (await t.memory.getMemory({ id }, agent('reader'))).memory!;
          reads++;
          assert.ok(read.version >= floor, `read version ${read.version} after version ${floor} was acknowledged`);
          assert.deepEqual(read.content, { text: `v${read.version}` }, 'the content of the version it says');
        }
      }),
    );
    await writer;
    const after = t.app.redisProjection!.cache.stats();
    assert.ok(after.served > before.served, 'some reads were served from Redis');
    const records = (await t.app.eventStore.readStream(accessStream(userId), 0n, 'forwards', 1000)).events;
    assert.equal(records.length, reads, 'one record per answered read, none for a cached answer found stale');
  });

  it('never serves a memory changed after what the projection applied', async () => {
    const userId = `u-${randomUUID()}`;
    const { memory } = await t.memory.storeMemory(
      { agentId: 'sleep', userId, type: MemoryType.FACT, content: { text: 'v1' } },
      agent('writer'),
    );
    await caughtUp(t);
    await t.app.redisProjection!.consumer.stop(); // the projection lags from here on
    await t.memory.updateMemory({ id: memory!.id, content: { text: 'v2' } }, agent('writer'));
    const before = t.app.redisProjection!.cache.stats();
    const read = await t.memory.getMemory({ id: memory!.id }, agent('reader'));
    assert.deepEqual(read.memory!.content, { text: 'v2' });
    assert.equal(read.memory!.version, 2n);
    assert.equal(t.app.redisProjection!.cache.stats().unverified, before.unverified + 1);
    await t.memory.deleteMemory({ id: memory!.id, reason: '' }, agent('writer'));
    await assert.rejects(t.memory.getMemory({ id: memory!.id }, agent('reader')), /does not exist/);
    const log = (await t.app.eventStore.readStream(accessStream(userId), 0n, 'forwards', 10)).events;
    assert.equal(log.length, 1, 'one record for the one answered read');
  });

  it('reports each projection with its checkpoint and lag', async () => {
    const statuses = await projectionStatus(t.app.pool, t.app.eventStore);
    const redisStatus = statuses.find((s) => s.name === 'redis')!;
    assert.ok(redisStatus.checkpoint);
    assert.ok(redisStatus.lagEvents > 0n, 'stopped above: it lags');
    assert.equal(statuses.find((s) => s.name === 'chroma')!.checkpoint, undefined);
    assert.ok(comparePositions(redisStatus.checkpoint, { commit: 0n, prepare: 0n }) > 0);
    assert.equal(PROJECTIONS.redis, 'projection.redis');
  });
});
