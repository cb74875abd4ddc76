import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { Redis } from 'ioredis';
import { sql } from 'slonik';
import { z } from 'zod';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ListMemoriesRequestSchema } from '../../src/gen/auren/v1/memory_pb.js';
import { accessStream } from '../../src/memory/model.js';
import { redisKeys } from '../../src/projections/redis/keys.js';
import { documentBytes } from '../../src/memory/listCache.js';
import type { JsonObject } from '../../src/events/types.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { redisCaughtUp as caughtUp, redisProjectionEnv } from '../support/projections.js';
import { eventually } from '../support/events.js';
import { freePort, startRedisServer, stopProcess } from './redisServer.js';

const agent = (name: string) => ({ headers: { 'x-auren-agent': name } });
type ListRequest = MessageInitShape<typeof ListMemoriesRequestSchema>;

describe('ListMemories from the Redis projection', function () {
  this.timeout(60_000);
  let redisServer: ChildProcess;
  let t: TestApp;
  let plain: TestApp;
  let redis: Redis;
  const prefix = 'lists:';
  const stats = () => t.app.redisProjection!.cache.stats();

  // Every page of `request` from both apps, compared page by page; how many the cached app served from Redis.
  async function sameOnBoth(request: ListRequest): Promise<number> {
    const before = stats().listsServed;
    let pageToken = '';
    let pages = 0;
    do {
      const fromCache = await t.memory.listMemories({ ...request, pageToken }, agent('reader'));
      const fromPostgres = await plain.memory.listMemories({ ...request, pageToken }, agent('reader'));
      assert.deepEqual(fromCache, fromPostgres, `page ${pages + 1} of ${JSON.stringify(request)}`);
      pageToken = fromCache.nextPageToken;
      pages++;
    } while (pageToken !== '' && pages < 50);
    return stats().listsServed - before;
  }

  before(async () => {
    const port = await freePort();
    redisServer = await startRedisServer(port);
    redis = new Redis({ port });
    t = await startTestApp({
      ...redisProjectionEnv(`redis://127.0.0.1:${port}`, prefix),
      REDIS_LIST_MAX: '8',
      REDIS_CONVERSATIONS_MAX: '4',
      REDIS_DECISIONS_MAX: '3',
      MEMORY_EXPIRY_SWEEP_MS: '50',
      RESPONSE_MAX_BYTES: '65536',
    });
    plain = await startTestApp({ DATABASE_URL: t.databaseUrl, RESPONSE_MAX_BYTES: '65536' });

    // Two agents, three people; every type; confidences; expiries past (swept), near and far;
    // updates and deletions.
    // Park–Miller: its low bits do not cycle (a power-of-two LCG's repeat every few calls).
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 16807) % 2147483647;
      return seed % n;
    };
    const types = [MemoryType.FACT, MemoryType.CONVERSATION, MemoryType.DECISION, MemoryType.INSIGHT];
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const expiry = random(8);
      const expires =
        expiry === 0
          ? { expiresAt: timestampFromMs(Date.now() + 300) }
          : expiry === 1
            ? { expiresAt: timestampFromMs(Date.now() + 3_600_000) }
            : {};
      const { memory } = await t.memory.storeMemory(
        {
          agentId: ['sleep', 'diet'][random(2)]!,
          userId: random(10) === 0 ? '' : ['p1', 'p2', 'p3'][random(3)]!,
          type: types[random(4)]!,
          content: { text: `note ${i}`, detail: { n: i, list: [1, 'two', null, true] } },
          metadata: { source: 'test', 'ünïcode "quoted"': 'line\nbreak' },
          confidence: random(101) / 100,
          ...expires,
        },
        agent('writer'),
      );
      ids.push(memory!.id);
      if (i % 7 === 3)
        await t.memory.updateMemory({ id: ids[random(ids.length)]!, confidence: 0.99 }, agent('writer')).catch(() => undefined);
      if (i % 9 === 5)
        await t.memory.deleteMemory({ id: ids[random(ids.length)]!, reason: 'test' }, agent('writer')).catch(() => undefined);
    }
    await sleep(600); // the short expiries pass and are swept
    await caughtUp(t);
  });

  after(async () => {
    await plain?.stop();
    await t?.stop();
    redis?.disconnect();
    if (redisServer) await stopProcess(redisServer);
  });

  it('answers every recent list, page by page, exactly as PostgreSQL does', async () => {
    // Pages that the byte budget (64 KiB) cuts before their size.
    for (let i = 0; i < 7; i++)
      await t.memory.storeMemory(
        { agentId: 'sleep', userId: 'big', type: MemoryType.FACT, content: { text: `${i} ${'ü'.repeat(9_000 + i * 300)}` } },
        agent('writer'),
      );
    await caughtUp(t);
    let served = await sameOnBoth({ agentId: 'sleep', userId: 'big', pageSize: 6 });
    assert.ok(served > 0, 'cut pages served from Redis');
    for (const pageSize of [2, 3, 50]) {
      served += await sameOnBoth({ agentId: 'sleep', pageSize });
      served += await sameOnBoth({ agentId: 'diet', userId: 'p1', pageSize });
      served += await sameOnBoth({ userId: 'p2', types: [MemoryType.CONVERSATION], pageSize });
      served += await sameOnBoth({ agentId: 'sleep', types: [MemoryType.DECISION], pageSize });
      served += await sameOnBoth({ agentId: 'sleep', userId: 'p3', minConfidence: 0.5, pageSize });
      // Not a list the projection keeps: PostgreSQL only.
      served += await sameOnBoth({ agentId: 'sleep', userId: 'p3', includeExpired: true, pageSize });
    }
    assert.ok(served >= 10, `pages served from Redis: ${served} (${JSON.stringify(stats())})`);
  });

  it('records a list read from Redis exactly as one read from PostgreSQL', async () => {
    const userId = `p-${randomUUID()}`;
    for (const text of ['a', 'b', 'c'])
      await t.memory.storeMemory({ agentId: 'sleep', userId, type: MemoryType.FACT, content: { text } }, agent('writer'));
    await caughtUp(t);
    const request = { agentId: 'sleep', userId, pageSize: 2 };
    const before = stats().listsServed;
    const fromCache = await t.memory.listMemories(request, agent('reader'));
    assert.equal(stats().listsServed, before + 1, 'served from Redis');
    const fromPostgres = await plain.memory.listMemories(request, agent('reader'));
    assert.deepEqual(fromCache, fromPostgres);
    const records = (await t.app.eventStore.readStream(accessStream(userId), 0n, 'forwards', 10)).events;
    assert.equal(records.length, 2);
    // The two apps' admin keys differ (each test app makes its own): the rest is the same.
    const [cached, read] = records.map(({ data, metadata }) =>
      JSON.parse(JSON.stringify({ data, metadata }).replaceAll(/"key_id":"[^"]+"/g, '"key_id":"-"')),
    );
    assert.equal(records[0]!.type, 'memory_retrieved');
    assert.equal(records[1]!.type, 'memory_retrieved');
    assert.deepEqual(cached.data, read.data);
    assert.deepEqual(cached.metadata, read.metadata);
    assert.deepEqual(
      cached.data.memory_ids,
      fromCache.memories.map((m) => m.id),
    );
  });

  it('computes each memory’s size as PostgreSQL’s size column does, or says it cannot', async () => {
    const rows = await t.app.pool.any(
      sql.type(z.object({ content: z.custom<JsonObject>(), metadata: z.custom<JsonObject>(), size: z.number() }))`
        select content, metadata, size from memories`,
    );
    assert.ok(rows.length > 30);
    for (const row of rows) assert.equal(documentBytes(row), row.size);
    const { memory } = await t.memory.storeMemory(
      {
        agentId: 'sizes',
        type: MemoryType.FACT,
        content: { big: 1e21, small: 1e-7, tab: 'a\tb\u0001', emoji: '😀', empty: {}, none: [] },
        metadata: {},
      },
      agent('writer'),
    );
    const size = await t.app.pool.oneFirst(sql.type(z.object({ size: z.number() }))`select size from memories where id = ${memory!.id}`);
    assert.equal(
      documentBytes({ content: { tab: 'a\tb\u0001', emoji: '😀', empty: {}, none: [] }, metadata: {} }),
      size - '"big": 1000000000000000000000, "small": 0.0000001, '.length,
    );
    assert.equal(documentBytes({ content: { big: 1e21 }, metadata: {} }), undefined);
  });

  it('never serves a list made again after it expired: it lacks the memories before', async () => {
    const userId = `p-${randomUUID()}`;
    const store = (text: string) =>
      t.memory.storeMemory({ agentId: 'sleep', userId, type: MemoryType.FACT, content: { text } }, agent('writer'));
    await store('before the expiry');
    await caughtUp(t);
    const request = { agentId: 'sleep', userId, pageSize: 5 };
    assert.equal(await sameOnBoth(request), 1, 'served while complete');
    const key = redisKeys(prefix).personAgentMemories(userId, 'sleep');
    await redis.del(key); // what its TTL does
    await store('after the expiry');
    await caughtUp(t);
    assert.equal(await redis.zscore(key, '^'), null, 'made again without the mark of a complete list');
    const before = stats().listMisses;
    assert.equal(await sameOnBoth(request), 0, 'read from PostgreSQL');
    assert.equal(stats().listMisses, before + 1);
    assert.equal((await t.memory.listMemories(request, agent('reader'))).memories.length, 2);
  });

  it('replays the log into a Redis that came back with less than it had applied (an older snapshot)', async () => {
    await caughtUp(t);
    const list = redisKeys(prefix).personAgentMemories('p1', 'sleep');
    const [member] = (await redis.zrange(list, -1, -1)) as [string];
    const kept = { list: await redis.zrange(list, 0, -1, 'WITHSCORES'), memory: await redis.hgetall(redisKeys(prefix).memory(member)) };
    // What an older snapshot holds: an earlier position, without the memory and the list applied after it.
    await redis.set(redisKeys(prefix).applied, '1/1');
    await redis.del(list, redisKeys(prefix).memory(member));
    await redis.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes'); // the projection reconnects, as after a restart
    await t.memory.storeMemory({ agentId: 'nudge', userId: 'nudge', type: MemoryType.FACT, content: { text: 'x' } }, agent('writer'));
    await eventually(async () => (await redis.exists(list)) === 1, 'the list replayed');
    await caughtUp(t);
    assert.deepEqual(await redis.zrange(list, 0, -1, 'WITHSCORES'), kept.list);
    assert.deepEqual(await redis.hgetall(redisKeys(prefix).memory(member)), kept.memory);
    assert.ok((await sameOnBoth({ agentId: 'sleep', userId: 'p1', pageSize: 50 })) > 0, 'served again once replayed');
  });

  it('reads a list from PostgreSQL once something of it changed after what the projection applied, and other lists still from Redis', async () => {
    await caughtUp(t);
    await t.app.redisProjection!.consumer.stop(); // the projection lags from here on
    const { memory } = await t.memory.storeMemory(
      { agentId: 'diet', userId: 'p2', type: MemoryType.FACT, content: { text: 'new' } },
      agent('writer'),
    );
    const before = stats();
    const page = await t.memory.listMemories({ agentId: 'diet', userId: 'p2', pageSize: 3 }, agent('reader'));
    assert.equal(page.memories[0]!.id, memory!.id, 'the newest memory, which Redis does not hold yet');
    assert.deepEqual(page, await plain.memory.listMemories({ agentId: 'diet', userId: 'p2', pageSize: 3 }, agent('reader')));
    assert.equal(stats().listsUnverified, before.listsUnverified + 1, 'found stale at its record');
    // A list nothing changed in since is still current in Redis.
    assert.ok((await sameOnBoth({ userId: 'p1', types: [MemoryType.CONVERSATION], pageSize: 2 })) > 0);
  });

  it('reads from PostgreSQL while Redis is down', async () => {
    redis.disconnect();
    await stopProcess(redisServer);
    const before = stats();
    assert.equal(await sameOnBoth({ agentId: 'sleep', pageSize: 5 }), 0);
    assert.ok(stats().listMisses > before.listMisses);
  });
});
