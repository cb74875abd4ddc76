import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError } from '@connectrpc/connect';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { MemoryType, SearchMode } from '../../src/gen/auren/v1/memory_pb.js';
import { rebuildProjection } from '../../src/projections/admin.js';
import { dropCollection, openCollection } from '../../src/projections/chroma/collection.js';
import { createChromaSemanticIndex } from '../../src/projections/chroma/semanticIndex.js';
import { semanticCandidates } from '../../src/memory/semanticCandidates.js';
import { createLogger } from '../../src/log.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { startTestChroma } from '../support/chroma.js';
import type { TestChroma } from '../support/chroma.js';
import { eventually } from '../support/events.js';
import { chromaCaughtUp, dumpCollection } from '../support/projections.js';
import { LABELLED_MEMORIES, LABELLED_QUERIES, recallAt } from '../fixtures/labelledMemories.js';

const as = (agent: string) => ({ headers: { 'x-auren-agent': agent } });

describe('Chroma projection and semantic search (local embedder)', function () {
  this.timeout(120_000);
  let chroma: TestChroma;
  let t: TestApp;
  const collection = `memories_${randomUUID().slice(0, 8)}`;
  before(async () => {
    chroma = await startTestChroma();
    t = await startTestApp({ CHROMA_URL: chroma.url, CHROMA_COLLECTION: collection, MEMORY_EXPIRY_SWEEP_MS: '50' });
  });
  after(async () => {
    await t?.stop();
    await chroma?.stop();
  });

  async function store(userId: string, text: string, extra: Record<string, unknown> = {}) {
    const request = { agentId: 'sleep', userId, type: MemoryType.FACT, content: { text }, ...extra };
    return (await t.memory.storeMemory(request, as('writer'))).memory!;
  }

  it('finds a memory by meaning where full text finds nothing', async () => {
    const userId = `u-${randomUUID()}`;
    const badly = await store(userId, 'Slept badly, woke up four times during the night');
    await store(userId, 'Eats oatmeal with berries every morning');
    await store(userId, 'Runs 5k three times a week');
    await chromaCaughtUp(t);
    const search = (mode: SearchMode) => t.memory.searchMemories({ query: 'sleep quality', userId, mode }, as('reader'));
    assert.deepEqual((await search(SearchMode.FULL_TEXT)).results, []);
    const [best, ...rest] = (await search(SearchMode.SEMANTIC)).results;
    assert.equal(best!.memory!.id, badly.id);
    assert.deepEqual(best!.matchedBy, [SearchMode.SEMANTIC]);
    assert.equal(best!.semanticRank, 1);
    assert.ok(rest.every((r) => r.score < best!.score));
  });

  it('fuses full text and semantic lists: hybrid recalls more than either alone on a labelled set', async () => {
    const userId = `u-${randomUUID()}`;
    const keyOf = new Map<string, string>();
    for (const [key, text] of Object.entries(LABELLED_MEMORIES)) keyOf.set((await store(userId, text)).id, key);
    await chromaCaughtUp(t);
    const recall: Record<string, number> = {};
    for (const [name, mode] of [
      ['full_text', SearchMode.FULL_TEXT],
      ['semantic', SearchMode.SEMANTIC],
      ['hybrid', SearchMode.HYBRID],
    ] as const) {
      let sum = 0;
      for (const { query, relevant } of LABELLED_QUERIES) {
        const { results } = await t.memory.searchMemories({ query, userId, mode, limit: 5 }, as('reader'));
        sum += recallAt(
          5,
          results.map((r) => keyOf.get(r.memory!.id)!),
          relevant,
        );
        if (mode === SearchMode.HYBRID)
          for (const r of results) {
            assert.equal(r.matchedBy.includes(SearchMode.FULL_TEXT), r.fullTextRank > 0);
            assert.equal(r.matchedBy.includes(SearchMode.SEMANTIC), r.semanticRank > 0);
            const expected = (r.fullTextRank ? 1 / (60 + r.fullTextRank) : 0) + (r.semanticRank ? 1 / (60 + r.semanticRank) : 0);
            assert.ok(Math.abs(r.score - expected) < 1e-9);
          }
      }
      recall[name] = sum / LABELLED_QUERIES.length;
    }
    assert.ok(recall.hybrid! > recall.semantic!, JSON.stringify(recall));
    assert.ok(recall.hybrid! > recall.full_text!, JSON.stringify(recall));
  });

  it('pushes the filters down and answers with memories as they are now', async () => {
    const userId = `u-${randomUUID()}`;
    const kept = await store(userId, 'Insomnia after night shifts', { confidence: 0.9 });
    await store(userId, 'Insomnia after night shifts, low confidence', { confidence: 0.2 });
    await t.memory.storeMemory({ agentId: 'nutrition', userId, type: MemoryType.FACT, content: { text: 'Insomnia again' } }, as('writer'));
    await t.memory.storeMemory({ agentId: 'sleep', userId, type: MemoryType.INSIGHT, content: { text: 'Insomnia pattern' } }, as('writer'));
    const gone = await store(userId, 'Insomnia, deleted');
    await t.memory.deleteMemory({ id: gone.id, reason: 'wrong' }, as('writer'));
    await store(userId, 'Insomnia, soon expired', { expiresAt: timestampFromMs(Date.now() + 400) });
    await chromaCaughtUp(t);
    await sleep(600);
    const { results } = await t.memory.searchMemories(
      { query: 'sleeplessness', userId, agentId: 'sleep', types: [MemoryType.FACT], minConfidence: 0.5, mode: SearchMode.SEMANTIC },
      as('reader'),
    );
    assert.deepEqual(
      results.map((r) => r.memory!.id),
      [kept.id],
    );
  });

  it('ranks a selective filter’s few memories among many nearer ones of others', async () => {
    // More memories of another person, nearer the query, than the unfiltered first query reads
    // (100): none of this person's is among them, so they are ranked from PostgreSQL's list.
    const crowd = `u-${randomUUID()}`;
    const crowdTexts = ['Slept badly again', 'Poor sleep, woke at 4am', 'Sleep quality was low', 'Restless night, little sleep'];
    for (let i = 0; i < 110; i++) await store(crowd, `${crowdTexts[i % crowdTexts.length]} (${i})`);
    const userId = `u-${randomUUID()}`;
    const sleepy = await store(userId, 'Tired every morning after a short night');
    for (const text of ['Eats oatmeal with berries', 'Drinks two litres of water', 'Avoids gluten', 'Takes vitamin D in winter'])
      await store(userId, text);
    await chromaCaughtUp(t);
    const { results } = await t.memory.searchMemories(
      { query: 'sleep quality', userId, mode: SearchMode.SEMANTIC, limit: 3 },
      as('reader'),
    );
    assert.equal(results.length, 3);
    assert.ok(results.every((r) => r.memory!.userId === userId));
    assert.equal(results[0]!.memory!.id, sleepy.id);
    assert.deepEqual(
      results.map((r) => r.semanticRank),
      [1, 2, 3],
    );
    assert.ok(results[0]!.score >= results[1]!.score && results[1]!.score >= results[2]!.score);

    // The same filter sent to Chroma as a `where` (as when it covers too many memories to rank
    // here) finds the same memories in the same order.
    const index = createChromaSemanticIndex({
      collection: () =>
        openCollection({ url: chroma.url, name: collection, embedder: 'test', dimensions: 100, log: createLogger('silent') }),
      embedder: async () => undefined,
      embedderWaitMs: 0,
      candidates: (filter, cap) => semanticCandidates(t.app.pool, filter, cap),
      candidatesMax: 0,
    });
    const vector = await t.app.chromaProjection!.index.embedQuery('sleep quality');
    const filter = { agentId: null, userId, types: [], minConfidence: null, includeExpired: false };
    const byWhere = await index.nearest(vector, filter, 3);
    assert.deepEqual(
      byWhere.map((hit) => hit.id),
      results.map((r) => r.memory!.id),
    );
  });

  it('ends in the same collection replayed from scratch as built incrementally', async () => {
    const userId = `u-${randomUUID()}`;
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      if (i % 3 !== 2 || ids.length === 0) {
        const expires = i % 7 === 0 ? { expiresAt: timestampFromMs(Date.now() + 500) } : {};
        ids.push((await store(userId, `${LABELLED_MEMORIES[Object.keys(LABELLED_MEMORIES)[i % 21]!]} (${i})`, expires)).id);
      } else if (i % 2 === 0) {
        await t.memory
          .updateMemory({ id: ids[i % ids.length]!, content: { text: `changed to coffee ${i}` } }, as('writer'))
          .catch(() => undefined);
      } else {
        await t.memory.updateMemory({ id: ids[i % ids.length]!, confidence: 0.3 }, as('writer')).catch(() => undefined);
        await t.memory.deleteMemory({ id: ids[(i * 7) % ids.length]!, reason: '' }, as('writer')).catch(() => undefined);
      }
    }
    await sleep(800);
    await chromaCaughtUp(t);
    const incremental = await dumpCollection(chroma.url, collection);
    assert.ok(Object.keys(incremental).length > 10);

    await rebuildProjection(t.app.pool, 'chroma', () => dropCollection(chroma.url, collection));
    const nudge = await store(`u-${randomUUID()}`, 'nudge');
    await eventually(
      async () => (await dumpCollection(chroma.url, collection).catch(() => ({}) as Record<string, unknown>))[ids[0]!] !== undefined,
      'replayed',
    );
    await chromaCaughtUp(t);
    const replayed = await dumpCollection(chroma.url, collection);
    delete replayed[nudge.id];
    assert.deepEqual(replayed, incremental);
  });

  it('notices a Chroma restarted without its data and replays the log into it', async () => {
    const userId = `u-${randomUUID()}`;
    for (const text of Object.values(LABELLED_MEMORIES).slice(0, 8)) await store(userId, text);
    await chromaCaughtUp(t);
    const before = await dumpCollection(chroma.url, collection);
    assert.ok(Object.keys(before).length >= 8);
    await chroma.stop(); // its folder is deleted: it comes back empty, on the same port
    await chroma.start();
    const nudge = await store(`u-${randomUUID()}`, 'Walks the dog at dawn');
    await eventually(
      async () => Object.keys(await dumpCollection(chroma.url, collection).catch(() => ({}))).length > Object.keys(before).length,
      'the log replayed into the new collection',
      60_000,
    );
    await chromaCaughtUp(t);
    const after = await dumpCollection(chroma.url, collection);
    assert.ok(after[nudge.id]);
    delete after[nudge.id];
    assert.deepEqual(after, before);
    const { results } = await t.memory.searchMemories({ query: 'sleep quality', userId, mode: SearchMode.SEMANTIC }, as('reader'));
    assert.ok(results.length > 0);
  });
});

describeOnEachListener('Client-sent vectors', (listener) => {
  let chroma: TestChroma;
  let t: TestApp;
  before(async function () {
    this.timeout(60_000);
    chroma = await startTestChroma();
    t = await startTestApp({ CHROMA_URL: chroma.url, EMBEDDINGS: 'client', EMBEDDINGS_DIMENSIONS: '4' }, listener);
  });
  after(async () => {
    await t?.stop();
    await chroma?.stop();
  });

  const invalid = async (call: Promise<unknown>, field: string) => {
    const error = await call.then(
      () => assert.fail('expected INVALID_ARGUMENT'),
      (e: unknown) => ConnectError.from(e),
    );
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: `));
  };

  it('stores and searches by the client’s vectors, and refuses one of the wrong dimension', async function () {
    this.timeout(60_000);
    const userId = `u-${randomUUID()}`;
    const store = (embedding: number[], text: string) =>
      t.memory.storeMemory({ agentId: 'a', userId, type: MemoryType.FACT, content: { text }, embedding }, as('writer'));
    const north = (await store([1, 0, 0, 0], 'north')).memory!;
    await store([0, 1, 0, 0], 'east');
    await invalid(store([1, 0, 0], 'short'), 'embedding');
    await invalid(store([1, 0, 0, Number.NaN], 'nan'), 'embedding[3]');
    await invalid(t.memory.updateMemory({ id: north.id, embedding: [1, 0, 0, 0] }, as('writer')), 'embedding');
    await chromaCaughtUp(t);
    const { results } = await t.memory.searchMemories({ userId, mode: SearchMode.SEMANTIC, embedding: [0.9, 0.1, 0, 0] }, as('reader'));
    assert.equal(results[0]!.memory!.id, north.id);
    await invalid(t.memory.searchMemories({ userId, mode: SearchMode.SEMANTIC, embedding: [1, 2] }, as('reader')), 'embedding');
    await invalid(t.memory.searchMemories({ query: 'north', userId, mode: SearchMode.SEMANTIC }, as('reader')), 'embedding');
  });
});
