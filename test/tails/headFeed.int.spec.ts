import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { toBinary } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import { EventSchema } from '../../src/gen/auren/v1/events_pb.js';
import type { Event, Position, SubscribeToAllResponse } from '../../src/gen/auren/v1/events_pb.js';
import { asStored } from '../../src/events/committed.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { any, eventually, exact, freshStream, noStream, proposed } from '../support/events.js';

// The log head publishes what its own process commits without reading it back
// (events/committed.ts): a live tail must get, byte for byte, what ReadAll gives for the same
// events — keys in jsonb's order, numbers, ids, versions, positions and times as stored.

// Documents whose key order and values jsonb changes or keeps: lengths before bytes, integer-like
// keys, multi-byte keys (byte order, not UTF-16 order), nesting, numbers jsonb stores as numeric.
const documents: JsonObject[] = [
  { zeta: 1, a: 2, mm: 3, bb: { yy: true, x: null, '': 'empty key' } },
  { '10': 'ten', '9': 'nine', b: [3, 2, { d: 1, c: 2 }], a: 'x' },
  { é: 1, z: 2, ö: 3, '\u{1f600}': 'emoji', '\uffff': 'last of the BMP', ab: 4 },
  { big: 1e21, small: 1e-7, third: 0.30000000000000004, negative: -12.5, max: Number.MAX_SAFE_INTEGER * 4 },
  { text: 'quote " backslash \\ newline \n tab \t <tag> & ünïcödé', nested: { deeper: { deepest: [[], {}, [{}]] } } },
];

describe('the log head fed from its own commits', () => {
  let t: TestApp;
  before(async () => {
    // A long poll: what the tail gets here comes from the commits (or their wake-ups), not a poll.
    t = await startTestApp({ TAIL_POLL_MS: '60000' }, 'GRPC_PORT');
  });
  after(() => t.stop());

  function subscribeFromEnd() {
    const controller = new AbortController();
    const tail = { events: [] as Event[], caughtUp: false, done: Promise.resolve(), cancel: () => controller.abort() };
    tail.done = (async () => {
      try {
        for await (const response of t.events.subscribeToAll({ from: { case: 'end', value: {} } }, { signal: controller.signal })) {
          const message = (response as SubscribeToAllResponse).message;
          if (message.case === 'event') tail.events.push(message.value);
          else if (message.case === 'caughtUp') tail.caughtUp = true;
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    })();
    return tail;
  }

  async function readFrom(after: Position | undefined): Promise<Event[]> {
    const events: Event[] = [];
    let fromPosition = after ? { commit: after.commit + 1n, prepare: after.prepare + 1n } : undefined;
    for (;;) {
      const page = await t.events.readAll({ fromPosition, limit: 1000 });
      events.push(...page.events);
      if (page.endOfLog) return events;
      fromPosition = page.nextPosition;
    }
  }

  it('gives a live tail exactly the bytes ReadAll gives, for batches with refused and duplicate appends among them', async () => {
    const end = (await t.events.readAll({ limit: 1000 })).events.at(-1)?.position;
    const tail = subscribeFromEnd();
    await eventually(() => tail.caughtUp, 'caught up');
    const readLog = t.app.eventStore.readLog.bind(t.app.eventStore);
    let reads = 0;
    t.app.eventStore.readLog = (...args) => {
      reads++;
      return readLog(...args);
    };

    const streams = Array.from({ length: 12 }, () => freshStream('feed'));
    const repeated = randomUUID();
    await t.events.appendToStream({ streamId: streams[0], expected: noStream, events: [proposed({ eventId: repeated })] });
    // Concurrent calls share batches: each one's events, refused ones and duplicates among them
    // (a batch with a duplicate takes append_batch's loop, the others its set-wise statement).
    const duplicates = Array.from({ length: 4 }, () =>
      t.events.appendToStream({ streamId: streams[0], expected: any, events: [proposed({ eventId: repeated })] }),
    );
    const outcomes = await Promise.allSettled(
      streams.flatMap((streamId, i) => [
        t.events.appendToStream({
          streamId,
          expected: any,
          events: documents.slice(0, 1 + (i % documents.length)).map((data, k) =>
            proposed({
              type: `feed_${k}`,
              data,
              metadata: { ...documents[(i + k) % documents.length], step: i },
              correlationId: i % 2 ? `corr-${i}` : '',
              causationId: i % 3 ? '' : `cause-${i}`,
            }),
          ),
        }),
        t.events.appendToStream({ streamId, expected: exact(999), events: [proposed()] }),
      ]),
    );
    assert.equal(outcomes.filter((o) => o.status === 'rejected').length, streams.length, 'every wrong expected version refused');
    for (const duplicate of await Promise.all(duplicates))
      assert.equal(duplicate.nextExpectedVersion, 1n, 'the repeated event is a duplicate');

    const stored = await readFrom(end);
    await eventually(() => tail.events.length >= stored.length, 'the tail has every event');
    tail.cancel();
    await tail.done;
    assert.equal(tail.events.length, stored.length);
    assert.ok(stored.length > streams.length);
    tail.events.forEach((event, i) => {
      assert.deepEqual(
        Buffer.from(toBinary(EventSchema, event)),
        Buffer.from(toBinary(EventSchema, stored[i]!)),
        `event ${i} (${stored[i]!.streamId} v${stored[i]!.version}) is the same on the tail as read back`,
      );
    });
    // The head had every event of these commits from the commits themselves.
    assert.equal(reads, 0, 'the head read nothing back');
  });

  it('orders keys as jsonb does, whatever order they came in', () => {
    assert.deepEqual(Object.keys(asStored({ bbb: 1, a: 2, cc: 3, ab: 4 }) as JsonObject), ['a', 'ab', 'cc', 'bbb']);
    // Bytes, not UTF-16 units: U+FFFF (3 bytes) sorts after U+1F600 (4 bytes) only by length.
    assert.deepEqual(Object.keys(asStored({ '\u{1f600}': 1, '\uffff': 2, é: 3, z: 4 }) as JsonObject), ['z', 'é', '\uffff', '\u{1f600}']);
  });
});
