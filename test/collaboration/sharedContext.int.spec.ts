import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import pg from 'pg';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';

// What GetSharedContext finds: the agents from the data, whatever their names; only live
// memories (a deleted or expired one is gone, and an agent with only such memories too);
// thresholds and counts as asked; other people's memories never.

describe('GetSharedContext', () => {
  let t: TestApp;
  let db: pg.Client;
  before(async () => {
    t = await startTestApp();
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const store = async (agentId: string, userId: string, confidence: number, type = MemoryType.INSIGHT, expiresAt?: number) =>
    (
      await t.memory.storeMemory({
        agentId,
        userId,
        type,
        content: { text: `${agentId} ${confidence}` },
        confidence,
        ...(expiresAt === undefined ? {} : { expiresAt: timestampFromMs(expiresAt) }),
      })
    ).memory!;

  it('finds the agents from the data, lists only live memories and only the person asked about', async () => {
    const user = `user_${randomUUID()}`;
    const other = `user_${randomUUID()}`;
    const [a, b, c, gone] = ['a', 'b', 'c', 'gone'].map((n) => `agent-${n}-${randomUUID().slice(0, 6)}`) as [
      string,
      string,
      string,
      string,
    ];
    const a1 = await store(a, user, 0.9);
    const a2 = await store(a, user, 0.95, MemoryType.DECISION);
    const aLow = await store(a, user, 0.5);
    const b1 = await store(b, user, 0.8);
    const bDeleted = await store(b, user, 0.99);
    await t.memory.deleteMemory({ id: bDeleted.id, reason: 'wrong person' });
    const goneOnly = await store(gone, user, 0.9);
    await t.memory.deleteMemory({ id: goneOnly.id });
    await store(b, other, 0.99);
    const mine = await store(c, user, 0.99);
    const expiring = await store(a, user, 0.99, MemoryType.FACT, Date.now() + 1500);
    await new Promise((resolve) => setTimeout(resolve, 1600));

    const context = await t.memory.getSharedContext({ userId: user, requestingAgent: c });
    assert.deepEqual(
      context.agents.map((x) => [x.agentId, x.memories.map((m) => m.id)]),
      [
        [a, [a2.id, a1.id]],
        [b, [b1.id]],
      ],
    );
    assert.deepEqual(
      context.recentDecisions.map((m) => m.id),
      [a2.id],
    );
    const all = await t.memory.getSharedContext({ userId: user, requestingAgent: c, minConfidence: 0, memoriesPerAgent: 2 });
    assert.deepEqual(
      all.agents.map((x) => [x.agentId, x.memories.map((m) => m.id)]),
      [
        [a, [aLow.id, a2.id]],
        [b, [b1.id]],
      ],
    );
    const listed = new Set([...all.agents.flatMap((x) => x.memories), ...all.recentDecisions].map((m) => m.id));
    assert.ok(![mine.id, expiring.id, bDeleted.id].some((id) => listed.has(id)), 'its own, the expired and the deleted are left out');
    // An agent asking sees everyone else, itself left out.
    const fromA = await t.memory.getSharedContext({ userId: user, requestingAgent: a });
    assert.deepEqual(
      fromA.agents.map((x) => x.agentId),
      [b, c],
    );
  });
});
