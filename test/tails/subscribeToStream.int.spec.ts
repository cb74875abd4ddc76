import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Event } from '../../src/gen/auren/v1/events_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream, proposed, rejectsWith } from '../support/events.js';
import { Code, ConnectError } from '@connectrpc/connect';

describeOnEachListener('SubscribeToStream', (listener) => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ TAIL_PAGE_SIZE: '7' }, listener);
  });
  after(() => t.stop());

  function follow(streamId: string, fromVersion = 0n) {
    const controller = new AbortController();
    const state = {
      events: [] as Event[],
      caughtUpAt: undefined as bigint | undefined,
      cancel: () => controller.abort(),
      done: Promise.resolve(),
    };
    state.done = (async () => {
      try {
        for await (const response of t.events.subscribeToStream({ streamId, fromVersion }, { signal: controller.signal })) {
          if (response.message.case === 'event') state.events.push(response.message.value);
          else if (response.message.case === 'caughtUp') state.caughtUpAt = response.message.value.version;
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    })();
    return state;
  }

  async function eventually(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) assert.fail(`${what} not reached in time`);
      await sleep(10);
    }
  }

  it('sends the stream after a version, marks caught-up with the version, then follows live in version order', async () => {
    const streamId = freshStream('follow');
    for (let i = 1; i <= 20; i++) await t.events.appendToStream({ streamId, events: [proposed({ data: { i } })] });
    await t.events.appendToStream({ streamId: freshStream('other'), events: [proposed()] });
    const tail = follow(streamId, 5n);
    await eventually(() => tail.caughtUpAt !== undefined, 'caught up');
    assert.equal(tail.caughtUpAt, 20n);
    assert.deepEqual(
      tail.events.map((e) => e.version),
      Array.from({ length: 15 }, (_, i) => BigInt(i + 6)),
    );
    await Promise.all(Array.from({ length: 10 }, () => t.events.appendToStream({ streamId, events: [proposed(), proposed()] })));
    await eventually(() => tail.events.length === 35, 'live events');
    assert.deepEqual(
      tail.events.map((e) => e.version),
      Array.from({ length: 35 }, (_, i) => BigInt(i + 6)),
    );
    assert.ok(tail.events.every((e) => e.streamId === streamId));
    tail.cancel();
    await tail.done;
  });

  it('waits for a stream that does not exist yet', async () => {
    const streamId = freshStream('later');
    const tail = follow(streamId);
    await eventually(() => tail.caughtUpAt === 0n, 'caught up on the empty stream');
    await t.events.appendToStream({ streamId, events: [proposed(), proposed()] });
    await eventually(() => tail.events.length === 2, 'events of the new stream');
    tail.cancel();
    await tail.done;
  });

  it('rejects an empty stream id', async () => {
    const call = (async () => {
      for await (const _ of t.events.subscribeToStream({ streamId: '' })) void _;
    })();
    await rejectsWith(call, Code.InvalidArgument, /^stream_id/);
  });

  it('ends live tails with UNAVAILABLE when the server stops, so clients resume', async () => {
    const own = await startTestApp({}, listener);
    const streamId = freshStream('stop');
    let error: unknown;
    const tail = (async () => {
      try {
        for await (const _ of own.events.subscribeToStream({ streamId })) void _;
      } catch (e) {
        error = e;
      }
    })();
    await eventually(() => own.app.subscriptions.active() === 1, 'subscribed');
    await own.stop();
    await tail;
    const ended = ConnectError.from(error);
    assert.equal(Code[ended.code], Code[Code.Unavailable]);
    assert.match(ended.rawMessage, /shutting down; subscribe again from the last position received/);
  });
});
