import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import type { ExpectedVersionKind } from '../../src/gen/auren/v1/events_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { any, eventually, exact, freshStream, holdAppends, noStream, proposed, rejectsWith, streamExists } from '../support/events.js';

describeOnEachListener('AppendToStream', (listener) => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ APPEND_MAX_EVENTS: '5', EVENT_MAX_BYTES: '2048' }, listener);
  });
  after(() => t.stop());

  const versionOf = async (streamId: string) => (await t.events.getStreamInfo({ streamId })).version;

  describe('expected version', () => {
    it('ANY appends to a new stream and to an existing one, versions starting at 1', async () => {
      const streamId = freshStream();
      const first = await t.events.appendToStream({ streamId, expected: any, events: [proposed()] });
      assert.equal(first.nextExpectedVersion, 1n);
      const second = await t.events.appendToStream({ streamId, expected: any, events: [proposed(), proposed()] });
      assert.equal(second.nextExpectedVersion, 3n);
      assert.equal(await versionOf(streamId), 3n);
    });

    it('an unset expected version behaves as ANY', async () => {
      const streamId = freshStream();
      await t.events.appendToStream({ streamId, events: [proposed()] });
      const again = await t.events.appendToStream({ streamId, events: [proposed()] });
      assert.equal(again.nextExpectedVersion, 2n);
    });

    it('NO_STREAM appends to a new stream and rejects an existing one, naming its version', async () => {
      const streamId = freshStream();
      await t.events.appendToStream({ streamId, expected: noStream, events: [proposed(), proposed()] });
      await rejectsWith(t.events.appendToStream({ streamId, expected: noStream, events: [proposed()] }), Code.Aborted, /is at version 2/);
      assert.equal(await versionOf(streamId), 2n);
    });

    it('STREAM_EXISTS rejects a new stream and appends to an existing one', async () => {
      const streamId = freshStream();
      await rejectsWith(
        t.events.appendToStream({ streamId, expected: streamExists, events: [proposed()] }),
        Code.Aborted,
        /is at version 0/,
      );
      assert.equal((await t.events.getStreamInfo({ streamId })).exists, false, 'a rejected append leaves no stream behind');
      await t.events.appendToStream({ streamId, events: [proposed()] });
      const result = await t.events.appendToStream({ streamId, expected: streamExists, events: [proposed()] });
      assert.equal(result.nextExpectedVersion, 2n);
    });

    it('EXACT appends at the right version and rejects a stale one, naming the actual version', async () => {
      const streamId = freshStream();
      await t.events.appendToStream({ streamId, expected: exact(0), events: [proposed()] });
      await t.events.appendToStream({ streamId, expected: exact(1), events: [proposed(), proposed(), proposed()] });
      await rejectsWith(
        t.events.appendToStream({ streamId, expected: exact(1), events: [proposed()] }),
        Code.Aborted,
        /is at version 4, expected version 1/,
      );
      await rejectsWith(t.events.appendToStream({ streamId, expected: exact(7), events: [proposed()] }), Code.Aborted, /is at version 4/);
      const next = await t.events.appendToStream({ streamId, expected: exact(4), events: [proposed()] });
      assert.equal(next.nextExpectedVersion, 5n);
    });

    it('EXACT 0 on a missing stream creates it; EXACT 3 on a missing stream is a conflict', async () => {
      await rejectsWith(
        t.events.appendToStream({ streamId: freshStream(), expected: exact(3), events: [proposed()] }),
        Code.Aborted,
        /is at version 0/,
      );
    });
  });

  describe('positions', () => {
    it('returns the first and last position, consecutive, each with commit = prepare (positions in commit order)', async () => {
      const r = await t.events.appendToStream({ streamId: freshStream(), events: [proposed(), proposed(), proposed()] });
      assert.ok(r.firstPosition && r.lastPosition);
      assert.equal(r.firstPosition.commit, r.firstPosition.prepare);
      assert.equal(r.lastPosition.commit, r.lastPosition.prepare);
      assert.equal(r.lastPosition.prepare - r.firstPosition.prepare, 2n);
    });

    it('a later append has a later position', async () => {
      const a = await t.events.appendToStream({ streamId: freshStream(), events: [proposed()] });
      const b = await t.events.appendToStream({ streamId: freshStream(), events: [proposed()] });
      assert.ok(b.firstPosition!.commit > a.lastPosition!.commit);
    });
  });

  describe('idempotent retry', () => {
    it('the same event ids again return the first result and write nothing', async () => {
      const streamId = freshStream();
      const events = [proposed({ eventId: randomUUID(), data: { a: 1 } }), proposed({ eventId: randomUUID(), data: { b: [1, 2] } })];
      const first = await t.events.appendToStream({ streamId, expected: noStream, events });
      const retry = await t.events.appendToStream({ streamId, expected: noStream, events });
      assert.deepEqual(retry, first);
      assert.equal(await versionOf(streamId), 2n);
      const read = await t.events.readStream({ streamId });
      assert.equal(read.events.length, 2);
    });

    it('a retry is recognised after later appends moved the stream on', async () => {
      const streamId = freshStream();
      const events = [proposed({ eventId: randomUUID() })];
      const first = await t.events.appendToStream({ streamId, expected: exact(0), events });
      await t.events.appendToStream({ streamId, events: [proposed()] });
      const retry = await t.events.appendToStream({ streamId, expected: exact(0), events });
      assert.equal(retry.nextExpectedVersion, first.nextExpectedVersion);
      assert.equal(await versionOf(streamId), 2n);
    });

    it('the same id with different content is ALREADY_EXISTS and writes nothing', async () => {
      const streamId = freshStream();
      const eventId = randomUUID();
      await t.events.appendToStream({ streamId, events: [proposed({ eventId, data: { a: 1 } })] });
      await rejectsWith(
        t.events.appendToStream({ streamId, events: [proposed({ eventId, data: { a: 2 } })] }),
        Code.AlreadyExists,
        new RegExp(eventId),
      );
      await rejectsWith(
        t.events.appendToStream({ streamId: freshStream(), events: [proposed({ eventId, data: { a: 1 } })] }),
        Code.AlreadyExists,
      );
      assert.equal(await versionOf(streamId), 1n);
    });

    it('a batch mixing a used id with new ones is ALREADY_EXISTS and writes none of it', async () => {
      const streamId = freshStream();
      const used = randomUUID();
      await t.events.appendToStream({ streamId, events: [proposed({ eventId: used })] });
      const fresh = randomUUID();
      await rejectsWith(
        t.events.appendToStream({ streamId, events: [proposed({ eventId: fresh }), proposed({ eventId: used })] }),
        Code.AlreadyExists,
      );
      await rejectsWith(t.events.getEvent({ eventId: fresh }), Code.NotFound);
    });

    it('event ids are matched without regard to letter case', async () => {
      const streamId = freshStream();
      const eventId = randomUUID();
      await t.events.appendToStream({ streamId, events: [proposed({ eventId })] });
      await t.events.appendToStream({ streamId, events: [proposed({ eventId: eventId.toUpperCase() })] });
      assert.equal(await versionOf(streamId), 1n);
    });
  });

  describe('deadlines', () => {
    it('an append still waiting when its 200 ms deadline passes is DEADLINE_EXCEEDED, stops waiting, and is never written', async () => {
      const streamId = freshStream('deadline');
      const eventId = randomUUID();
      const held = await holdAppends(t.databaseUrl);
      try {
        await rejectsWith(
          t.events.appendToStream({ streamId, events: [proposed({ eventId })] }, { timeoutMs: 200 }),
          Code.DeadlineExceeded,
        );
        // The server cancels the statement that waited for the lock rather than let it commit later.
        await eventually(async () => (await held.waiters()) === 0, 'the waiting append cancelled');
      } finally {
        await held.release();
      }
      await t.events.appendToStream({ streamId: freshStream(), events: [proposed()] });
      await rejectsWith(t.events.getEvent({ eventId }), Code.NotFound);
      assert.equal((await t.events.getStreamInfo({ streamId })).exists, false);
    });
  });

  describe('correlation and causation', () => {
    it('stores correlation and causation ids and metadata with the event', async () => {
      const streamId = freshStream();
      const eventId = randomUUID();
      await t.events.appendToStream({
        streamId,
        events: [proposed({ eventId, metadata: { agent: 'sleep' }, correlationId: 'conv-42', causationId: 'cmd-7' })],
      });
      const { event } = await t.events.getEvent({ eventId });
      assert.equal(event?.correlationId, 'conv-42');
      assert.equal(event?.causationId, 'cmd-7');
      // The service stamps who appended under the reserved key `auren` (test/auth/).
      const { auren, ...theirs } = event!.metadata!;
      assert.deepEqual(theirs, { agent: 'sleep' });
      assert.deepEqual((auren as { principal: { name: string } }).principal.name, 'test-admin');
      assert.equal(event?.streamId, streamId);
      assert.equal(event?.version, 1n);
    });
  });

  describe('bad input', () => {
    const rejected = async (request: Parameters<TestApp['events']['appendToStream']>[0], field: RegExp) => {
      const streamId = request.streamId ?? '';
      await rejectsWith(t.events.appendToStream(request), Code.InvalidArgument, field);
      if (streamId) assert.equal((await t.events.getStreamInfo({ streamId })).exists, false, 'nothing written');
    };

    it('rejects an empty stream id', () => rejected({ streamId: '', events: [proposed()] }, /^stream_id: must not be empty/));
    it('rejects an over-long stream id', () =>
      rejectsWith(
        t.events.appendToStream({ streamId: 'x'.repeat(201), events: [proposed()] }),
        Code.InvalidArgument,
        /^stream_id: expects at most 200/,
      ));
    it('rejects an empty event type', () =>
      rejected({ streamId: freshStream(), events: [proposed(), proposed({ type: '' })] }, /^events\[1\]\.type: must not be empty/));
    it('rejects an over-long event type', () =>
      rejected({ streamId: freshStream(), events: [proposed({ type: 't'.repeat(201) })] }, /^events\[0\]\.type: expects at most 200/));
    it('rejects zero events', () => rejected({ streamId: freshStream(), events: [] }, /^events: expects at least one event/));
    it('rejects more events than the configured limit', () =>
      rejected({ streamId: freshStream(), events: Array.from({ length: 6 }, () => proposed()) }, /^events: expects at most 5 events/));
    it('rejects a malformed event id', () =>
      rejected({ streamId: freshStream(), events: [proposed({ eventId: 'not-a-uuid' })] }, /^events\[0\]\.event_id: expects a UUID/));
    it('rejects an event id repeated within one batch', () => {
      const eventId = randomUUID();
      return rejected(
        { streamId: freshStream(), events: [proposed({ eventId }), proposed({ eventId })] },
        /^events\[1\]\.event_id: repeats events\[0\]/,
      );
    });
    it('rejects an event over the size limit', () =>
      rejected(
        { streamId: freshStream(), events: [proposed({ data: { text: 'x'.repeat(3000) } })] },
        /^events\[0\]\.data: .* over the limit of 2048/,
      ));
    it('rejects data holding a number JSON cannot represent', () =>
      rejected(
        { streamId: freshStream(), events: [proposed({ data: { score: Number.NaN } })] },
        /^events\[0\]\.data\.score: contains NaN/,
      ));
    it('rejects an unknown expected-version mode', () =>
      rejected(
        { streamId: freshStream(), expected: { kind: 9 as ExpectedVersionKind }, events: [proposed()] },
        /^expected\.kind: unknown expected-version mode 9/,
      ));
    it('rejects a message over the transport size limit with RESOURCE_EXHAUSTED', async () => {
      const big = await startTestApp({ MESSAGE_MAX_BYTES: '4096' }, listener);
      try {
        await rejectsWith(
          big.events.appendToStream({ streamId: freshStream(), events: [proposed({ data: { text: 'x'.repeat(8000) } })] }),
          Code.ResourceExhausted,
        );
      } finally {
        await big.stop();
      }
    });
    it('refuses streams reserved for MemoryService', () =>
      rejectsWith(
        t.events.appendToStream({ streamId: `memory-${randomUUID()}`, events: [proposed()] }),
        Code.InvalidArgument,
        /^stream_id: streams starting with 'memory-'/,
      ));
    it('a batch with one bad event writes none of the batch', async () => {
      const streamId = freshStream();
      await t.events.appendToStream({ streamId, events: [proposed()] });
      await rejectsWith(
        t.events.appendToStream({ streamId, events: [proposed(), proposed(), proposed({ type: '' })] }),
        Code.InvalidArgument,
        /events\[2\]\.type/,
      );
      assert.equal(await versionOf(streamId), 1n);
    });
  });
});
