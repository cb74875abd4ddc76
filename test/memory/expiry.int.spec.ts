import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import pg from 'pg';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { createLogger } from '../../src/log.js';
import { startExpirySweeper } from '../../src/memory/expiry.js';
import type { ExpirySweeper } from '../../src/memory/expiry.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';

describe('Memory expiry', () => {
  let t: TestApp;
  let db: pg.Client;
  before(async () => {
    t = await startTestApp({ MEMORY_EXPIRY_SWEEP_MS: '50' });
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const store = async (userId: string, expiresInMs: number) =>
    (
      await t.memory.storeMemory({
        agentId: 'recovery',
        userId,
        type: MemoryType.HYPOTHESIS,
        content: { text: 'sore after squats' },
        expiresAt: timestampFromMs(Date.now() + expiresInMs),
      })
    ).memory!;
  const streamTypes = async (id: string) =>
    (await db.query('select type from events where stream_id = $1 order by version', [`memory-${id}`])).rows.map((r) => r.type as string);
  const untilExpired = async (ids: string[]) => {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(25)) {
      const { rows } = await db.query('select count(*)::int as n from memories where id = any($1) and expired_at is not null', [ids]);
      if (rows[0].n === ids.length) return;
    }
    assert.fail('the memories were not expired in time');
  };

  it('records memory_expired once expires_at has passed, bumping the version', async () => {
    const memory = await store('user_e', 300);
    assert.deepEqual(await streamTypes(memory.id), ['memory_created']);
    await untilExpired([memory.id]);
    assert.deepEqual(await streamTypes(memory.id), ['memory_created', 'memory_expired']);
    const {
      rows: [row],
    } = await db.query('select version, last_event_id::text, expired_at from memories where id = $1', [memory.id]);
    const {
      rows: [event],
    } = await db.query(`select event_id::text, data, metadata from events where stream_id = $1 and version = 2`, [`memory-${memory.id}`]);
    assert.equal(row.version, '2');
    assert.equal(row.last_event_id, event.event_id);
    assert.equal(event.data.memory_id, memory.id);
    assert.deepEqual(event.metadata, {
      user_id: 'user_e',
      caller: 'auren.expiry-sweeper',
      auren: { principal: { name: 'auren.expiry-sweeper', kind: 'service', key_id: null } },
    });
  });

  it('leaves deleted memories and memories without an expiry alone', async () => {
    const deleted = await store('user_e', 200);
    await t.memory.deleteMemory({ id: deleted.id });
    const forever = (await t.memory.storeMemory({ agentId: 'recovery', userId: 'user_e', type: MemoryType.FACT, content: { a: 1 } }))
      .memory!;
    const marker = await store('user_e', 250);
    await untilExpired([marker.id]);
    await sleep(100);
    assert.deepEqual(await streamTypes(deleted.id), ['memory_created', 'memory_deleted']);
    assert.deepEqual(await streamTypes(forever.id), ['memory_created']);
  });

  it('expires each memory exactly once with several sweepers at work (replicas)', async () => {
    const log = createLogger('silent');
    const errors: unknown[] = [];
    const watched: typeof log = Object.assign(Object.create(log) as typeof log, { error: (...args: unknown[]) => errors.push(args) });
    const sweepers: ExpirySweeper[] = [1, 2, 3].map(() =>
      startExpirySweeper({ pool: t.app.pool, writer: t.app.memoryStreams, log: watched, intervalMs: 10, batchSize: 3 }),
    );
    try {
      // 2 s ahead: 30 stores at once can take a while on a busy machine, and a time already past is refused.
      const memories = await Promise.all(Array.from({ length: 30 }, (_, i) => store(`user_r${i % 4}`, 2_000)));
      const ids = memories.map((m) => m.id);
      await untilExpired(ids);
      // One more round for every sweeper, to give a late duplicate every chance to appear.
      await Promise.all(sweepers.map((s) => s.sweep()));
      const { rows } = await db.query(
        `select stream_id, count(*) filter (where type = 'memory_expired')::int as expired, max(version)::int as version
           from events where stream_id = any($1) group by stream_id`,
        [ids.map((id) => `memory-${id}`)],
      );
      assert.equal(rows.length, 30);
      assert.ok(
        rows.every((r) => r.expired === 1 && r.version === 2),
        JSON.stringify(rows.filter((r) => r.expired !== 1)),
      );
      const versions = await db.query('select count(*)::int as n from memories where id = any($1) and version = 2', [ids]);
      assert.equal(versions.rows[0].n, 30);
      assert.deepEqual(errors, []);
    } finally {
      await Promise.all(sweepers.map((s) => s.stop()));
    }
  });
});
