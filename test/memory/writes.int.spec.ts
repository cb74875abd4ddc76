import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import pg from 'pg';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import type { StoreMemoryRequest } from '../../src/gen/auren/v1/memory_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { eventually, holdAppends, rejectsWith } from '../support/events.js';

const MAX_BYTES = 1024;

describeOnEachListener('MemoryService writes', (listener) => {
  let t: TestApp;
  let db: pg.Client;
  before(async () => {
    t = await startTestApp({ MEMORY_CONTENT_MAX_BYTES: String(MAX_BYTES) }, listener);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const as = (agent: string) => t.as(agent);
  // The request's fields, not MessageInitShape: Partial of that union (a message or an init) no
  // longer spreads into a request once the request has a repeated field (embedding).
  const store = (init: Partial<Omit<StoreMemoryRequest, '$typeName' | '$unknown'>> = {}, options = as('nutritionist')) =>
    t.memory.storeMemory(
      { agentId: 'nutritionist', userId: 'user_1', type: MemoryType.FACT, content: { text: 'eats oats' }, ...init },
      options,
    );
  const stored = async (init: Partial<Omit<StoreMemoryRequest, '$typeName' | '$unknown'>> = {}) => (await store(init)).memory!;
  const streamEvents = async (id: string) =>
    (
      await db.query(`select event_id::text, type, version, data, metadata from events where stream_id = $1 order by version`, [
        `memory-${id}`,
      ])
    ).rows;
  const row = async (id: string) =>
    (await db.query(`select version, last_event_id::text, deleted_at from memories where id = $1`, [id])).rows[0];
  const counts = async () =>
    (await db.query(`select (select count(*) from memories)::int as memories, (select count(*) from events)::int as events`)).rows[0];

  describe('StoreMemory', () => {
    it('stores a memory at version 1 with a server id, and its memory_created event in the same transaction', async () => {
      const expiresAt = Date.now() + 3_600_000;
      const memory = await stored({ metadata: { source: 'chat' }, confidence: 0.8, expiresAt: timestampFromMs(expiresAt) });
      assert.match(memory.id, /^[0-9a-f-]{36}$/);
      assert.equal(memory.version, 1n);
      assert.equal(memory.type, MemoryType.FACT);
      assert.deepEqual(memory.content, { text: 'eats oats' });
      assert.deepEqual(memory.metadata, { source: 'chat' });
      assert.equal(memory.confidence, 0.8);
      assert.equal(Number(memory.expiresAt!.seconds), Math.floor(expiresAt / 1000));
      assert.equal(memory.deleted, false);

      const [event, ...more] = await streamEvents(memory.id);
      assert.equal(more.length, 0);
      assert.equal(event.type, 'memory_created');
      assert.equal(event.version, '1');
      assert.deepEqual(event.data, {
        memory_id: memory.id,
        agent_id: 'nutritionist',
        user_id: 'user_1',
        type: 'fact',
        content: { text: 'eats oats' },
        metadata: { source: 'chat' },
        confidence: 0.8,
        expires_at: new Date(expiresAt).toISOString(),
      });
      assert.equal(event.metadata.user_id, 'user_1');
      assert.equal(event.metadata.caller, 'nutritionist');
      assert.deepEqual(event.metadata.auren.principal.name, 'nutritionist', 'the key that stored it, stamped by the service');
      assert.deepEqual(await row(memory.id), { version: '1', last_event_id: event.event_id, deleted_at: null });
    });

    it('defaults confidence to 1 and metadata to {}; a memory about nobody has no user_id in its event metadata', async () => {
      const memory = (await store({ userId: '' }, {} as ReturnType<typeof as>)).memory!;
      assert.equal(memory.confidence, 1);
      assert.deepEqual(memory.metadata, {});
      assert.equal(memory.userId, '');
      const [event] = await streamEvents(memory.id);
      assert.equal(event.metadata.user_id, undefined);
      assert.equal(event.metadata.caller, 'test-admin', 'the caller is the key that stored it, not the agent it stored for');
      assert.equal(event.data.user_id, null);
    });
  });

  describe('deadlines', () => {
    it('a store still waiting when its 200 ms deadline passes is DEADLINE_EXCEEDED and writes neither the memory nor its event', async () => {
      const memoryWrites = async () =>
        (
          await db.query(
            `select (select count(*) from memories)::int as memories, (select count(*) from events where stream_id like 'memory-%')::int as events`,
          )
        ).rows[0];
      const before = await memoryWrites();
      const held = await holdAppends(t.databaseUrl);
      try {
        await rejectsWith(
          t.memory.storeMemory(
            { agentId: 'nutritionist', userId: 'user_late', type: MemoryType.FACT, content: { text: 'late' } },
            { timeoutMs: 200 },
          ),
          Code.DeadlineExceeded,
        );
        await eventually(async () => (await held.waiters()) === 0, 'the waiting write cancelled');
      } finally {
        await held.release();
      }
      await stored(); // writes go on once the lock is gone
      const after = await memoryWrites();
      assert.deepEqual(after, { memories: before.memories + 1, events: before.events + 1 }, 'only the later memory was written');
    });
  });

  describe('UpdateMemory', () => {
    it('changes only what it is given, counts the change and records memory_updated with the change', async () => {
      const { id } = await stored({ metadata: { source: 'chat' } });
      const updated = (await t.memory.updateMemory({ id, confidence: 0.4 }, as('nutritionist'))).memory!;
      assert.equal(updated.version, 2n);
      assert.equal(updated.confidence, 0.4);
      assert.deepEqual(updated.content, { text: 'eats oats' });
      assert.deepEqual(updated.metadata, { source: 'chat' });
      const again = (await t.memory.updateMemory({ id, content: { text: 'eats rice' }, metadata: {} })).memory!;
      assert.equal(again.version, 3n);
      assert.deepEqual(again.metadata, {});

      const events = await streamEvents(id);
      assert.deepEqual(
        events.map((e) => [e.type, e.version]),
        [
          ['memory_created', '1'],
          ['memory_updated', '2'],
          ['memory_updated', '3'],
        ],
      );
      assert.deepEqual(events[1].data, { memory_id: id, agent_id: 'nutritionist', user_id: 'user_1', type: 'fact', confidence: 0.4 });
      assert.equal(events[1].metadata.user_id, 'user_1');
      assert.equal(events[1].metadata.caller, 'nutritionist');
      assert.deepEqual(events[2].data, {
        memory_id: id,
        agent_id: 'nutritionist',
        user_id: 'user_1',
        type: 'fact',
        content: { text: 'eats rice' },
        metadata: {},
      });
      assert.equal(events[2].metadata.caller, 'test-admin', 'the caller is the key that made the update');
      assert.deepEqual(await row(id), { version: '3', last_event_id: events[2].event_id, deleted_at: null });
    });

    it('applies at the expected version and rejects a stale one with ABORTED, naming the actual version', async () => {
      const { id } = await stored();
      await t.memory.updateMemory({ id, confidence: 0.5, expectedVersion: 1n });
      await rejectsWith(
        t.memory.updateMemory({ id, confidence: 0.6, expectedVersion: 1n }),
        Code.Aborted,
        /is at version 2, expected version 1/,
      );
      assert.equal((await streamEvents(id)).length, 2);
    });

    it('lets exactly one of several concurrent updates at the same expected version win', async () => {
      const { id } = await stored();
      const results = await Promise.allSettled(
        [0.1, 0.2, 0.3, 0.4, 0.5].map((confidence) => t.memory.updateMemory({ id, confidence, expectedVersion: 1n })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) {
        if (r.status === 'rejected') assert.equal(ConnectError.from(r.reason).code, Code.Aborted);
      }
      assert.equal((await streamEvents(id)).length, 2);
      assert.equal((await row(id)).version, '2');
    });

    it('serializes concurrent updates without an expected version: gap-free versions, row and stream agree', async () => {
      const { id } = await stored();
      const versions = await Promise.all(
        [1, 2, 3, 4, 5].map(async (n) => (await t.memory.updateMemory({ id, content: { n } })).memory!.version),
      );
      assert.deepEqual([...versions].sort(), [2n, 3n, 4n, 5n, 6n]);
      const events = await streamEvents(id);
      assert.deepEqual(
        events.map((e) => e.version),
        ['1', '2', '3', '4', '5', '6'],
      );
      assert.deepEqual(await row(id), { version: '6', last_event_id: events[5].event_id, deleted_at: null });
    });

    it('NOT_FOUND for an unknown memory', async () => {
      await rejectsWith(t.memory.updateMemory({ id: randomUUID(), confidence: 0.5 }), Code.NotFound, /does not exist/);
    });
  });

  describe('DeleteMemory', () => {
    it('deletes softly with memory_deleted and its reason; the memory cannot be changed or deleted again', async () => {
      const { id } = await stored();
      await t.memory.updateMemory({ id, confidence: 0.9 });
      const deleted = (await t.memory.deleteMemory({ id, reason: 'the person asked' }, as('nutritionist'))).memory!;
      assert.equal(deleted.deleted, true);
      assert.equal(deleted.version, 3n);
      const events = await streamEvents(id);
      assert.equal(events[2].type, 'memory_deleted');
      assert.equal(events[2].data.reason, 'the person asked');
      assert.equal(events[2].metadata.caller, 'nutritionist');

      await rejectsWith(t.memory.updateMemory({ id, confidence: 0.1 }), Code.FailedPrecondition, /was deleted/);
      await rejectsWith(t.memory.deleteMemory({ id }), Code.FailedPrecondition, /was deleted/);
      assert.equal((await streamEvents(id)).length, 3);
      assert.equal((await row(id)).version, '3');
    });

    it('NOT_FOUND for an unknown memory', async () => {
      await rejectsWith(t.memory.deleteMemory({ id: randomUUID() }), Code.NotFound);
    });
  });

  describe('bad input: INVALID_ARGUMENT naming the field, and nothing written', () => {
    const big = { text: 'x'.repeat(MAX_BYTES) };
    let existing: string;
    before(async () => {
      existing = (await stored()).id;
    });

    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['an unset type', () => store({ type: MemoryType.UNSPECIFIED }), /^type: must be set/],
      ['an unknown type', () => store({ type: 42 as MemoryType }), /^type: unknown memory type 42/],
      ['a confidence above 1', () => store({ confidence: 1.5 }), /^confidence: expects a number from 0 to 1/],
      ['a negative confidence', () => store({ confidence: -0.1 }), /^confidence:/],
      ['a NaN confidence', () => store({ confidence: Number.NaN }), /^confidence:.*NaN/],
      ['an empty agent id', () => store({ agentId: '' }), /^agent_id: must not be empty/],
      ['a user id too long', () => store({ userId: 'u'.repeat(201) }), /^user_id:/],
      ['no content', () => store({ content: undefined }), /^content: expects a JSON object/],
      ['content over the limit', () => store({ content: big }), /^content: takes \d+ bytes as JSON, over the limit of 1024/],
      ['content JSON cannot hold', () => store({ content: { n: Number.POSITIVE_INFINITY } }), /^content\.n:/],
      ['metadata over the limit', () => store({ metadata: big }), /^metadata: takes/],
      ['an expiry in the past', () => store({ expiresAt: timestampFromMs(Date.now() - 1000) }), /^expires_at: is in the past/],
      ['a malformed id on update', () => t.memory.updateMemory({ id: 'not-a-uuid', confidence: 0.5 }), /^id: expects a memory id/],
      [
        'an update with nothing to change',
        () => t.memory.updateMemory({ id: existing }),
        /^content, metadata, confidence: nothing to change/,
      ],
      ['an update with a NaN confidence', () => t.memory.updateMemory({ id: existing, confidence: Number.NaN }), /^confidence:/],
      ['an update with content over the limit', () => t.memory.updateMemory({ id: existing, content: big }), /^content: takes/],
      ['a malformed id on delete', () => t.memory.deleteMemory({ id: '42' }), /^id: expects a memory id/],
      ['a reason too long', () => t.memory.deleteMemory({ id: existing, reason: 'r'.repeat(1001) }), /^reason:/],
    ];
    for (const [what, call, message] of cases) {
      it(`refuses ${what}`, async () => {
        const before = await counts();
        await rejectsWith(call(), Code.InvalidArgument, message);
        assert.deepEqual(await counts(), before);
        assert.equal((await row(existing)).version, '1');
      });
    }
  });
});
