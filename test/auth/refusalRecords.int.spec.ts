import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code } from '@connectrpc/connect';
import pg from 'pg';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { rejectsWith } from '../support/events.js';

// An outsider's flood of keyless calls must not become a flood of the log: each kind of refusal
// (address, RPC, reason, key, person) is written once per window, its repeats as one count.
// Events withheld from log reads are recorded the same way.

const records = async (db: pg.Client, procedure: string, reason: string): Promise<Record<string, unknown>[]> =>
  (
    await db.query(
      `select data from events where stream_id = 'auren-refusals' and type = 'access_refused'
          and data->>'procedure' = $1 and data->>'reason' = $2 order by version`,
      [procedure, reason],
    )
  ).rows.map((r) => r.data as Record<string, unknown>);

const metric = async (t: TestApp, line: RegExp): Promise<number> => {
  const { body } = await t.app.metrics.scrape();
  const found = body.split('\n').find((l) => line.test(l));
  return found === undefined ? 0 : Number(found.split(' ').at(-1));
};

describeOnEachListener('Refusals are recorded without letting a flood flood the log', (listener) => {
  let t: TestApp;
  let db: pg.Client;

  before(async () => {
    // A long window: the test ends windows itself (flush), as the timer would.
    t = await startTestApp({ REFUSAL_WINDOW_MS: '3600000', REFUSAL_KINDS_MAX: '8' }, listener);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  it('answers every keyless call UNAUTHENTICATED, writes the first at once and the rest as one count', async () => {
    const procedure = 'auren.v1.EventStoreService/GetStreamInfo';
    const calls = 60;
    await Promise.all(
      Array.from({ length: calls }, () =>
        rejectsWith(t.events.getStreamInfo({ streamId: 'anything' }, t.withKey('')), Code.Unauthenticated, /no API key was sent/),
      ),
    );
    const [first, ...more] = await records(db, procedure, 'UNAUTHENTICATED');
    assert.equal(more.length, 0, 'one record while the window lasts');
    assert.equal(first!.count, 1);
    assert.equal(first!.source, '127.0.0.1', 'the client’s address is recorded');
    await t.app.refusals.flush();
    const [, repeats, ...none] = await records(db, procedure, 'UNAUTHENTICATED');
    assert.equal(none.length, 0);
    assert.equal(repeats!.count, calls - 1, 'the repeats are counted, none lost');
    assert.equal(repeats!.repeated, true);
    assert.equal(repeats!.source, '127.0.0.1');
    assert.ok(Date.parse(repeats!.first_at as string) <= Date.parse(repeats!.last_at as string));
    assert.ok((await metric(t, /^auren_refused_calls_total\{reason="UNAUTHENTICATED"\}/)) >= calls);
    // A new window: the next refusal of that kind is written at once again.
    await rejectsWith(t.events.getStreamInfo({ streamId: 'anything' }, t.withKey('')), Code.Unauthenticated);
    assert.equal((await records(db, procedure, 'UNAUTHENTICATED')).length, 3);
  });

  it('past REFUSAL_KINDS_MAX kinds in a window, counts the others by reason and says so in a metric', async () => {
    await t.app.refusals.flush();
    const before = await metric(t, /^auren_refusals_unrecorded_total\{why="overflow"\}/);
    // Forged keys of different ids all read "not valid": one kind per RPC. Ten RPCs, eight kinds.
    const forged = `auren_${randomUUID().replaceAll('-', '')}_${'A'.repeat(43)}`;
    const streams = Array.from({ length: 10 }, (_, i) => `kinds-${i}`);
    for (const streamId of streams) {
      await rejectsWith(t.events.readStream({ streamId }, t.withKey(forged)), Code.Unauthenticated, /not valid/);
      await rejectsWith(t.events.getStreamInfo({ streamId }, t.withKey(forged)), Code.Unauthenticated, /not valid/);
    }
    const distinct = [
      () => t.events.readAll({}, t.withKey(forged)),
      () => t.events.getEvent({ eventId: randomUUID() }, t.withKey(forged)),
      () => t.memory.getMemory({ id: randomUUID() }, t.withKey(forged)),
      () => t.memory.listMemories({}, t.withKey(forged)),
      () => t.memory.getMemoryStats({}, t.withKey(forged)),
      () => t.memory.getMemoryHistory({ id: randomUUID() }, t.withKey(forged)),
      () => t.memory.listAuditTrail({ userId: 'someone' }, t.withKey(forged)),
      () => t.memory.searchMemories({ query: 'x' }, t.withKey(forged)),
      () => t.memory.updateMemory({ id: randomUUID() }, t.withKey(forged)),
      () => t.memory.deleteMemory({ id: randomUUID() }, t.withKey(forged)),
    ];
    for (const call of distinct) await rejectsWith(call(), Code.Unauthenticated, /not valid/);
    // 2 + 10 kinds: the last four are counted only.
    assert.equal((await metric(t, /^auren_refusals_unrecorded_total\{why="overflow"\}/)) - before, 4);
    await t.app.refusals.flush();
    const overflow = (await records(db, '*', 'UNAUTHENTICATED')).at(-1)!;
    assert.equal(overflow.overflow, true);
    assert.equal(overflow.count, 4);
  });

  it('records events withheld from ReadAll once per window with their count, never one record per event', async () => {
    const reader = await t.key({ kind: 'service', name: `reader-${randomUUID().slice(0, 8)}`, scopes: ['events:read'] });
    const person = `user_${randomUUID()}`;
    for (let i = 0; i < 3; i++)
      await t.memory.storeMemory(
        { agentId: 'coach', userId: person, type: MemoryType.FACT, content: { text: `note ${i}` } },
        t.as('coach'),
      );
    await t.app.refusals.flush();
    const procedure = 'auren.v1.EventStoreService/ReadAll';
    const before = (await records(db, procedure, 'WITHHELD')).length;
    const page = await t.events.readAll({ limit: 1000 }, t.withKey(reader));
    assert.ok(!page.events.some((e) => e.streamId.startsWith('memory-')), 'the person’s data is not returned');
    const [withheld, ...more] = (await records(db, procedure, 'WITHHELD')).slice(before);
    assert.equal(more.length, 0);
    assert.equal((withheld!.principal as { name: string }).name.startsWith('reader-'), true);
    assert.ok((withheld!.withheld_events as number) >= 3, 'the events left out are counted');
    assert.match(withheld!.message as string, /audit:read/);
    for (let i = 0; i < 5; i++) await t.events.readAll({ limit: 1000 }, t.withKey(reader));
    assert.equal((await records(db, procedure, 'WITHHELD')).length, before + 1, 'repeats are counted, not written');
    await t.app.refusals.flush();
    const repeats = (await records(db, procedure, 'WITHHELD')).at(-1)!;
    assert.equal(repeats.count, 5);
    assert.ok((repeats.withheld_events as number) >= 15);
  });
});

describe('Refusal windows end on their own', () => {
  it('writes the count of repeats when REFUSAL_WINDOW_MS has passed', async () => {
    const t = await startTestApp({ REFUSAL_WINDOW_MS: '200' });
    const db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    try {
      await Promise.all(
        Array.from({ length: 5 }, () => rejectsWith(t.events.getStreamInfo({ streamId: 'x' }, t.withKey('')), Code.Unauthenticated)),
      );
      const procedure = 'auren.v1.EventStoreService/GetStreamInfo';
      let found: Record<string, unknown>[] = [];
      for (let waited = 0; waited < 5000 && found.reduce((n, r) => n + (r.count as number), 0) < 5; waited += 100) {
        await sleep(100);
        found = await records(db, procedure, 'UNAUTHENTICATED');
      }
      assert.equal(
        found.reduce((n, r) => n + (r.count as number), 0),
        5,
        'every refusal is in a record’s count',
      );
      // The first and one count; a window that ended among the calls adds one of each at most.
      assert.ok(found.length < 5, `${found.length} records for 5 refusals`);
    } finally {
      await db.end();
      await t.stop();
    }
  });
});
