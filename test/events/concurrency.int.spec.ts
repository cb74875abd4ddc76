import assert from 'node:assert/strict';
import { Code, ConnectError } from '@connectrpc/connect';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { exact, freshStream, proposed } from '../support/events.js';

describeOnEachListener('AppendToStream under concurrency', (listener) => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ DB_POOL_SIZE: '32' }, listener);
  });
  after(() => t.stop());

  it('of 50 concurrent appends with the same expected version exactly one succeeds, every round, leaving no version gap', async () => {
    const streamId = freshStream('race');
    const rounds = 20;
    for (let round = 0; round < rounds; round++) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          t.events.appendToStream({ streamId, expected: exact(round), events: [proposed({ data: { round, contender: i } })] }),
        ),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.equal(won.length, 1, `round ${round}: ${won.length} appends succeeded`);
      for (const { reason } of lost) {
        const error = ConnectError.from(reason);
        assert.equal(error.code, Code.Aborted, error.rawMessage);
        assert.match(error.rawMessage, new RegExp(`is at version ${round + 1}, expected version ${round}`));
      }
    }
    const read = await t.events.readStream({ streamId, limit: 1000 });
    assert.deepEqual(
      read.events.map((e) => e.version),
      Array.from({ length: rounds }, (_, i) => BigInt(i + 1)),
    );
    assert.deepEqual(
      read.events.map((e) => e.data?.round),
      Array.from({ length: rounds }, (_, i) => i),
    );
  });

  it('concurrent ANY appends to one stream all succeed with gap-free versions', async () => {
    const streamId = freshStream('any');
    await Promise.all(Array.from({ length: 40 }, () => t.events.appendToStream({ streamId, events: [proposed(), proposed()] })));
    const read = await t.events.readStream({ streamId, limit: 1000 });
    assert.deepEqual(
      read.events.map((e) => e.version),
      Array.from({ length: 80 }, (_, i) => BigInt(i + 1)),
    );
  });

  it('concurrent creators of one new stream: one NO_STREAM append wins', async () => {
    for (let round = 0; round < 10; round++) {
      const streamId = freshStream('create');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, () => t.events.appendToStream({ streamId, expected: exact(0), events: [proposed()] })),
      );
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      assert.equal((await t.events.getStreamInfo({ streamId })).version, 1n);
    }
  });

  it('concurrent retries of one batch write it once', async () => {
    const streamId = freshStream('retry');
    const events = [proposed({ eventId: crypto.randomUUID() }), proposed({ eventId: crypto.randomUUID() })];
    const results = await Promise.all(Array.from({ length: 20 }, () => t.events.appendToStream({ streamId, events })));
    for (const r of results) assert.deepEqual(r, results[0]);
    assert.equal((await t.events.getStreamInfo({ streamId })).version, 2n);
  });
});
