import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pino } from 'pino';
import { createConsumer } from '../../src/consumers/consumer.js';
import type { Position, RecordedEvent } from '../../src/events/types.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream } from '../support/events.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/consumerProcess.ts', import.meta.url));

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} not reached within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Test access to one database: appends through the app's store, reads with plain SQL. */
function database(t: TestApp, db: pg.Client) {
  return {
    /** Appends `count` events to one stream in one transaction; returns their ids. */
    async append(count: number, type = 'consumed', streamId = freshStream('consumer')): Promise<string[]> {
      const events = Array.from({ length: count }, (_, i) => ({ eventId: randomUUID(), type, data: { i }, metadata: {} }));
      await t.app.eventStore.appendToStream(streamId, { kind: 'any' }, events);
      return events.map((e) => e.eventId);
    },
    /** Every event id of the log, in log order. */
    async logIds(): Promise<string[]> {
      return (await db.query<{ id: string }>('select event_id::text as id from events order by position')).rows.map((r) => r.id);
    },
    async lastPosition(): Promise<Position> {
      const { rows } = await db.query<{ commit: string; prepare: string }>(
        'select position::text as commit, position::text as prepare from events order by position desc limit 1',
      );
      return { commit: BigInt(rows[0]!.commit), prepare: BigInt(rows[0]!.prepare) };
    },
    async checkpoint(name: string) {
      const { rows } = await db.query<{
        commit: string;
        prepare: string;
        handled_events: string;
        last_error: string | null;
        failed_attempts: number;
        failing_since: Date | null;
      }>(
        'select commit::text, prepare::text, handled_events::text, last_error, failed_attempts, failing_since from consumer_checkpoints where name = $1',
        [name],
      );
      const row = rows[0];
      return (
        row && { ...row, position: { commit: BigInt(row.commit), prepare: BigInt(row.prepare) }, handledEvents: Number(row.handled_events) }
      );
    },
  };
}

function isBefore(a: Position, b: Position): boolean {
  return a.commit < b.commit || (a.commit === b.commit && a.prepare < b.prepare);
}

describe('Consumer', () => {
  let t: TestApp;
  let db: pg.Client;
  let store: ReturnType<typeof database>;
  before(async () => {
    t = await startTestApp();
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    store = database(t, db);
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  it('handles every event in log order from the start, saves its checkpoint, and a later instance resumes after it', async () => {
    const name = 'in-order';
    await Promise.all(Array.from({ length: 5 }, () => store.append(50)));
    const handled: string[] = [];
    const first = t.app.startConsumer({ name, lockRetryMs: 50, handle: (event) => void handled.push(event.eventId) });
    const log = await store.logIds();
    await eventually(() => handled.length >= log.length);
    await first.stop();
    assert.deepEqual(handled, log);
    const saved = await store.checkpoint(name);
    assert.deepEqual(saved?.position, await store.lastPosition());
    assert.equal(saved?.handledEvents, log.length);
    assert.deepEqual(first.status(), {
      name,
      active: false,
      checkpoint: saved!.position,
      handledEvents: log.length,
      lastError: null,
      failedAttempts: 0,
    });

    const added = await store.append(7);
    const again: string[] = [];
    const second = t.app.startConsumer({ name, lockRetryMs: 50, handle: (event) => void again.push(event.eventId) });
    await eventually(() => again.length >= 7);
    await sleep(300);
    await second.stop();
    assert.deepEqual(again, added, 'only the events after the checkpoint');
    assert.equal(second.status().handledEvents, log.length + 7);
  });

  it('hands waiting events to its batch handler together, in order, and retries a failed batch whole', async () => {
    const name = 'batches';
    await Promise.all(Array.from({ length: 4 }, () => store.append(60)));
    const handled: string[] = [];
    const sizes: number[] = [];
    let failures = 0;
    const consumer = t.app.startConsumer({
      name,
      lockRetryMs: 50,
      retry: { initialMs: 10 },
      batchMax: 50,
      handle: (event) => void handled.push(event.eventId),
      async handleBatch(events) {
        if (failures++ === 1) throw new Error('store down');
        sizes.push(events.length);
        handled.push(...events.map((event) => event.eventId));
      },
    });
    const log = await store.logIds();
    await eventually(() => handled.length >= log.length);
    await consumer.stop();
    assert.deepEqual(handled, log, 'every event once, in order, the failed batch again as a whole');
    assert.ok(Math.max(...sizes) > 1 && Math.max(...sizes) <= 50, `batch sizes ${sizes.join(', ')}`);
  });

  it('hands its batch handler every event waiting, not cut by a filtered tail’s checkpoints', async () => {
    const name = 'read-ahead';
    const type = `wanted_${randomUUID().slice(0, 8)}`;
    const first = await store.append(1, type);
    const batches: string[][] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const consumer = t.app.startConsumer({
      name,
      filter: { eventTypes: [type] },
      checkpointInterval: 5,
      lockRetryMs: 50,
      batchMax: 500,
      // The first event, alone, is held until the others were appended and read ahead.
      async handle(event) {
        await gate;
        batches.push([event.eventId]);
      },
      async handleBatch(events) {
        batches.push(events.map((event) => event.eventId));
      },
    });
    await eventually(() => consumer.status().active);
    const later: string[] = [];
    for (let i = 0; i < 30; i++) {
      later.push(...(await store.append(1, type)));
      await store.append(2, 'unwanted');
    }
    await sleep(1_000);
    open();
    await eventually(() => batches.flat().length === 31);
    await consumer.stop();
    assert.deepEqual(batches.flat(), [...first, ...later]);
    // Cut at every checkpoint (each 5 scanned events), 19 batches.
    assert.ok(batches.length <= 3, `batches of ${batches.map((b) => b.length).join(', ')}`);
  });

  it('lets one replica of a name process at a time; stopping it hands over with no gap', async () => {
    const name = 'replicas';
    const handled: Array<{ by: string; id: string }> = [];
    const replica = (by: string) =>
      t.app.startConsumer({ name, lockRetryMs: 50, handle: (event) => void handled.push({ by, id: event.eventId }) });
    const replicas = { a: replica('a'), b: replica('b') };
    await eventually(() => replicas.a.status().active || replicas.b.status().active);
    await store.append(40);
    await eventually(async () => handled.length >= (await store.logIds()).length);
    const [activeName, standbyName] = replicas.a.status().active ? (['a', 'b'] as const) : (['b', 'a'] as const);
    assert.equal(replicas[standbyName].status().active, false);
    assert.deepEqual(new Set(handled.map((h) => h.by)), new Set([activeName]), 'only the lock holder handles events');
    const handedOver = handled.length;

    await replicas[activeName].stop();
    await store.append(40);
    await eventually(() => replicas[standbyName].status().active);
    await eventually(async () => handled.length >= (await store.logIds()).length);
    await replicas[standbyName].stop();
    assert.deepEqual(
      handled.map((h) => h.id),
      await store.logIds(),
      'every event once, in order',
    );
    assert.ok(handled.slice(handedOver).every((h) => h.by === standbyName));
  });

  it('stops processing when its lock connection drops, then takes the lock again and goes on', async () => {
    const name = 'dropped-lock';
    const handled: string[] = [];
    const consumer = t.app.startConsumer({ name, lockRetryMs: 50, handle: (event) => void handled.push(event.eventId) });
    const lockSessions = async () =>
      (
        await db.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [`auren consumer ${name}`])
      ).rows.map((r) => r.pid);
    await eventually(() => consumer.status().active);
    const [pid] = await lockSessions();
    await db.query('select pg_terminate_backend($1)', [pid]);
    await eventually(
      async () => {
        const pids = await lockSessions();
        return pids.length === 1 && pids[0] !== pid && consumer.status().active;
      },
      15_000,
      'a new lock session',
    );
    const added = await store.append(10);
    await eventually(() => added.every((id) => handled.includes(id)));
    await consumer.stop();
    const log = await store.logIds();
    // At least once: events since the last save may come again, but always in log order.
    assert.deepEqual([...new Set(handled)], log);
  });

  it('retries a failing event until it succeeds, without skipping it, and reports the failure meanwhile', async () => {
    const name = 'failing';
    const ids = await store.append(5);
    const failOn = ids[2]!;
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    const lines: Array<{ level: number; msg: string; attempt?: number; err?: { message: string } }> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const consumer = createConsumer({
      name,
      pool: t.app.pool,
      databaseUrl: t.databaseUrl,
      subscriptions: t.app.subscriptions,
      log,
      lockRetryMs: 50,
      retry: { initialMs: 10, maxMs: 40 },
      async handle(event: RecordedEvent) {
        if (event.eventId === failOn) {
          calls++;
          if (calls <= 3) throw new Error(`projection unavailable (${calls})`);
          await gate;
        }
        handled.push(event.eventId);
      },
    });
    consumer.start();
    try {
      await eventually(() => calls === 4, 15_000, 'the fourth attempt');
      const failing = consumer.status();
      assert.equal(failing.failedAttempts, 3);
      assert.equal(failing.lastError, 'projection unavailable (3)');
      assert.equal(failing.active, true);
      const row = await store.checkpoint(name);
      assert.equal(row?.failed_attempts, 3);
      assert.equal(row?.last_error, 'projection unavailable (3)');
      assert.ok(row?.failing_since instanceof Date);
      const failingEvent = (await t.app.eventStore.getEvent(failOn)).position;
      assert.ok(isBefore(row!.position, failingEvent), 'the checkpoint stays before the failing event');
      assert.ok(!handled.includes(failOn) && !handled.includes(ids[3]!));

      release();
      const all = await store.logIds();
      await eventually(() => handled.length >= all.length);
      assert.deepEqual(handled, all, 'every event once, in order');
      assert.equal(consumer.status().failedAttempts, 0);
      assert.equal(consumer.status().lastError, null);
      await eventually(async () => (await store.checkpoint(name))?.failed_attempts === 0);
      assert.equal((await store.checkpoint(name))?.last_error, null);
      const warnings = lines.filter((l) => l.msg === 'consumer handler failed; retrying the same event');
      assert.deepEqual(
        warnings.map((l) => [l.level, l.attempt, l.err?.message]),
        [1, 2, 3].map((n) => [40, n, `projection unavailable (${n})`]),
      );
      assert.ok(lines.some((l) => l.msg === 'consumer handler recovered'));
    } finally {
      release();
      await consumer.stop();
    }
  });

  it('stops promptly while waiting to retry, keeping its checkpoint before the failing event', async () => {
    const name = 'stopped-while-failing';
    const [failOn] = await store.append(1);
    const consumer = t.app.startConsumer({
      name,
      lockRetryMs: 50,
      retry: { initialMs: 30_000 },
      handle: (event) => {
        if (event.eventId === failOn) throw new Error('never works');
      },
    });
    await eventually(() => consumer.status().failedAttempts === 1);
    const started = Date.now();
    await consumer.stop();
    assert.ok(Date.now() - started < 2_000, `stop took ${Date.now() - started} ms`);
    assert.equal(consumer.status().active, false);
    const row = await store.checkpoint(name);
    assert.ok(isBefore(row!.position, (await t.app.eventStore.getEvent(failOn!)).position));
    assert.equal(row?.failed_attempts, 1);
  });

  it('handles only the events its filter matches, and its checkpoint moves past the others', async () => {
    const name = 'filtered';
    const type = `wanted_${randomUUID().slice(0, 8)}`;
    const wanted = [...(await store.append(2, type)), ...(await store.append(1, type))];
    await store.append(120, 'unwanted');
    const handled: string[] = [];
    const consumer = t.app.startConsumer({
      name,
      filter: { eventTypes: [type] },
      checkpointInterval: 25,
      lockRetryMs: 50,
      handle: (event) => void handled.push(event.eventId),
    });
    const last = await store.lastPosition();
    await eventually(async () => (await store.checkpoint(name))?.position.prepare === last.prepare);
    assert.deepEqual((await store.checkpoint(name))?.position, last);
    // Live too: the tail's checkpoints (every 25 scanned events) move it past non-matching events.
    await store.append(60, 'unwanted');
    await eventually(async () => isBefore(last, (await store.checkpoint(name))!.position));
    await consumer.stop();
    assert.deepEqual(handled, wanted);

    const again: string[] = [];
    const resumed = t.app.startConsumer({
      name,
      filter: { eventTypes: [type] },
      lockRetryMs: 50,
      handle: (event) => void again.push(event.eventId),
    });
    await eventually(() => resumed.status().active);
    await sleep(300);
    await resumed.stop();
    assert.deepEqual(again, [], 'nothing handled again');
  });
});

describe('Consumer in a process that crashes', () => {
  let t: TestApp;
  let db: pg.Client;
  const children: ChildProcess[] = [];
  before(async () => {
    t = await startTestApp();
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    await db.query(`
      create table consumer_runs (
        seq bigserial primary key, run text not null, commit xid8 not null, prepare bigint not null, event_id uuid not null
      )`);
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await db.end();
    await t.stop();
  });

  function startChild(run: string): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      env: { ...process.env, DATABASE_URL: t.databaseUrl, CONSUMER_NAME: 'crashing', CONSUMER_RUN: run },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    return child;
  }

  async function recorded(run?: string): Promise<Array<{ run: string; position: Position; id: string }>> {
    const { rows } = await db.query<{ run: string; commit: string; prepare: string; id: string }>(
      `select run, commit::text, prepare::text, event_id::text as id from consumer_runs
        where $1::text is null or run = $1 order by seq`,
      [run ?? null],
    );
    return rows.map((r) => ({ run: r.run, position: { commit: BigInt(r.commit), prepare: BigInt(r.prepare) }, id: r.id }));
  }

  it('loses nothing when killed mid-run: the next process resumes from the checkpoint', async function () {
    this.timeout(120_000);
    for (let i = 0; i < 30; i++) {
      await t.app.eventStore.appendToStream(
        freshStream('crash'),
        { kind: 'any' },
        Array.from({ length: 100 }, (_, n) => ({ type: 'crashed', data: { n }, metadata: {} })),
      );
    }
    const log = (await db.query<{ id: string }>('select event_id::text as id from events order by position')).rows.map((r) => r.id);
    assert.equal(log.length, 3_000);

    const first = startChild('1');
    await eventually(async () => (await recorded('1')).length >= 300, 60_000, 'the first run handling 300 events');
    first.kill('SIGKILL');
    await once(first, 'exit');
    const firstRun = await recorded('1');
    assert.ok(firstRun.length < log.length, 'killed before it handled everything');

    const second = startChild('2');
    await eventually(async () => new Set((await recorded()).map((r) => r.id)).size >= log.length, 90_000, 'every event handled');
    second.kill('SIGTERM');
    await once(second, 'exit');

    const secondRun = await recorded('2');
    assert.deepEqual(new Set([...firstRun, ...secondRun].map((r) => r.id)), new Set(log), 'every event handled at least once');
    for (const run of [firstRun, secondRun]) {
      for (let i = 1; i < run.length; i++)
        assert.ok(isBefore(run[i - 1]!.position, run[i]!.position), `run ${run[i]!.run} goes forward at ${i}`);
    }
    const resumedAt = log.indexOf(secondRun[0]!.id);
    const crashedAfter = log.indexOf(firstRun.at(-1)!.id);
    assert.ok(resumedAt <= crashedAfter + 1, `resumed at ${resumedAt}, after the crash at ${crashedAfter}: events lost`);
    assert.ok(resumedAt > 0, 'resumed from a saved checkpoint, not from the start');
  });
});
