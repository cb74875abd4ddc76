import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError } from '@connectrpc/connect';
import pg from 'pg';
import type { Event, Position, SubscribeToAllRequest, SubscribeToAllResponse } from '../../src/gen/auren/v1/events_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { SubscribeToAllRequestSchema } from '../../src/gen/auren/v1/events_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream, proposed } from '../support/events.js';

/** A running subscription: what it received so far, and its end. */
interface Tail {
  events: Event[];
  checkpoints: Position[];
  caughtUp: boolean;
  cancel(): void;
  done: Promise<void>;
}

function positionKey(p: Position | undefined): string {
  return `${p!.commit}:${p!.prepare}`;
}

function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  return a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;
}

async function eventually(check: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what} not reached within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describeOnEachListener('SubscribeToAll', (listener) => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ TAIL_POLL_MS: '200', DB_POOL_SIZE: '24' }, listener);
  });
  after(() => t.stop());

  function subscribe(request: MessageInitShape<typeof SubscribeToAllRequestSchema>): Tail {
    const controller = new AbortController();
    const tail: Tail = { events: [], checkpoints: [], caughtUp: false, cancel: () => controller.abort(), done: Promise.resolve() };
    tail.done = (async () => {
      try {
        for await (const response of t.events.subscribeToAll(request, { signal: controller.signal })) {
          const message = (response as SubscribeToAllResponse).message;
          if (message.case === 'event') tail.events.push(message.value);
          else if (message.case === 'checkpoint') tail.checkpoints.push(message.value.position!);
          else if (message.case === 'caughtUp') tail.caughtUp = true;
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    })();
    return tail;
  }

  /** Every event of the log, in ReadAll's order. */
  async function readWholeLog(): Promise<Event[]> {
    const events: Event[] = [];
    let fromPosition: Position | undefined;
    for (;;) {
      const page = await t.events.readAll({ fromPosition, limit: 1000 });
      events.push(...page.events);
      if (page.endOfLog) return events;
      fromPosition = page.nextPosition;
    }
  }

  it('delivers every event exactly once, in position order, while an appending transaction is held open', async () => {
    const before = await readWholeLog();
    const middle = before.at(-1)?.position;
    const fromStart = subscribe({ from: { case: 'start', value: {} } });
    const fromMiddle = subscribe({ from: { case: 'position', value: middle ?? { commit: 0n, prepare: 0n } } });
    const liveOnly = subscribe({ from: { case: 'end', value: {} } });
    await eventually(() => fromStart.caughtUp && fromMiddle.caughtUp && liveOnly.caughtUp, 20_000, 'caught up');

    const slow = new pg.Client({ connectionString: t.databaseUrl });
    await slow.connect();
    const slowId = randomUUID();
    try {
      await slow.query('begin');
      await slow.query(`select * from append_to_stream($1, 'any', 0, $2::jsonb)`, [
        'held-open',
        JSON.stringify([{ event_id: slowId, type: 'held', data: {}, metadata: {} }]),
      ]);
      // Appends made meanwhile wait for the open one (positions are handed out in commit order).
      const later: string[] = [];
      const appends = Array.from({ length: 5 }, () => {
        const eventId = randomUUID();
        later.push(eventId);
        return t.events.appendToStream({ streamId: freshStream('later'), events: [proposed({ eventId, type: 'later' })] });
      });
      await sleep(400);
      for (const tail of [fromStart, fromMiddle, liveOnly]) {
        assert.ok(!tail.events.some((e) => e.eventId === slowId || later.includes(e.eventId)), 'nothing is delivered before it commits');
      }
      await slow.query('commit');
      await Promise.all(appends);
      const expected = [slowId, ...later];
      await eventually(() =>
        [fromStart, fromMiddle, liveOnly].every((tail) => expected.every((id) => tail.events.some((e) => e.eventId === id))),
      );
      const log = await readWholeLog();
      for (const [name, tail, from] of [
        ['from the start', fromStart, 0],
        ['from the middle', fromMiddle, before.length],
        ['live only', liveOnly, before.length],
      ] as const) {
        assert.deepEqual(
          tail.events.map((e) => e.eventId),
          log.slice(from).map((e) => e.eventId),
          `${name}: the log's order, each event once`,
        );
      }
      assert.ok(
        comparePositions(log.find((e) => e.eventId === slowId)!.position!, log.find((e) => later.includes(e.eventId))!.position!) < 0,
        'the held event has the earlier position',
      );
    } finally {
      await slow.end();
      for (const tail of [fromStart, fromMiddle, liveOnly]) tail.cancel();
      await Promise.all([fromStart.done, fromMiddle.done, liveOnly.done]);
    }
  });

  // About the log, not the transport: run on the agents' listener only (it takes 20 s).
  if (listener === 'GRPC_PORT') {
    it('a write transaction held open in another database holds no tail back', async function () {
      this.timeout(60_000);
      const tail = subscribe({ from: { case: 'end', value: {} } });
      await eventually(() => tail.caughtUp, 20_000, 'caught up');
      const other = new pg.Client({ connectionString: t.databaseUrl.replace(/\/[^/]*$/, '/postgres') });
      await other.connect();
      try {
        await other.query('begin');
        await other.query('select pg_current_xact_id()');
        // For the whole of 20 s the other transaction stays open; every append reaches the tail
        // within a normal latency meanwhile.
        const until = Date.now() + (Number(process.env.HELD_OPEN_MS) || 20_000);
        let worst = 0;
        while (Date.now() < until) {
          const eventId = randomUUID();
          const sent = Date.now();
          await t.events.appendToStream({ streamId: freshStream('beside'), events: [proposed({ eventId })] });
          await eventually(() => tail.events.some((e) => e.eventId === eventId), 5_000, 'the append reaches the tail');
          worst = Math.max(worst, Date.now() - sent);
          await sleep(200);
        }
        assert.ok(worst < 1_000, `the slowest append took ${worst} ms to reach the tail`);
      } finally {
        await other.query('rollback');
        await other.end();
        tail.cancel();
        await tail.done;
      }
    });
  }

  it('16 appenders, 10,000 events over 200 streams, 4 subscribers from different points: each sees exactly the log', async function () {
    this.timeout(180_000);
    const start = await readWholeLog();
    const tag = randomUUID().slice(0, 8);
    const tails = [
      { name: 'start', from: 0, tail: subscribe({ from: { case: 'start', value: {} } }) },
      {
        name: 'middle',
        from: Math.floor(start.length / 2),
        tail: subscribe({ from: { case: 'position', value: start[Math.floor(start.length / 2) - 1]!.position! } }),
      },
      { name: 'end', from: start.length, tail: subscribe({ from: { case: 'end', value: {} } }) },
    ];
    const filtered = subscribe({ from: { case: 'start', value: {} }, filter: { eventTypes: [`${tag}-even`] }, checkpointInterval: 250 });
    await eventually(() => tails.every(({ tail }) => tail.caughtUp) && filtered.caughtUp);
    let lateTail: Tail | undefined;
    let lateFrom = 0;

    let written = 0;
    await Promise.all(
      Array.from({ length: 16 }, async (_, writer) => {
        for (let batch = 0; written < 10_000; batch++) {
          const size = 1 + ((writer + batch) % 5);
          written += size;
          await t.events.appendToStream({
            streamId: `${tag}-stream-${(writer * 31 + batch) % 200}`,
            events: Array.from({ length: size }, (_, i) => proposed({ type: `${tag}-${(batch + i) % 2 ? 'odd' : 'even'}` })),
          });
          if (writer === 0 && batch === 40 && !lateTail) {
            // A fourth subscriber joins mid-run from a position in the middle of the writes.
            const sofar = await readWholeLog();
            lateFrom = sofar.length;
            lateTail = subscribe({ from: { case: 'position', value: sofar.at(-1)!.position! } });
          }
        }
      }),
    );
    const log = await readWholeLog();
    await eventually(
      () =>
        [...tails.map((x) => x.tail), lateTail!].every(
          (tail) => tail.events.length >= 1 && positionKey(tail.events.at(-1)!.position) === positionKey(log.at(-1)!.position),
        ),
      60_000,
      'every subscriber at the end of the log',
    );
    for (const { name, from, tail } of [...tails, { name: 'joined mid-run', from: lateFrom, tail: lateTail! }]) {
      const want = log.slice(from).map((e) => e.eventId);
      const got = tail.events.map((e) => e.eventId);
      assert.equal(got.length, want.length, `${name}: ${got.length} events, the log has ${want.length}`);
      assert.deepEqual(got, want, `${name}: same order as ReadAll`);
    }
    const even = log.filter((e) => e.type === `${tag}-even`).map((e) => e.eventId);
    await eventually(() => filtered.events.length >= even.length);
    assert.deepEqual(
      filtered.events.map((e) => e.eventId),
      even,
      'the filter passes exactly the matching events',
    );
    assert.ok(
      filtered.checkpoints.length >= Math.floor(log.length / 250) - 1,
      `${filtered.checkpoints.length} checkpoints for ${log.length} scanned events`,
    );
    for (let i = 1; i < filtered.checkpoints.length; i++)
      assert.ok(comparePositions(filtered.checkpoints[i - 1]!, filtered.checkpoints[i]!) < 0);
    for (const tail of [...tails.map((x) => x.tail), lateTail!, filtered]) tail.cancel();
  });

  it('a filtered subscriber resumes from its last checkpoint without missing a match', async () => {
    const tag = randomUUID().slice(0, 8);
    for (let i = 0; i < 30; i++)
      await t.events.appendToStream({
        streamId: freshStream(tag),
        events: [proposed({ type: i % 10 === 0 ? `${tag}-rare` : `${tag}-common` })],
      });
    const first = subscribe({
      from: { case: 'start', value: {} },
      filter: { streamIdPrefixes: [tag], eventTypes: [`${tag}-rare`] },
      checkpointInterval: 7,
    });
    await eventually(() => first.caughtUp && first.events.length === 3);
    first.cancel();
    await first.done;
    const resumeAt = first.checkpoints.at(-1)!;
    const rest = (await readWholeLog()).filter((e) => comparePositions(e.position!, resumeAt) > 0 && e.type === `${tag}-rare`);
    const second = subscribe({ from: { case: 'position', value: resumeAt }, filter: { eventTypes: [`${tag}-rare`] } });
    await eventually(() => second.caughtUp);
    assert.deepEqual(
      second.events.map((e) => e.eventId),
      rest.map((e) => e.eventId),
    );
    second.cancel();
  });

  it('a subscriber that stops reading holds a bounded buffer on the server, then catches up in order', async function () {
    this.timeout(180_000);
    const tag = randomUUID().slice(0, 8);
    const controller = new AbortController();
    const stream = t.events
      .subscribeToAll({ from: { case: 'end', value: {} }, filter: { streamIdPrefixes: [tag] } }, { signal: controller.signal })
      [Symbol.asyncIterator]();
    const first = await stream.next(); // caught_up: the subscription is live
    assert.equal((first.value as SubscribeToAllResponse).message.case, 'caughtUp');
    const sentBefore = t.app.subscriptions.sent();

    // Written straight through append_to_stream, the same statement the service uses: this
    // test is about the reader, and 50,000 events through gRPC would only make it slower.
    const writer = new pg.Client({ connectionString: t.databaseUrl });
    await writer.connect();
    try {
      for (let batch = 0; batch < 50; batch++) {
        const events = Array.from({ length: 1000 }, (_, i) => ({
          event_id: randomUUID(),
          type: 'bulk',
          data: { n: batch * 1000 + i, pad: 'x'.repeat(200) },
          metadata: {},
        }));
        await writer.query(`select * from append_to_stream($1, 'any', 0, $2::jsonb)`, [`${tag}-${batch % 10}`, JSON.stringify(events)]);
        await writer.query(`select pg_notify('auren_events', '')`);
      }
    } finally {
      await writer.end();
    }
    await sleep(1500);
    const heldBack = t.app.subscriptions.sent() - sentBefore;
    assert.ok(heldBack < 10_000, `the server produced ${heldBack} of 50,000 messages for a client that read none`);
    assert.ok(t.app.head.buffered() <= 10_000, `the shared window holds ${t.app.head.buffered()} events`);

    const received: number[] = [];
    while (received.length < 50_000) {
      const next = await stream.next();
      const message = (next.value as SubscribeToAllResponse).message;
      if (message.case === 'event') received.push(message.value.data!.n as number);
    }
    assert.deepEqual(
      received,
      Array.from({ length: 50_000 }, (_, i) => i),
    );
    controller.abort();
    await stream.return?.();
  });

  it('ends live tails with UNAVAILABLE when the server stops, without waiting out the grace period', async () => {
    const own = await startTestApp({ SHUTDOWN_TIMEOUT_MS: '10000' }, listener);
    let error: unknown;
    const tail = (async () => {
      try {
        for await (const _ of own.events.subscribeToAll({ from: { case: 'end', value: {} } })) void _;
      } catch (e) {
        error = e;
      }
    })();
    await eventually(() => own.app.subscriptions.active() === 1, 5_000, 'subscribed');
    const stopping = Date.now();
    await own.stop();
    await tail;
    assert.ok(Date.now() - stopping < 5_000, `stopping took ${Date.now() - stopping} ms`);
    const ended = ConnectError.from(error);
    assert.equal(Code[ended.code], Code[Code.Unavailable]);
    assert.match(ended.rawMessage, /subscribe again from the last position received/);
  });

  it('cancelling mid-stream frees the subscription at once', async () => {
    const before = t.app.subscriptions.active();
    const tails = Array.from({ length: 5 }, () => subscribe({ from: { case: 'start', value: {} } }));
    await eventually(() => t.app.subscriptions.active() === before + 5);
    for (const tail of tails) tail.cancel();
    await Promise.all(tails.map((tail) => tail.done));
    await eventually(() => t.app.subscriptions.active() === before, 5_000, 'subscription count back');
    assert.equal(t.app.subscriptions.active(), 0);
  });
});

describe('SubscribeToAll through history pages read ahead (7-event pages, a 100-event window)', () => {
  let t: TestApp;
  before(async () => (t = await startTestApp({ TAIL_PAGE_SIZE: '7', TAIL_WINDOW: '100', DB_POOL_SIZE: '12' }, 'GRPC_PORT')));
  after(() => t.stop());

  async function logIds(): Promise<string[]> {
    const ids: string[] = [];
    let fromPosition: Position | undefined;
    for (;;) {
      const page = await t.events.readAll({ fromPosition, limit: 1000 });
      ids.push(...page.events.map((e) => e.eventId));
      if (page.endOfLog) return ids;
      fromPosition = page.nextPosition;
    }
  }

  it('subscribers from the start and from the middle, while 8 appenders write: each sees exactly the log, once, in order', async function () {
    this.timeout(120_000);
    const tag = randomUUID().slice(0, 8);
    const append = (writer: number, n: number) =>
      t.events.appendToStream({
        streamId: `${tag}-${writer % 5}`,
        events: Array.from({ length: 1 + (n % 3) }, () => proposed({ type: `${tag}-noted` })),
      });
    for (let n = 0; n < 100; n++) await Promise.all(Array.from({ length: 8 }, (_, writer) => append(writer, n)));
    const half = Math.floor((await logIds()).length / 2);
    const middle = (await t.events.readAll({ limit: half })).events.at(-1)!.position!;
    const received = [[], []] as string[][];
    const controller = new AbortController();
    const readers = [
      { case: 'start' as const, value: {} },
      { case: 'position' as const, value: middle },
    ].map(async (from, i) => {
      try {
        for await (const response of t.events.subscribeToAll({ from }, { signal: controller.signal })) {
          const message = (response as SubscribeToAllResponse).message;
          if (message.case === 'event') received[i]!.push(message.value.eventId);
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    });
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        for (let n = 0; n < 100; n++) await append(writer, n);
      }),
    );
    const log = await logIds();
    const fromMiddle = log.slice(half);
    await eventually(() => received[0]!.length >= log.length && received[1]!.length >= fromMiddle.length, 60_000, 'both at the end');
    controller.abort();
    await Promise.all(readers);
    assert.deepEqual(received[0], log);
    assert.deepEqual(received[1], fromMiddle);
  });
});

export type { SubscribeToAllRequest };
