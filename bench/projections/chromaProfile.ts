// Where the Chroma projection's and semantic search's time goes, each part alone: Chroma upserts
// and reads by id at several batch sizes, the local embedder per text, and queries at N memories
// (with and without the pushed-down `where`, at several n_results) right after the load and once
// Chroma's indexing has settled. Run: npx tsx bench/projections/chromaProfile.ts
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config.js';
import { createEmbedder } from '../../src/embeddings/createEmbedder.js';
import { createLogger } from '../../src/log.js';
import { openCollection } from '../../src/projections/chroma/collection.js';
import { startEmbeddedChroma } from '../../src/projections/chroma/embeddedChroma.js';
import { where } from '../../src/projections/chroma/semanticIndex.js';
import { percentiles } from '../memory/loop.js';
import { WORDS } from '../memory/words.js';

const MEMORIES = Number(process.env.BENCH_SEARCH_MEMORIES ?? 100_000);
const LOAD_BATCH = Number(process.env.BENCH_LOAD_BATCH ?? 5_000);
const log = (line: string) => process.stdout.write(`${line}\n`);
const load = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');
const randomText = (words: number) =>
  Array.from({ length: words }, () => WORDS[Math.floor(WORDS.length * Math.random() ** 1.5)]!).join(' ');

const silent = createLogger('warn');
const dir = await mkdtemp(path.join(tmpdir(), 'auren-chroma-profile-'));
const chroma = await startEmbeddedChroma(dir, 0, silent);
try {
  const embedder = (await createEmbedder(loadConfig({}).embeddings, path.join('.auren', 'embeddings')).ready())!;
  const collection = await openCollection({ url: chroma.url, name: 'profile', embedder: 'p', dimensions: 100, log: silent });
  const meta = (user: string) => ({
    agent_id: 'a',
    user_id: user,
    type: 'fact',
    confidence: 0.5,
    created_at: 1,
    updated_at: 1,
    expires_at: 0,
    version: 1,
  });
  log(`load average: ${load()}`);
  // Embedding alone.
  const texts = Array.from({ length: 2_000 }, () => randomText(10));
  let t = performance.now();
  await embedder.embed(texts);
  log(`embed: ${(((performance.now() - t) * 1000) / texts.length).toFixed(1)} µs per 10-word text`);
  // Upserts and reads by id at several batch sizes (fresh ids each time).
  for (const size of [1, 10, 50, 200, 1000, 5000]) {
    const rounds = size <= 10 ? 20 : size <= 200 ? 5 : 2;
    const times: number[] = [];
    const gets: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const ids = Array.from({ length: size }, () => randomUUID());
      const vectors = await embedder.embed(ids.map(() => randomText(10)));
      t = performance.now();
      await collection.upsert({ ids, embeddings: vectors, documents: ids, metadatas: ids.map(() => meta('u')) });
      times.push(performance.now() - t);
      t = performance.now();
      await collection.get({ ids, include: ['metadatas' as never] });
      gets.push(performance.now() - t);
    }
    const p = percentiles(times);
    const g = percentiles(gets);
    log(
      `upsert ${size}: p50 ${p.p50.toFixed(1)} ms (${((p.p50 * 1000) / size).toFixed(0)} µs/row); get by ids: p50 ${g.p50.toFixed(1)} ms  [load ${load()}]`,
    );
  }
  // Bulk load to MEMORIES.
  t = performance.now();
  let count = await collection.count();
  while (count < MEMORIES) {
    const n = Math.min(LOAD_BATCH, MEMORIES - count);
    const ids = Array.from({ length: n }, () => randomUUID());
    const vectors = await embedder.embed(ids.map(() => randomText(6 + Math.floor(Math.random() * 15))));
    await collection.upsert({
      ids,
      embeddings: vectors,
      documents: ids,
      metadatas: ids.map(() => meta(`user-${Math.floor(Math.random() * 2000)}`)),
    });
    count += n;
  }
  log(`bulk load to ${count} in batches of ${LOAD_BATCH}: ${((performance.now() - t) / 1000).toFixed(1)} s  [load ${load()}]`);
  const filterAll = { agentId: 'a', userId: null, types: [], minConfidence: null, includeExpired: false };
  const filterUser = { ...filterAll, userId: 'user-7' };
  const queries = await embedder.embed(Array.from({ length: Number(process.env.BENCH_QUERIES ?? 10) }, () => randomText(3)));
  const measure = async (label: string) => {
    for (const [name, w] of [
      ['no where', undefined],
      ['agent + expiry (matches all)', where(filterAll)],
      ['agent only', { agent_id: { $eq: 'a' } }],
      ['agent + user (1/2000)', where(filterUser)],
      ['agent + user, no expiry clause', { $and: [{ agent_id: { $eq: 'a' } }, { user_id: { $eq: 'user-7' } }] }],
      ['user only', { user_id: { $eq: 'user-7' } }],
    ] as const) {
      for (const n of [20, 60]) {
        const times: number[] = [];
        for (const q of queries) {
          const t0 = performance.now();
          await collection.query({ queryEmbeddings: [q], nResults: n, where: w as never, include: ['distances' as never] });
          times.push(performance.now() - t0);
        }
        const p = percentiles(times);
        log(`${label} query ${name}, n=${n}: p50 ${p.p50.toFixed(1)} p95 ${p.p95.toFixed(1)} ms  [load ${load()}]`);
      }
    }
  };
  await measure('right after load:');
  log('waiting 30 s for indexing to settle');
  await sleep(30_000);
  await measure('settled:');
} finally {
  await chroma.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exit(0);
