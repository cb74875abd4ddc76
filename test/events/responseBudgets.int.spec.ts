import assert from 'node:assert/strict';
import { Code } from '@connectrpc/connect';
import type { Position } from '../../src/gen/auren/v1/events_pb.js';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream, rejectsWith } from '../support/events.js';

// Every page stops at a byte budget as well as at its count, and says where to continue: a
// page of large documents never becomes a message no client accepts (most refuse over 4 MiB),
// nor a burst of the service's memory. Tails read behind the window a bounded page at a time,
// and their number is capped.

const BUDGET = 65_536;
// ~20 KB of JSON text: three fit in a page of 64 KiB, a fourth does not.
const document = (i: number) => ({ i, text: 'x'.repeat(20_000) });
const perPage = 3;

describe('Response byte budgets', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => (t = await startTestApp({ RESPONSE_MAX_BYTES: String(BUDGET), TAIL_PAGE_MAX_BYTES: '40000', MAX_TAILS: '2' })));
  after(() => t.stop());
  const as = (agent: string) => t.as(agent);

  it('ReadStream pages stop at the budget, forwards and backwards, and continue to the end', async () => {
    const streamId = freshStream('budget');
    await t.events.appendToStream({ streamId, events: Array.from({ length: 10 }, (_, i) => ({ type: 'big', data: document(i) })) });
    const seen: number[] = [];
    for (let from = 0n; ; ) {
      const page = await t.events.readStream({ streamId, fromVersion: from, limit: 100 });
      assert.ok(page.events.length <= perPage, `${page.events.length} events in a page`);
      seen.push(...page.events.map((e) => Number((e.data as { i: number }).i)));
      if (page.endOfStream) break;
      from = page.events.at(-1)!.version + 1n;
    }
    assert.deepEqual(seen, [...Array(10).keys()]);
    const backwards = await t.events.readStream({ streamId, fromVersion: 0n, limit: 100, direction: 2 });
    assert.equal(backwards.events.length, perPage);
    assert.equal(backwards.endOfStream, false);
    assert.equal(backwards.events[0]!.version, 10n);
  });

  it('ReadAll pages stop at the budget and their next position reads on, each event once', async () => {
    const streamId = freshStream('budget-all');
    await t.events.appendToStream({ streamId, events: Array.from({ length: 10 }, (_, i) => ({ type: 'big', data: document(i) })) });
    const seen: string[] = [];
    let fromPosition: Position | undefined;
    let pages = 0;
    for (;;) {
      const page = await t.events.readAll({ fromPosition, limit: 1000 });
      pages++;
      assert.ok(page.events.length <= perPage || page.events.every((e) => e.streamId !== streamId));
      seen.push(...page.events.filter((e) => e.streamId === streamId).map((e) => e.eventId));
      if (page.endOfLog) break;
      fromPosition = page.nextPosition;
    }
    assert.equal(seen.length, 10);
    assert.equal(new Set(seen).size, 10);
    assert.ok(pages >= 4, `${pages} pages`);
  });

  it('an event larger than the budget comes alone in its page', async () => {
    const streamId = freshStream('budget-huge');
    await t.events.appendToStream({
      streamId,
      events: [
        { type: 'huge', data: { text: 'y'.repeat(100_000) } },
        { type: 'small', data: { n: 1 } },
      ],
    });
    const first = await t.events.readStream({ streamId, fromVersion: 0n, limit: 100 });
    assert.deepEqual(
      first.events.map((e) => e.type),
      ['huge'],
    );
    assert.equal(first.endOfStream, false);
    const second = await t.events.readStream({ streamId, fromVersion: 2n, limit: 100 });
    assert.deepEqual(
      second.events.map((e) => e.type),
      ['small'],
    );
    assert.equal(second.endOfStream, true);
  });

  it('ListMemories pages stop at the budget and their tokens continue to the last memory', async () => {
    const agentId = `budget-agent-${Date.now()}`;
    for (let i = 0; i < 8; i++) {
      await t.memory.storeMemory({ agentId, userId: 'budget-person', type: MemoryType.FACT, content: document(i) }, as(agentId));
    }
    const ids: string[] = [];
    let pageToken = '';
    do {
      const page = await t.memory.listMemories({ agentId, pageSize: 100, pageToken }, as(agentId));
      assert.ok(page.memories.length <= perPage, `${page.memories.length} memories in a page`);
      ids.push(...page.memories.map((m) => m.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.equal(new Set(ids).size, 8);
  });

  it("GetMemoryHistory pages a memory's changes by count and by bytes", async () => {
    const agentId = `budget-history-${Date.now()}`;
    const { memory } = await t.memory.storeMemory(
      { agentId, userId: 'budget-person', type: MemoryType.FACT, content: document(0) },
      as(agentId),
    );
    for (let i = 1; i < 7; i++) await t.memory.updateMemory({ id: memory!.id, content: document(i) }, as(agentId));
    const types: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await t.memory.getMemoryHistory({ id: memory!.id, pageToken }, as(agentId));
      assert.ok(page.events.length <= perPage, `${page.events.length} events in a page`);
      types.push(...page.events.map((e) => e.type));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    assert.deepEqual(types, ['memory_created', ...Array(6).fill('memory_updated')]);
    assert.ok(pages >= 3);
    const small = await t.memory.getMemoryHistory({ id: memory!.id, pageSize: 1 }, as(agentId));
    assert.equal(small.events.length, 1);
    assert.notEqual(small.nextPageToken, '');
  });

  it('ListAuditTrail pages stop at the budget and continue', async () => {
    const userId = `budget-trail-${Date.now()}`;
    for (let i = 0; i < 5; i++) {
      await t.memory.storeMemory({ agentId: 'trail-agent', userId, type: MemoryType.FACT, content: document(i) }, as('trail-agent'));
    }
    let count = 0;
    let pageToken = '';
    do {
      const page = await t.memory.listAuditTrail({ userId, pageSize: 100, pageToken });
      assert.ok(page.events.length <= perPage);
      count += page.events.length;
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.equal(count, 5);
  });

  it('a tail behind the window reads a bounded page at a time and delivers every event in order', async () => {
    const streamId = freshStream('budget-tail');
    await t.events.appendToStream({ streamId, events: Array.from({ length: 12 }, (_, i) => ({ type: 'big', data: document(i) })) });
    const controller = new AbortController();
    const seen: number[] = [];
    for await (const response of t.events.subscribeToStream({ streamId }, { signal: controller.signal })) {
      if (response.message.case === 'event') seen.push(Number((response.message.value.data as { i: number }).i));
      if (response.message.case === 'caughtUp') break;
    }
    controller.abort();
    assert.deepEqual(seen, [...Array(12).keys()]);
  });

  it('refuses a tail beyond MAX_TAILS with RESOURCE_EXHAUSTED, and takes one again when another ends', async () => {
    const controllers = [new AbortController(), new AbortController()];
    const open = controllers.map(async (controller) => {
      try {
        for await (const _ of t.events.subscribeToAll({ from: { case: 'end', value: {} } }, { signal: controller.signal })) void _;
      } catch {
        // ended by the abort
      }
    });
    await eventually(() => t.app.subscriptions.active() === 2);
    const third = async () => {
      for await (const _ of t.events.subscribeToAll({ from: { case: 'end', value: {} } })) return;
    };
    const refused = await rejectsWith(third(), Code.ResourceExhausted, /MAX_TAILS/);
    assert.ok(refused);
    controllers[0]!.abort();
    await eventually(() => t.app.subscriptions.active() === 1);
    await third();
    controllers[1]!.abort();
    await Promise.all(open);
  });
});

describe('Calls per key', function () {
  this.timeout(30_000);
  let t: TestApp;
  before(async () => (t = await startTestApp({ MAX_CALLS_PER_KEY: '2' })));
  after(() => t.stop());

  it('refuses a key its call beyond MAX_CALLS_PER_KEY with RESOURCE_EXHAUSTED; other keys are served; an ended call frees its place', async () => {
    const controllers = [new AbortController(), new AbortController()];
    const open = controllers.map(async (controller) => {
      try {
        for await (const _ of t.events.subscribeToAll({ from: { case: 'end', value: {} } }, { signal: controller.signal })) void _;
      } catch {
        // ended by the abort
      }
    });
    await eventually(() => t.app.subscriptions.active() === 2);
    await rejectsWith(t.events.getStreamInfo({ streamId: 'per-key' }), Code.ResourceExhausted, /MAX_CALLS_PER_KEY/);
    // Another key is not held back by this one.
    await t.memory.listMemories({ agentId: 'per-key-agent' }, t.as('per-key-agent'));
    controllers[0]!.abort();
    await Promise.all([open[0]]);
    let served = false;
    for (let i = 0; i < 100 && !served; i++) {
      served = await t.events.getStreamInfo({ streamId: 'per-key' }).then(
        () => true,
        () => false,
      );
      if (!served) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(served, 'the key is served again once one of its calls ended');
    controllers[1]!.abort();
    await Promise.all(open);
  });
});

async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check());
}
