import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceeded, InvalidArgument } from '../../src/errors.js';
import { CHAIN_KEY_PURPOSE, loadServerSecret } from '../../src/auth/secret.js';
import { chainPads } from '../../src/events/chain.js';
import { DuplicateEventId, WrongExpectedVersion } from '../../src/events/errors.js';
import { verifyChains } from '../../src/events/verifyChains.js';
import type { AppendResult, ExpectedVersion, ProposedEvent, RecordedEvent } from '../../src/events/types.js';
import { logPosition, START } from '../../src/events/types.js';
import { startTestApp, TEST_SECRET } from '../support/app.js';
import { holdLogCounter } from '../support/events.js';
import type { TestApp } from '../support/app.js';

// Concurrent appends share batches (one statement, one commit); each must still get exactly
// the answer it would get alone, in the order the store took them, and the log must be what
// the answers say.

interface Call {
  streamId: string;
  expected: ExpectedVersion;
  events: ProposedEvent[];
}

type Answer = { ok: AppendResult } | { error: unknown };

/** A small deterministic generator, so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What each call would answer, applied one at a time in `calls` order to an empty set of streams. */
function expectedAnswers(
  calls: Call[],
): (
  | { kind: 'appended'; version: bigint; events: number }
  | { kind: 'duplicate'; of: number }
  | { kind: 'wrong'; actual: bigint }
  | { kind: 'conflict' }
  | { kind: 'invalid' }
)[] {
  const versions = new Map<string, bigint>();
  const byId = new Map<string, { call: number; streamId: string; event: ProposedEvent }>();
  return calls.map((call, i) => {
    if (call.events.some((e) => e.type === '')) return { kind: 'invalid' as const };
    const found = call.events.map((e) => (e.eventId ? byId.get(e.eventId) : undefined));
    if (found.some(Boolean)) {
      const same = found.every(
        (f, k) =>
          f &&
          f.streamId === call.streamId &&
          JSON.stringify(f.event.data) === JSON.stringify(call.events[k]!.data) &&
          f.event.type === call.events[k]!.type &&
          f.call === found[0]!.call,
      );
      return same ? { kind: 'duplicate' as const, of: found[0]!.call } : { kind: 'conflict' as const };
    }
    const current = versions.get(call.streamId) ?? 0n;
    const e = call.expected;
    if (
      (e.kind === 'no_stream' && current !== 0n) ||
      (e.kind === 'stream_exists' && current === 0n) ||
      (e.kind === 'exact' && current !== e.version)
    ) {
      return { kind: 'wrong' as const, actual: current };
    }
    versions.set(call.streamId, current + BigInt(call.events.length));
    for (const event of call.events) if (event.eventId) byId.set(event.eventId, { call: i, streamId: call.streamId, event });
    return { kind: 'appended' as const, version: current + BigInt(call.events.length), events: call.events.length };
  });
}

describe('Group commit', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.stop());

  async function wholeLog(): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    let from = START;
    for (;;) {
      const page = await t.app.eventStore.readAll(from, 1000, { eventTypes: [], streamIdPrefixes: [] });
      events.push(...page.events);
      if (page.endOfLog) return events;
      from = page.nextPosition;
    }
  }

  // With retries in a batch it takes append_batch's loop; without, its set-wise statement, where
  // the streams repeat (12 streams, 400 appends) and each append is checked against the version
  // the ones before it on its stream leave.
  for (const [seed, retries] of [
    [1, true],
    [2, true],
    [3, true],
    [4, false],
    [5, false],
    [6, false],
  ] as const) {
    it(`mixes right and wrong expected versions, repeated streams${retries ? ', reused ids' : ''} and invalid events in shared batches: each answer is its own, every event chained (seed ${seed})`, async function () {
      this.timeout(60_000);
      const next = random(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
      const tag = randomUUID().slice(0, 8);
      const streams = Array.from({ length: 12 }, (_, i) => `${tag}-s${i}`);
      const calls: Call[] = [];
      const versions = new Map<string, number>();
      for (let i = 0; i < 400; i++) {
        const streamId = pick(streams);
        const roll = next();
        if (retries && roll < 0.1 && calls.length > 0) {
          // A retry of an earlier call: the same ids and content (duplicate) or other content (conflict).
          const earlier = pick(calls);
          const changed = next() < 0.3;
          calls.push({ ...earlier, events: earlier.events.map((e) => ({ ...e, data: changed ? { other: i } : e.data })) });
          continue;
        }
        const known = versions.get(streamId) ?? 0;
        const expected: ExpectedVersion = pick<ExpectedVersion>([
          { kind: 'any' },
          { kind: 'no_stream' },
          { kind: 'stream_exists' },
          { kind: 'exact', version: BigInt(known) },
          { kind: 'exact', version: BigInt(known + 1) },
        ]);
        const count = 1 + Math.floor(next() * 3);
        const events = Array.from({ length: count }, (_, k) => ({
          eventId: randomUUID(),
          type: next() < 0.03 ? '' : `${tag}-t${k}`,
          data: { call: i, k },
          metadata: {},
        }));
        calls.push({ streamId, expected, events });
        versions.set(streamId, known + count); // a guess: wrong often enough
      }

      const batchesBefore = t.app.eventStore.stats().batches;
      // All at once: the store takes them in call order, a batch at a time.
      const answers: Answer[] = await Promise.all(
        calls.map((call) => {
          try {
            return t.app.eventStore.appendToStream(call.streamId, call.expected, call.events).then(
              (ok) => ({ ok }),
              (error: unknown) => ({ error }),
            );
          } catch (error) {
            return Promise.resolve({ error });
          }
        }),
      );
      const batches = t.app.eventStore.stats().batches - batchesBefore;
      assert.ok(batches < calls.length / 4, `${calls.length} appends took ${batches} commits: they were batched`);

      const expected = expectedAnswers(calls);
      let lastPosition = 0n;
      answers.forEach((answer, i) => {
        const want = expected[i]!;
        const at = `call ${i} (${JSON.stringify(calls[i]!.expected, (_, v) => (typeof v === 'bigint' ? String(v) : v))})`;
        switch (want.kind) {
          case 'invalid':
            assert.ok('error' in answer && answer.error instanceof InvalidArgument, `${at}: invalid`);
            break;
          case 'conflict':
            assert.ok(
              'error' in answer && answer.error instanceof DuplicateEventId,
              `${at}: conflict, got ${JSON.stringify('error' in answer ? String(answer.error) : 'ok')}`,
            );
            break;
          case 'wrong':
            assert.ok(
              'error' in answer && answer.error instanceof WrongExpectedVersion,
              `${at}: wrong version, got ${'error' in answer ? String(answer.error) : 'ok'}`,
            );
            assert.equal((answer as { error: WrongExpectedVersion }).error.actualVersion, want.actual, at);
            break;
          case 'duplicate':
            assert.ok('ok' in answer, `${at}: duplicate answers like the first`);
            assert.deepEqual(answer.ok, (answers[want.of] as { ok: AppendResult }).ok, at);
            break;
          case 'appended': {
            assert.ok('ok' in answer, `${at}: appended, got ${'error' in answer ? String(answer.error) : ''}`);
            assert.equal(answer.ok.nextExpectedVersion, want.version, at);
            // Positions are handed out in the order the calls were taken, with no gap.
            assert.equal(answer.ok.firstPosition.prepare, lastPosition === 0n ? answer.ok.firstPosition.prepare : lastPosition + 1n, at);
            assert.equal(answer.ok.lastPosition.prepare - answer.ok.firstPosition.prepare, BigInt(want.events - 1), at);
            lastPosition = answer.ok.lastPosition.prepare;
            break;
          }
        }
      });

      // The log is what the answers say: exactly the appended calls' events, in their order.
      const log = (await wholeLog()).filter((e) => e.streamId.startsWith(`${tag}-`));
      const appended = calls
        .filter((_, i) => expected[i]!.kind === 'appended')
        .flatMap((call) => call.events.map((e) => ({ id: e.eventId, stream: call.streamId })));
      assert.deepEqual(
        log.map((e) => ({ id: e.eventId, stream: e.streamId })),
        appended,
      );
      for (const streamId of streams) {
        const own = log.filter((e) => e.streamId === streamId).map((e) => e.version);
        assert.deepEqual(
          own,
          own.map((_, k) => BigInt(k + 1)),
          `${streamId}: versions 1..n without gaps`,
        );
      }
      // Each event hashed in its batch over the one before it in its stream: `auren audit verify` finds nothing.
      const secret = await loadServerSecret({ secret: TEST_SECRET, dataDir: '/nonexistent' });
      const keys = secret.deriveAll(CHAIN_KEY_PURPOSE).map(({ secretId, key }) => ({ secretId, pads: chainPads(key) }));
      for (const streamId of streams) {
        const report = await verifyChains(t.app.pool, keys, { streamId });
        assert.deepEqual(report.problems, [], streamId);
        assert.equal(report.checked, BigInt(log.filter((e) => e.streamId === streamId).length), streamId);
      }
    });
  }

  it('a deadline that passes while an append waits behind a lock: DeadlineExceeded, and the event is never written', async () => {
    const blocker = await holdLogCounter(t.databaseUrl);
    try {
      const late = { eventId: randomUUID(), type: 'late', data: {}, metadata: {} };
      const patient = { eventId: randomUUID(), type: 'patient', data: {}, metadata: {} };
      const started = Date.now();
      const withDeadline = t.app.eventStore.appendToStream(`late-${randomUUID()}`, { kind: 'any' }, [late], AbortSignal.timeout(200));
      const without = t.app.eventStore.appendToStream(`patient-${randomUUID()}`, { kind: 'any' }, [patient]);
      await assert.rejects(withDeadline, DeadlineExceeded);
      assert.ok(Date.now() - started < 2_000, 'answered at its deadline, not when the lock went');
      await sleep(100);
      await blocker.commit();
      await without; // it waited behind the cancelled batch (or was cancelled with it and sent again)
      const ids = (await wholeLog()).map((e) => e.eventId);
      assert.ok(!ids.includes(late.eventId), 'the late event is not in the log');
      assert.ok(ids.includes(patient.eventId));
    } finally {
      await blocker.end();
    }
  });

  it('an append whose caller left before its batch went is never written', async () => {
    const blocker = await holdLogCounter(t.databaseUrl);
    try {
      // The first append's batch waits on the lock; the second waits in the queue behind it.
      const first = t.app.eventStore.appendToStream(`first-${randomUUID()}`, { kind: 'any' }, [{ type: 'first', data: {}, metadata: {} }]);
      const controller = new AbortController();
      const queued = { eventId: randomUUID(), type: 'queued', data: {}, metadata: {} };
      const second = t.app.eventStore.appendToStream(`queued-${randomUUID()}`, { kind: 'any' }, [queued], controller.signal);
      await sleep(100);
      controller.abort();
      await assert.rejects(second, /cancelled/);
      await blocker.commit();
      await first;
      assert.ok(!(await wholeLog()).some((e) => e.eventId === queued.eventId));
    } finally {
      await blocker.end();
    }
  });

  describe("an append on a condition on another stream (a cached read's record)", () => {
    const one = (): ProposedEvent[] => [{ type: 't', data: {}, metadata: {} }];
    const exists = async (streamId: string) => (await t.app.eventStore.getStreamInfo(streamId)).exists;
    let writer: ReturnType<TestApp['app']['eventStore']['claimStreams']>;
    before(() => {
      writer = t.app.eventStore.claimStreams(['watch-']);
    });

    it('is written only when the watched stream is at the version given (0: no such stream)', async () => {
      const watched = `watched-${randomUUID()}`;
      await t.app.eventStore.appendToStream(watched, { kind: 'no_stream' }, [...one(), ...one(), ...one()]);
      const at = `watch-${randomUUID()}`;
      const result = await writer.appendIfStreamAt(at, one(), { streamId: watched, version: 3n });
      assert.notEqual(result, 'changed');
      assert.ok(await exists(at));
      const behind = `watch-${randomUUID()}`;
      assert.equal(await writer.appendIfStreamAt(behind, one(), { streamId: watched, version: 2n }), 'changed');
      assert.equal(await exists(behind), false, 'nothing written');
      const none = `watch-${randomUUID()}`;
      assert.notEqual(await writer.appendIfStreamAt(none, one(), { streamId: `watched-${randomUUID()}`, version: 0n }), 'changed');
    });

    // Several appends made to share one batch: the first waits for the held log counter, the rest queue behind it.
    async function inOneBatch<T>(calls: () => Promise<T>[]): Promise<T[]> {
      const blocker = await holdLogCounter(t.databaseUrl);
      try {
        const first = t.app.eventStore.appendToStream(`first-${randomUUID()}`, { kind: 'any' }, one());
        await sleep(50);
        const rest = calls();
        await sleep(50);
        await blocker.commit();
        await first;
        return await Promise.all(rest);
      } finally {
        await blocker.end();
      }
    }

    it('is checked at its own place in a shared batch, after the appends before it (the loop) and beside others (set-wise)', async () => {
      const watched = `watched-${randomUUID()}`;
      await t.app.eventStore.appendToStream(watched, { kind: 'no_stream' }, one());
      const streams = [`watch-${randomUUID()}`, `watch-${randomUUID()}`, `plain-${randomUUID()}`];
      const before = t.app.eventStore.stats().batches;
      // The watched stream is written in the batch: each condition sees what came before it.
      const [stale, update, current, unrelated] = await inOneBatch<unknown>(() => [
        writer.appendIfStreamAt(streams[0]!, one(), { streamId: watched, version: 2n }),
        t.app.eventStore.appendToStream(watched, { kind: 'exact', version: 1n }, one()),
        writer.appendIfStreamAt(streams[1]!, one(), { streamId: watched, version: 2n }),
        t.app.eventStore.appendToStream(streams[2]!, { kind: 'no_stream' }, one()),
      ]);
      assert.equal(t.app.eventStore.stats().batches, before + 2, 'the held append, then one batch');
      assert.equal(stale, 'changed');
      assert.equal((update as AppendResult).nextExpectedVersion, 2n);
      assert.notEqual(current, 'changed');
      assert.equal((unrelated as AppendResult).nextExpectedVersion, 1n, 'a refused condition fails no neighbour');
      assert.deepEqual(await Promise.all(streams.slice(0, 3).map(exists)), [false, true, true]);
      // Not written in the batch: the set-wise statement, each condition on its own.
      const other = `watched-${randomUUID()}`;
      await t.app.eventStore.appendToStream(other, { kind: 'no_stream' }, one());
      const setWise = Array.from({ length: 3 }, () => `watch-${randomUUID()}`);
      const answers = await inOneBatch(() => [
        writer.appendIfStreamAt(setWise[0]!, one(), { streamId: other, version: 1n }),
        writer.appendIfStreamAt(setWise[1]!, one(), { streamId: other, version: 7n }),
        writer.appendIfStreamAt(setWise[2]!, one(), { streamId: watched, version: 2n }),
      ]);
      assert.deepEqual(
        answers.map((a) => (a === 'changed' ? a : 'appended')),
        ['appended', 'changed', 'appended'],
      );
      assert.deepEqual(await Promise.all(setWise.map(exists)), [true, false, true]);
    });

    it('with a condition on the log since a position: written together only when no matching event came after it', async () => {
      const prefix = `watched-${randomUUID()}-`;
      const since = await t.app.eventStore.appendToStream(`${prefix}a`, { kind: 'any' }, [
        { type: 't', data: { scope: 'x', n: 1 }, metadata: {} },
      ]);
      const unchanged = (scope: string, maxScan = 100) => ({ after: since.lastPosition, streamPrefix: prefix, data: { scope }, maxScan });
      const group = () => [`watch-${randomUUID()}`, `watch-${randomUUID()}`].map((streamId) => ({ streamId, events: one() }));
      await t.app.eventStore.appendToStream(`${prefix}b`, { kind: 'any' }, [{ type: 't', data: { scope: 'y' }, metadata: {} }]);
      await t.app.eventStore.appendToStream(`other-${randomUUID()}`, { kind: 'any' }, [{ type: 't', data: { scope: 'x' }, metadata: {} }]);
      // Only scope y changed after `since`, and only on the watched prefix.
      const x = group();
      assert.notEqual(await writer.appendEachIfUnchanged(x, unchanged('x')), 'changed');
      assert.deepEqual(await Promise.all(x.map((a) => exists(a.streamId))), [true, true]);
      const y = group();
      assert.equal(await writer.appendEachIfUnchanged(y, unchanged('y')), 'changed');
      assert.deepEqual(await Promise.all(y.map((a) => exists(a.streamId))), [false, false], 'nothing of the group written');
      // More events after the position than the check may read: it does not hold.
      assert.equal(await writer.appendEachIfUnchanged(group(), unchanged('x', 1)), 'changed');
      // In a shared batch, a matching event appended before the group counts (the loop); one after it does not.
      const [before, stale, after] = await inOneBatch<unknown>(() => [
        t.app.eventStore.appendToStream(`${prefix}c`, { kind: 'any' }, [{ type: 't', data: { scope: 'z' }, metadata: {} }]),
        writer.appendEachIfUnchanged(group(), unchanged('z')),
        writer.appendEachIfUnchanged(group(), unchanged('x')),
      ]);
      assert.equal((before as AppendResult).nextExpectedVersion, 1n);
      assert.equal(stale, 'changed');
      assert.notEqual(after, 'changed');
      const [refused] = await inOneBatch<unknown>(() => [
        writer.appendEachIfUnchanged(group(), unchanged('w')),
        t.app.eventStore.appendToStream(`${prefix}d`, { kind: 'any' }, [{ type: 't', data: { scope: 'w' }, metadata: {} }]),
      ]);
      assert.notEqual(refused, 'changed', 'the event after it in the batch is not before it in the log');
      // The scan's bound is the log's end before the batch, for every append of the group: at
      // exactly that bound, behind other appends of its batch (the loop), the whole group is written.
      const last = logPosition(await t.app.eventStore.logEnd()) - 1n;
      const exact = Number(last + 2n - logPosition(since.lastPosition)); // the blocker and the held append come first
      const whole = group();
      const [, atBound] = await inOneBatch<unknown>(() => [
        t.app.eventStore.appendToStream(`${prefix}e`, { kind: 'any' }, [{ type: 't', data: { scope: 'v' }, metadata: {} }]),
        writer.appendEachIfUnchanged(whole, unchanged('x', exact)),
      ]);
      assert.notEqual(atBound, 'changed');
      assert.deepEqual(await Promise.all(whole.map((a) => exists(a.streamId))), [true, true]);
    });
  });

  it('holds no connection between batches: a pool of one connection appends and reads', async () => {
    const one = await startTestApp({ DB_POOL_SIZE: '1' });
    try {
      const appended = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          one.app.eventStore.appendToStream(`one-${i}`, { kind: 'no_stream' }, [{ type: 't', data: { i }, metadata: {} }]),
        ),
      );
      const read = await one.app.eventStore.readAll(appended[0]!.firstPosition, 100, { eventTypes: [], streamIdPrefixes: [] });
      assert.equal(read.events.length, 20);
    } finally {
      await one.stop();
    }
  });
});
