import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import pg from 'pg';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import type { Memory } from '../../src/gen/auren/v1/memory_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';

// Every collaboration list stays within the response budget: a page stops at its count or at
// RESPONSE_MAX_BYTES of its rows' documents, and its next_page_token reads on to the end, each
// row once and in the list's order; GetSharedContext, which has no next page, says it was cut.
// ListConversationTurns reads a person's turns back by conversation, agent and time, audited.

const BUDGET = 65_536;
// ~20 KB of JSON text: three fit in a page of 64 KiB, a fourth does not.
const big = (i: number) => ({ i, text: 'x'.repeat(20_000) });
const PER_PAGE = 3;

/** Every page of a list, followed through its tokens. */
async function allPages<T>(page: (token: string) => Promise<{ items: T[]; next: string }>): Promise<T[][]> {
  const pages: T[][] = [];
  let token = '';
  do {
    const { items, next } = await page(token);
    pages.push(items);
    token = next;
    assert.ok(pages.length < 50, 'the tokens end');
  } while (token);
  return pages;
}

describeOnEachListener('Collaboration lists page within the response budget', (listener) => {
  let t: TestApp;
  let db: pg.Client;
  before(async () => {
    t = await startTestApp({ RESPONSE_MAX_BYTES: String(BUDGET) }, listener);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const checkPages = <T>(pages: T[][], expected: number) => {
    for (const page of pages) assert.ok(page.length <= PER_PAGE, `${page.length} rows in a page`);
    assert.equal(pages.flat().length, expected);
    assert.ok(pages.length >= Math.ceil(expected / PER_PAGE), `${pages.length} pages`);
  };

  it('ListPendingHandoffs: oldest first, by bytes and by count, each handoff once', async () => {
    const user = `user_${randomUUID().slice(0, 8)}`;
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { handoff } = await t.memory.handoffAgent({
        userId: user,
        fromAgent: 'sleep_agent',
        toAgent: 'coach',
        topic: `t${i}`,
        context: big(i),
      });
      made.push(handoff!.id);
    }
    const pages = await allPages(async (pageToken) => {
      const page = await t.memory.listPendingHandoffs({ agentId: 'coach', userId: user, limit: 100, pageToken });
      return { items: page.handoffs.map((h) => h.id), next: page.nextPageToken };
    });
    checkPages(pages, 7);
    assert.deepEqual(pages.flat(), made);
    const pairs = await allPages(async (pageToken) => {
      const page = await t.memory.listPendingHandoffs({ agentId: 'coach', userId: user, limit: 2, pageToken });
      assert.ok(page.handoffs.length <= 2);
      return { items: page.handoffs.map((h) => h.id), next: page.nextPageToken };
    });
    assert.deepEqual(pairs.flat(), made);
    assert.equal(pairs.length, 4);
  });

  it('ListHypotheses: newest formed first, each once', async () => {
    const user = `user_${randomUUID().slice(0, 8)}`;
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { hypothesis } = await t.memory.recordHypothesis({
        agentId: 'sleep_agent',
        userId: user,
        statement: `h${i}`,
        confidence: 0.5,
        evidence: big(i),
      });
      made.push(hypothesis!.id);
    }
    const pages = await allPages(async (pageToken) => {
      const page = await t.memory.listHypotheses({ userId: user, limit: 100, pageToken });
      return { items: page.hypotheses.map((h) => h.id), next: page.nextPageToken };
    });
    checkPages(pages, 7);
    assert.deepEqual(pages.flat(), made.reverse());
  });

  it('ListKnowledge: most confident first, then newest, each once across equal confidences', async () => {
    const agentId = `expert-${randomUUID().slice(0, 8)}`;
    const made: { id: string; confidence: number }[] = [];
    for (let i = 0; i < 8; i++) {
      const confidence = [0.9, 0.5, 0.5, 0.5, 0.3, 0.9, 0.5, 0.1][i]!;
      const { knowledge } = await t.memory.addKnowledge({ agentId, domain: 'hrv', knowledgeType: 'rule', content: big(i), confidence });
      made.push({ id: knowledge!.id, confidence });
    }
    const pages = await allPages(async (pageToken) => {
      const page = await t.memory.listKnowledge({ agentId, limit: 100, pageToken });
      return { items: page.items.map((k) => k.id), next: page.nextPageToken };
    });
    checkPages(pages, 8);
    // Newest first among equals: the later of two made with the same confidence comes first.
    const expected = made
      .map((k, i) => ({ ...k, i }))
      .sort((a, b) => b.confidence - a.confidence || b.i - a.i)
      .map((k) => k.id);
    assert.deepEqual(pages.flat(), expected);
    const ones = await allPages(async (pageToken) => {
      const page = await t.memory.listKnowledge({ agentId, limit: 1, pageToken, minConfidence: 0.5 });
      return { items: page.items.map((k) => k.id), next: page.nextPageToken };
    });
    assert.deepEqual(ones.flat(), expected.slice(0, 6));
  });

  it('ListBiometricReadings: oldest measurement first, each once', async () => {
    const user = `user_${randomUUID().slice(0, 8)}`;
    const start = Date.parse('2026-01-01T00:00:00Z');
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      // Two readings at each time: the id orders them, and a page boundary between them loses neither.
      const { reading } = await t.memory.recordBiometricReading({
        userId: user,
        source: 'healthkit',
        data: big(i),
        measuredAt: timestampFromMs(start + Math.floor(i / 2) * 60_000),
      });
      made.push(reading!.id);
    }
    const pages = await allPages(async (pageToken) => {
      const page = await t.memory.listBiometricReadings({ userId: user, limit: 100, pageToken });
      return { items: page.readings.map((r) => r.id), next: page.nextPageToken };
    });
    checkPages(pages, 7);
    const byTime = (ids: string[]) => ids.map((id) => made.indexOf(id)).map((i) => Math.floor(i / 2));
    assert.deepEqual(byTime(pages.flat()), [0, 0, 1, 1, 2, 2, 3]);
    assert.equal(new Set(pages.flat()).size, 7);
  });

  it('GetSharedContext is cut at the budget in its order (decisions, then agents by id, newest first) and says so', async () => {
    const user = `user_${randomUUID().slice(0, 8)}`;
    const store = async (agentId: string, i: number, type = MemoryType.INSIGHT) =>
      (await t.memory.storeMemory({ agentId, userId: user, type, content: big(i), confidence: 0.9 })).memory!;
    const a = [await store('agent-a', 0), await store('agent-a', 1, MemoryType.DECISION)];
    const b = [await store('agent-b', 2), await store('agent-b', 3)];
    await store('asker', 4);
    const context = await t.memory.getSharedContext({ userId: user, requestingAgent: 'asker' });
    assert.equal(context.truncated, true);
    // The whole answer's order: the decision, a's memories newest first, then b's.
    const whole = [a[1]!, a[1]!, a[0]!, b[1]!, b[0]!].map((m) => m.id);
    const kept = [...context.recentDecisions, ...context.agents.flatMap((x) => x.memories)].map((m: Memory) => m.id);
    assert.deepEqual(kept, whole.slice(0, PER_PAGE));
    assert.deepEqual(
      context.agents.map((x) => x.agentId),
      ['agent-a', 'agent-b'],
      'every agent is listed, the one cut off with no memories',
    );
    const small = await t.memory.getSharedContext({ userId: user, requestingAgent: 'asker', memoriesPerAgent: 1, decisionsLimit: 1 });
    assert.equal(small.truncated, false);
    assert.deepEqual(
      small.agents.map((x) => x.memories.map((m) => m.id)),
      [[a[1]!.id], [b[1]!.id]],
    );
  });
});

describeOnEachListener('ListConversationTurns', (listener) => {
  let t: TestApp;
  let db: pg.Client;
  const user = `user_${randomUUID().slice(0, 8)}`;
  const first = randomUUID();
  let second: string;
  // The turns in the order they were recorded: [conversation, agent, id].
  const turns: { conversationId: string; agentId: string; id: string; at: number }[] = [];
  before(async () => {
    t = await startTestApp({ RESPONSE_MAX_BYTES: String(BUDGET) }, listener);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    const record = async (conversationId: string, agentId: string, i: number) => {
      const { turn } = await t.memory.recordConversationTurn(
        { conversationId, agentId, userId: user, messageContext: { said: `turn ${i}`, ...(i === 3 ? big(i) : {}) }, insights: [{ i }] },
        t.as(agentId),
      );
      turns.push({
        conversationId: turn!.conversationId,
        agentId,
        id: turn!.id,
        at: Number(turn!.createdAt!.seconds) * 1000 + turn!.createdAt!.nanos / 1e6,
      });
      return turn!.conversationId;
    };
    await record(first, 'sleep_agent', 0);
    await record(first, 'nutritionist', 1);
    second = await record('', 'sleep_agent', 2);
    await record(first, 'sleep_agent', 3);
    await record(second, 'nutritionist', 4);
    await record(first, 'nutritionist', 5);
    // Someone else's turn in the same conversation id is never theirs.
    await t.memory.recordConversationTurn({
      conversationId: first,
      agentId: 'sleep_agent',
      userId: 'someone_else',
      messageContext: { x: 1 },
    });
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const ids = (filter: (turn: (typeof turns)[number]) => boolean) => turns.filter(filter).map((turn) => turn.id);
  async function list(request: Parameters<TestApp['memory']['listConversationTurns']>[0], pageSize = 2) {
    const pages = await allPages(async (pageToken) => {
      const page = await t.memory.listConversationTurns({ userId: user, pageSize, ...request, pageToken });
      assert.ok(page.turns.every((turn) => turn.userId === user));
      return { items: page.turns.map((turn) => turn.id), next: page.nextPageToken };
    });
    return pages.flat();
  }

  it("reads a person's turns in time order, either way, a page at a time", async () => {
    assert.deepEqual(
      await list({}),
      ids(() => true),
    );
    assert.deepEqual(await list({ newestFirst: true }), ids(() => true).reverse());
    assert.deepEqual(
      await list({}, 100),
      ids(() => true),
    );
    const page = await t.memory.listConversationTurns({ userId: user });
    assert.equal(page.turns.length, 6);
    assert.deepEqual(page.turns[1]!.insights, [{ i: 1 }]);
    assert.equal(page.turns[0]!.messageContext!.said, 'turn 0');
  });

  it('filters by conversation, by agent and by time range', async () => {
    assert.deepEqual(
      await list({ conversationId: first }),
      ids((turn) => turn.conversationId === first),
    );
    assert.deepEqual(await list({ conversationId: second, newestFirst: true }), ids((turn) => turn.conversationId === second).reverse());
    assert.deepEqual(
      await list({ agentId: 'nutritionist' }),
      ids((turn) => turn.agentId === 'nutritionist'),
    );
    const from = turns[2]!.at;
    const to = turns[4]!.at;
    assert.deepEqual(
      await list({ from: timestampFromMs(from), to: timestampFromMs(to) }),
      ids((turn) => turn.at >= from && turn.at < to),
    );
  });

  it("an agent key without memory:shared reads only its own agent's turns", async () => {
    const page = await t.memory.listConversationTurns({ userId: user, conversationId: first }, t.as('sleep_agent'));
    assert.deepEqual(
      page.turns.map((turn) => turn.id),
      ids((turn) => turn.conversationId === first && turn.agentId === 'sleep_agent'),
    );
  });

  it("records each read on the person's access stream, naming the turns returned", async () => {
    const page = await t.memory.listConversationTurns({ userId: user, conversationId: second }, t.as('nutritionist'));
    const { rows } = await db.query(
      `select data from events where stream_id = $1 and type = 'data_accessed' and data->>'operation' = 'list_conversation_turns' order by position desc limit 1`,
      [`access-${user}`],
    );
    assert.equal(rows.length, 1, 'the read is recorded before the answer');
    assert.deepEqual(
      rows[0].data.turn_ids,
      page.turns.map((turn) => turn.id),
    );
    assert.equal(rows[0].data.query.agent_id, 'nutritionist');
    assert.equal(rows[0].data.query.conversation_id, second);
  });
});
