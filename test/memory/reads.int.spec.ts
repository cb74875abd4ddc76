import { memoryLimits } from '../../src/app.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { MemoryNotFound, SearchModeUnavailable } from '../../src/memory/errors.js';
import { createMemoryReads } from '../../src/memory/reads.js';
import type { MemoryReads } from '../../src/memory/reads.js';
import type { Memory } from '../../src/memory/model.js';
import { openPool } from '../../src/db/pool.js';
import { accessStream } from '../../src/memory/model.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { insertMemories, rejectsInvalid, serviceCaller } from '../support/memories.js';

const caller = serviceCaller('agent-reader');
const ids = (memories: Memory[]): string[] => memories.map((m) => m.id);
/** An ISO time `s` seconds into 2024. */
const at = (s: number): string => new Date(Date.UTC(2024, 0, 1) + s * 1000).toISOString();
const PAST = '2024-01-01T00:00:00Z';

describe('Memory reads', () => {
  let t: TestApp;
  let reads: MemoryReads;
  before(async () => {
    t = await startTestApp();
    reads = createMemoryReads({
      pool: t.app.pool,
      writer: t.app.memoryStreams,
      tokens: t.app.pageTokens,
      limits: memoryLimits(loadConfig({})),
    });
  });
  after(() => t.stop());

  describe('GetMemory', () => {
    it('returns a memory by id', async () => {
      const [id] = await insertMemories(t.app.pool, [{ agentId: 'agent-get', content: { text: 'hello' }, confidence: 0.25 }]);
      const memory = await reads.getMemory(caller, id!.toUpperCase(), false);
      assert.equal(memory.id, id);
      assert.deepEqual(memory.content, { text: 'hello' });
      assert.equal(memory.confidence, 0.25);
      assert.equal(memory.expired, false);
      assert.equal(memory.deleted, false);
    });

    it('refuses a malformed id', async () => {
      await rejectsInvalid(reads.getMemory(caller, 'not-a-uuid', false), 'id');
    });

    it('says not found for an unknown or a deleted memory', async () => {
      const [deleted] = await insertMemories(t.app.pool, [{ deletedAt: PAST }]);
      await assert.rejects(reads.getMemory(caller, randomUUID(), true), MemoryNotFound);
      await assert.rejects(reads.getMemory(caller, deleted!, true), MemoryNotFound);
    });

    it('hides an expired memory unless asked for it, whether or not the sweeper recorded the expiry', async () => {
      const [due, swept] = await insertMemories(t.app.pool, [{ expiresAt: PAST }, { expiresAt: PAST, expiredAt: PAST }]);
      for (const id of [due!, swept!]) {
        await assert.rejects(reads.getMemory(caller, id, false), MemoryNotFound);
        const memory = await reads.getMemory(caller, id, true);
        assert.equal(memory.expired, true);
      }
    });
  });

  describe('GetMemory, many at once', () => {
    it('reads concurrent gets in shared statements, each with its own answer and its own access record', async () => {
      const user = `user-${randomUUID()}`;
      const live = await insertMemories(
        t.app.pool,
        Array.from({ length: 24 }, (_, i) => ({ agentId: 'agent-many', userId: user, content: { n: i } })),
      );
      const [deleted, expired] = await insertMemories(t.app.pool, [{ deletedAt: PAST }, { expiresAt: PAST }]);
      // The memories' reads, through a pool of their own that counts their select statements.
      const statements: number[] = [];
      const counted = await openPool({
        url: t.databaseUrl,
        maximumPoolSize: 2,
        interceptors: [
          {
            name: 'count-gets',
            beforeQueryExecution(_context, query) {
              if (query.sql.includes('from memories where id = any')) statements.push((query.values[0] as string[]).length);
              return null;
            },
          },
        ],
      });
      try {
        const shared = createMemoryReads({
          pool: counted,
          writer: t.app.memoryStreams,
          tokens: t.app.pageTokens,
          limits: memoryLimits(loadConfig({})),
        });
        const asked = [...live, randomUUID(), deleted!, expired!, ...live.slice(0, 4)];
        const answers = await Promise.allSettled(asked.map((id) => shared.getMemory(caller, id, false)));
        answers.forEach((answer, i) => {
          if (i < live.length || i >= live.length + 3) {
            assert.equal(answer.status, 'fulfilled', `read ${i}`);
            assert.equal((answer as PromiseFulfilledResult<Memory>).value.id, asked[i]);
          } else {
            assert.equal(answer.status, 'rejected', `read ${i}`);
            assert.ok((answer as PromiseRejectedResult).reason instanceof MemoryNotFound);
          }
        });
        assert.equal(
          statements.reduce((a, b) => a + b, 0),
          asked.length,
          'every id read once',
        );
        assert.ok(statements.length < asked.length / 4, `${asked.length} reads in ${statements.length} statements`);
        // Each read that found a memory is recorded on its own, as if it had come alone.
        const records = (await t.app.eventStore.readStream(accessStream(user), 0n, 'forwards', 1000)).events;
        assert.equal(records.length, live.length + 4);
        assert.deepEqual(
          records.map((e) => (e.data as { memory_ids: string[] }).memory_ids).sort(),
          [...live, ...live.slice(0, 4)].map((id) => [id]).sort(),
        );
      } finally {
        await counted.end();
      }
    });
  });

  describe('ListMemories', () => {
    const agent = `agent-${randomUUID()}`;
    const u1 = `user-${randomUUID()}`;
    const u2 = `user-${randomUUID()}`;
    let m: string[];
    before(async () => {
      m = await insertMemories(t.app.pool, [
        { agentId: agent, userId: u1, type: 'fact', confidence: 0.9, createdAt: at(1) },
        { agentId: agent, userId: u2, type: 'insight', confidence: 0.3, createdAt: at(2) },
        { agentId: agent, userId: u1, type: 'decision', confidence: 0.6, createdAt: at(3) },
        { agentId: agent, userId: u1, type: 'fact', confidence: 0.8, createdAt: at(4), deletedAt: PAST },
        { agentId: agent, userId: u2, type: 'fact', confidence: 0.7, createdAt: at(5), expiresAt: PAST },
        { agentId: agent, userId: u1, type: 'fact', confidence: 0.95, createdAt: at(6), expiresAt: PAST, expiredAt: PAST },
        { agentId: 'agent-other', userId: u1, type: 'fact', confidence: 0.5, createdAt: at(7) },
        { agentId: agent, userId: u1, type: 'hypothesis', confidence: 0.1, createdAt: at(3) },
      ]);
    });
    const list = (filter: Partial<Parameters<MemoryReads['listMemories']>[1]>) =>
      reads.listMemories(caller, { types: [], includeExpired: false, pageSize: 0, ...filter });
    // m[2] and m[7] share a created_at: the larger id comes first.
    const tied = () => [m[2]!, m[7]!].sort().reverse();

    it('lists newest first (ties by id), never deleted ones, expired ones only when asked', async () => {
      const live = await list({ agentId: agent });
      assert.deepEqual(ids(live.memories), [...tied(), m[1], m[0]]);
      assert.equal(live.nextPageToken, '');
      const all = await list({ agentId: agent, includeExpired: true });
      assert.deepEqual(ids(all.memories), [m[5], m[4], ...tied(), m[1], m[0]]);
      assert.deepEqual(
        all.memories.map((x) => x.expired),
        [true, true, false, false, false, false],
      );
    });

    it('filters by agent and person, by person alone, by types and by minimum confidence', async () => {
      assert.deepEqual(ids((await list({ agentId: agent, userId: u1 })).memories), [...tied(), m[0]]);
      assert.deepEqual(ids((await list({ userId: u1 })).memories), [m[6], ...tied(), m[0]]);
      assert.deepEqual(ids((await list({ agentId: agent, types: ['insight', 'fact'] })).memories), [m[1], m[0]]);
      assert.deepEqual(ids((await list({ agentId: agent, minConfidence: 0.6 })).memories), [m[2], m[0]]);
      // Protobuf sends unset strings as '': the same as absent.
      assert.deepEqual(ids((await list({ agentId: agent, userId: '' })).memories), [...tied(), m[1], m[0]]);
    });

    it('pages with a token until the last page, whose token is empty', async () => {
      const seen: string[] = [];
      let pageToken = '';
      do {
        const page = await list({ agentId: agent, includeExpired: true, pageSize: 4, pageToken });
        assert.ok(page.memories.length <= 4);
        seen.push(...ids(page.memories));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(seen, [m[5], m[4], ...tied(), m[1], m[0]]);
    });

    it('pages 50 by default and refuses a page size over 500', async () => {
      const many = `agent-${randomUUID()}`;
      await insertMemories(
        t.app.pool,
        Array.from({ length: 60 }, () => ({ agentId: many })),
      );
      const page = await list({ agentId: many });
      assert.equal(page.memories.length, 50);
      assert.notEqual(page.nextPageToken, '');
      assert.equal((await list({ agentId: many, pageToken: page.nextPageToken })).memories.length, 10);
      await rejectsInvalid(list({ agentId: many, pageSize: 501 }), 'page_size');
    });

    it('refuses a page token used with other filters, altered or made up', async () => {
      const { nextPageToken } = await list({ agentId: agent, pageSize: 1 });
      await rejectsInvalid(list({ agentId: agent, userId: u1, pageSize: 1, pageToken: nextPageToken }), 'page_token', /other filters/);
      const fields = JSON.parse(Buffer.from(nextPageToken, 'base64url').toString()) as { p: { c: string } };
      const moved = Buffer.from(JSON.stringify({ ...fields, p: { ...fields.p, c: String(BigInt(fields.p.c) - 1n) } })).toString(
        'base64url',
      );
      await rejectsInvalid(list({ agentId: agent, pageSize: 1, pageToken: moved }), 'page_token');
      for (const garbage of ['garbage', 'not base64!', Buffer.from('{"c":1}').toString('base64url'), 'x'.repeat(5000)]) {
        await rejectsInvalid(list({ agentId: agent, pageSize: 1, pageToken: garbage }), 'page_token');
      }
      // The same filters written differently are the same query: the token is still good.
      const next = await list({ agentId: agent, types: [], minConfidence: 0, pageSize: 1, pageToken: nextPageToken });
      assert.equal(next.memories.length, 1);
    });

    it('refuses a bad filter', async () => {
      await rejectsInvalid(list({ agentId: 'x'.repeat(201) }), 'agent_id');
      await rejectsInvalid(list({ types: ['fact', 'gossip' as never] }), 'types[1]');
      await rejectsInvalid(list({ minConfidence: 1.5 }), 'min_confidence');
    });
  });

  describe('SearchMemories', () => {
    const agent = `agent-${randomUUID()}`;
    const v1 = `user-${randomUUID()}`;
    const v2 = `user-${randomUUID()}`;
    let s: string[];
    before(async () => {
      s = await insertMemories(t.app.pool, [
        { agentId: agent, userId: v1, type: 'fact', confidence: 0.9, content: { note: 'Poor sleep after late caffeine' } },
        { agentId: agent, userId: v1, type: 'fact', confidence: 0.9, content: { sleep: 'eight hours', mood: 'good' } },
        {
          agentId: agent,
          userId: v2,
          type: 'insight',
          confidence: 0.4,
          content: { summary: 'Sleep, sleep and more sleep: deep sleep improved' },
        },
        {
          agentId: agent,
          userId: v1,
          type: 'recommendation',
          confidence: 0.7,
          content: { note: 'magnesium before sleep' },
          deletedAt: PAST,
        },
        { agentId: agent, userId: v2, type: 'fact', confidence: 0.8, content: { note: 'sleep tracking' }, expiresAt: PAST },
        { agentId: 'agent-other', userId: v1, type: 'fact', confidence: 0.9, content: { note: 'sleep' } },
      ]);
    });
    const search = (query: Partial<Parameters<MemoryReads['searchMemories']>[1]>) =>
      reads.searchMemories(caller, {
        text: 'sleep',
        agentId: agent,
        types: [],
        mode: 'full_text',
        limit: 0,
        includeExpired: false,
        ...query,
      });
    const found = async (query: Partial<Parameters<MemoryReads['searchMemories']>[1]>) => (await search(query)).map((r) => r.memory.id);

    it('matches words of text values, best match first, with a score', async () => {
      const results = await search({});
      assert.deepEqual(
        results.map((r) => r.memory.id),
        [s[2], s[0]],
      );
      assert.ok(results[0]!.score > results[1]!.score && results[1]!.score > 0, `scores ${results.map((r) => r.score)}`);
    });

    it('does not match JSON keys or punctuation', async () => {
      assert.deepEqual(await found({ text: 'mood' }), []);
      assert.deepEqual(await found({ text: 'note' }), []);
      assert.deepEqual(await found({ text: 'summary' }), []);
      assert.deepEqual(await found({ text: '": {' }), []);
    });

    it('understands web search syntax: phrases and exclusions', async () => {
      assert.deepEqual(await found({ text: '"late caffeine"' }), [s[0]]);
      assert.deepEqual(await found({ text: 'sleep -caffeine' }), [s[2]]);
      assert.deepEqual(await found({ text: 'eight hours' }), [s[1]]);
    });

    it('filters like a list: person, types, minimum confidence, expired only when asked, never deleted', async () => {
      assert.deepEqual(await found({ userId: v2 }), [s[2]]);
      assert.deepEqual(await found({ types: ['fact'] }), [s[0]]);
      assert.deepEqual(await found({ minConfidence: 0.5 }), [s[0]]);
      assert.deepEqual(new Set(await found({ includeExpired: true })), new Set([s[0], s[2], s[4]]));
      assert.deepEqual(new Set(await found({ agentId: undefined, userId: v1 })), new Set([s[0], s[5]]));
    });

    it('returns 10 results by default and refuses more than 100', async () => {
      const many = `agent-${randomUUID()}`;
      await insertMemories(
        t.app.pool,
        Array.from({ length: 12 }, (_, i) => ({ agentId: many, content: { note: `ashwagandha ${i}` } })),
      );
      assert.equal((await search({ agentId: many, text: 'ashwagandha' })).length, 10);
      assert.equal((await search({ agentId: many, text: 'ashwagandha', limit: 100 })).length, 12);
      await rejectsInvalid(search({ agentId: many, text: 'ashwagandha', limit: 101 }), 'limit');
    });

    it('refuses an empty query and says that semantic and hybrid search need the ChromaDB projection', async () => {
      await rejectsInvalid(search({ text: '' }), 'query');
      await rejectsInvalid(search({ text: '   ' }), 'query');
      await rejectsInvalid(search({ text: 'x'.repeat(5000) }), 'query');
      for (const mode of ['semantic', 'hybrid'] as const) {
        await assert.rejects(
          search({ mode }),
          (error: unknown) => error instanceof SearchModeUnavailable && /ChromaDB/.test(error.message),
        );
      }
    });
  });

  describe('GetMemoryStats', () => {
    it('counts every type, averages confidence and names the last creation, of live memories only', async () => {
      const agent = `agent-${randomUUID()}`;
      await insertMemories(t.app.pool, [
        { agentId: agent, type: 'fact', confidence: 0.2, createdAt: at(10) },
        { agentId: agent, type: 'fact', confidence: 0.4, createdAt: at(11) },
        { agentId: agent, type: 'insight', confidence: 0.9, createdAt: '2024-01-01T00:00:12.345678Z', userId: null },
        { agentId: agent, type: 'decision', confidence: 1, createdAt: at(20), deletedAt: PAST },
        { agentId: agent, type: 'hypothesis', confidence: 1, createdAt: at(21), expiresAt: PAST },
        { agentId: agent, type: 'analysis', confidence: 1, createdAt: at(22), expiredAt: PAST },
        { agentId: `${agent}-other`, type: 'fact', confidence: 1, createdAt: at(23) },
      ]);
      const stats = await reads.getMemoryStats(caller, agent);
      assert.deepEqual(stats.countByType, {
        fact: 2,
        analysis: 0,
        recommendation: 0,
        hypothesis: 0,
        insight: 1,
        conversation: 0,
        decision: 0,
      });
      assert.equal(stats.total, 3);
      assert.ok(Math.abs(stats.averageConfidence - 0.5) < 1e-12);
      assert.equal(stats.lastCreatedAt, Date.parse('2024-01-01T00:00:12.345Z'));
    });

    it('answers zeros for an agent with no memories and refuses an empty agent id', async () => {
      const stats = await reads.getMemoryStats(caller, `agent-${randomUUID()}`);
      assert.equal(stats.total, 0);
      assert.equal(stats.averageConfidence, 0);
      assert.equal(stats.lastCreatedAt, null);
      assert.equal(Object.values(stats.countByType).length, 7);
      await rejectsInvalid(reads.getMemoryStats(caller, ''), 'agent_id');
    });
  });
});
