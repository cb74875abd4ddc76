// The MemoryService part of `npm run bench`: bulk-load memories, then time StoreMemory,
// GetMemory, ListMemories and SearchMemories through gRPC, and the cost of the read audit.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { cpuMeter } from '../cpu.js';
import { checkpoint } from '../databases.js';
import type { MachineFacts } from '../databases.js';
import { writeSection } from '../tables.js';
import { startServer } from '../server.js';
import { AUDIT_VARIANTS, measureAuditCost } from './audit.js';
import { AGENTS_PER_USER, MEMORY_CLIENTS, MEMORY_GOALS, MEMORY_SERVER_POOL } from './config.js';
import type { MemoryConfig } from './config.js';
import { memoryClient } from './grpc.js';
import type { MemoryClient } from './grpc.js';
import { createMemoryDatabase, loadMemories } from './load.js';
import { closedLoop } from './loop.js';
import { encodeStores, wireMemoryClient } from './wire.js';
import type { WireMemoryClient } from './wire.js';
import type { LoopResult, Operation } from './loop.js';
import { writeGoals } from '../goals.js';
import { MEMORY_SECTION_TITLE, memoryGoals, memoryMarkdownSection, printMemoryResults } from './report.js';
import type { MemoryResults, MemoryRun, Plan, RunName } from './results.js';
import { randomQuery, WORDS } from './words.js';

const TYPES = ['fact', 'analysis', 'recommendation', 'hypothesis', 'insight', 'conversation', 'decision'];
const CHANNELS = ['chat', 'email', 'call', 'note', 'crm'];
/** Memories sampled from the loaded set to read back by id, and for their (agent, person) pairs. */
const SAMPLE = 20_000;
const PAGE_SIZE = 50;
/** StoreMemory requests encoded before the run, sent in turn. */
const STORE_REQUESTS = 2_000;

export interface MemoryContext {
  adminUrl: string;
  postgresIsLocal: boolean;
  log: (line: string) => void;
  facts: MachineFacts;
  /** Where BENCHMARKS.md is; null: print only. */
  reportPath: string | null;
}

const agentName = (n: number) => `agent-${String(n).padStart(3, '0')}`;
const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;
/** Text as the loader writes it: 6–20 words, the first words of the list more often. */
const memoryText = () =>
  Array.from({ length: 6 + Math.floor(Math.random() * 15) }, () => WORDS[Math.floor(Math.random() ** 1.5 * WORDS.length)]).join(' ');

export async function runMemoryBench(config: MemoryConfig, ctx: MemoryContext): Promise<MemoryResults> {
  const { log } = ctx;
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;

  log(
    `loading ${config.memories.toLocaleString('en-US')} memories (${config.agents} agents, ${config.users.toLocaleString('en-US')} people) into a fresh database`,
  );
  const url = await createMemoryDatabase(ctx.adminUrl);
  const load = await loadMemories(url, config, log);
  log(`loaded in ${load.seconds.toFixed(1)} s (${elapsed()} so far)`);
  // The load's dirty pages are written now, not by a checkpoint during the timed runs.
  await checkpoint(ctx.adminUrl);

  const db = new pg.Client({ connectionString: url });
  await db.connect();
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const clients: MemoryClient[] = [];
  const wire: WireMemoryClient[] = [];
  try {
    const percent = Math.min(100, ((SAMPLE * 1.5) / config.memories) * 100);
    const sample = (
      await db.query<{ id: string; agent_id: string; user_id: string }>(
        `select id::text, agent_id, user_id from memories tablesample bernoulli (${percent}) limit ${SAMPLE}`,
      )
    ).rows;
    const ids = sample.map((r) => r.id);
    const pairs = sample.map((r) => ({ agentId: r.agent_id, userId: r.user_id }));
    const users = [...new Set(sample.map((r) => r.user_id))];
    // People with a second page (of their live memories).
    const paged = (
      await db.query<{ user_id: string }>(
        `select user_id from memories where deleted_at is null group by user_id having count(*) > ${PAGE_SIZE + 5} order by random() limit 2000`,
      )
    ).rows.map((r) => r.user_id);
    const eventsBefore = Number((await db.query<{ n: string }>('select count(*) as n from events')).rows[0]!.n);

    server = await startServer(url, MEMORY_SERVER_POOL);
    for (let i = 0; i < MEMORY_CLIENTS; i++) clients.push(memoryClient(server.grpcUrl));
    // StoreMemory: an agent that advises the person, as in the loaded data.
    const storeRequests = Array.from({ length: STORE_REQUESTS }, () => {
      const u = Math.floor(Math.random() * config.users);
      const agentId = agentName((u * 37 + Math.floor(Math.random() * AGENTS_PER_USER) * 11) % config.agents);
      return { agentId, userId: `user_${u}`, type: pick(TYPES), text: memoryText(), channel: pick(CHANNELS), confidence: Math.random() };
    });
    const stores = encodeStores(storeRequests, new URL(server.grpcUrl).host);
    for (let i = 0; i < MEMORY_CLIENTS; i++) wire.push(await wireMemoryClient(server.grpcUrl, stores, 'bench-reader'));
    const serverPid = server.pid;
    const runs: MemoryRun[] = [];
    const time = async (name: RunName, clientCount: number, op: Operation) => {
      const result = await closedLoop({
        clients: clientCount,
        warmupMs: config.warmupSeconds * 1000,
        measureMs: config.seconds * 1000,
        op,
        window: cpuMeter({ serverPid, postgresIsLocal: ctx.postgresIsLocal }),
      });
      runs.push({ name, clients: clientCount, result });
      const l = result.latency;
      log(
        `${name.padEnd(14)} ${String(clientCount).padStart(2)} clients ${Math.round(result.perSecond).toString().padStart(6)} calls/s  ` +
          `p50 ${l.p50.toFixed(2)}  p95 ${l.p95.toFixed(2)}  p99 ${l.p99.toFixed(2)}  max ${l.max.toFixed(1)} ms (${elapsed()})`,
      );
      return result;
    };

    let stored = 0;
    const store = await time('store', MEMORY_CLIENTS, async (client) => {
      const id = await wire[client]!.store(stored++);
      if (!id) throw new Error('StoreMemory returned no memory');
    });

    const get: Operation = async (client) => {
      const id = pick(ids);
      const got = await wire[client]!.get(id);
      if (got !== id) throw new Error(`GetMemory ${id} returned ${got}`);
      return { what: id };
    };
    const get1 = await time('get1', 1, get);
    const get8 = await time('get8', MEMORY_CLIENTS, get);
    // The same with @grpc/grpc-js clients: what an agent's client costs on the shared cores.
    const get8GrpcJs = await time('get8GrpcJs', MEMORY_CLIENTS, async (client) => {
      const id = pick(ids);
      const memory = await clients[client]!.get('bench-reader', id);
      if (memory?.id !== id) throw new Error(`GetMemory ${id} returned ${memory?.id}`);
      return { what: id };
    });

    const listAgentUser = await time('listAgentUser', 1, async (client) => {
      const pair = pick(pairs);
      const page = await clients[client]!.list(pair.agentId, { ...pair, pageSize: PAGE_SIZE });
      if (page.memories.length === 0) throw new Error(`ListMemories ${JSON.stringify(pair)}: empty`);
      return { what: pair };
    });
    const listUser = await time('listUser', 1, async (client) => {
      const userId = pick(users);
      const page = await clients[client]!.list('bench-reader', { userId, pageSize: PAGE_SIZE });
      if (page.memories.length === 0) throw new Error(`ListMemories ${userId}: empty`);
      return { what: { userId } };
    });
    // Page 2 of a person's memories, with the token of page 1 (untimed).
    const listPage2 =
      paged.length === 0
        ? undefined
        : await time('listPage2', 1, async (client) => {
            const userId = pick(paged);
            const first = await clients[client]!.list('bench-reader', { userId, pageSize: PAGE_SIZE });
            if (!first.nextPageToken) throw new Error(`ListMemories ${userId}: no page 2`);
            const t0 = performance.now();
            const second = await clients[client]!.list('bench-reader', { userId, pageSize: PAGE_SIZE, pageToken: first.nextPageToken });
            const ms = performance.now() - t0;
            const seen = new Set(first.memories.map((m) => m.id));
            if (second.memories.length === 0 || second.memories.some((m) => seen.has(m.id)))
              throw new Error(`page 2 of ${userId} repeats page 1`);
            return { ms, what: { userId, after: first.memories.at(-1)!.id } };
          });

    const searchUser = await time('searchUser', 1, async (client) => {
      const request = { query: randomQuery(), userId: pick(users) };
      const results = await clients[client]!.search('bench-reader', request);
      return { what: { ...request, results: results.length } };
    });
    const searchAll = await time('searchAll', 1, async (client) => {
      const request = { query: randomQuery() };
      const results = await clients[client]!.search('bench-reader', request);
      return { what: { ...request, results: results.length } };
    });

    // Every call that returned is in the database: each stored memory with its event, each read with one.
    const after = (
      await db.query<{ memories: string; events: string }>(
        'select (select count(*) from memories) as memories, (select count(*) from events) as events',
      )
    ).rows[0]!;
    const page2Calls = 2 * (listPage2?.total ?? 0);
    const reads = [get1, get8, get8GrpcJs, listAgentUser, listUser, searchUser, searchAll].reduce((n, r) => n + r.total, 0) + page2Calls;
    const counts = { stored: store.total, events: Number(after.events) - eventsBefore, memories: Number(after.memories) - config.memories };
    if (counts.memories !== store.total) throw new Error(`${store.total} memories stored through gRPC, ${counts.memories} in the table`);
    // A search may find nothing (no event) and a list or search returns several people's memories
    // at once (one event each): the read events are checked against bounds only.
    if (counts.events < store.total + get1.total + get8.total + get8GrpcJs.total + listAgentUser.total + listUser.total + page2Calls) {
      throw new Error(`only ${counts.events} events appended for ${store.total} stores and ${reads} reads`);
    }

    log(`audit cost (direct pg, sequential): ${Object.values(AUDIT_VARIANTS).join(' / ')}`);
    const audit = await measureAuditCost(url, ids, 'bench-reader', config.warmupSeconds * 1000, config.seconds * 1000);
    for (const a of audit) {
      const l = a.result.latency;
      log(`  ${a.variant.padEnd(14)} p50 ${l.p50.toFixed(3)}  p99 ${l.p99.toFixed(3)}  mean ${l.mean.toFixed(3)} ms`);
    }

    const plans = await explainSlowest(db, { get1, get8, get8GrpcJs, listAgentUser, listUser, listPage2, searchUser, searchAll });
    return { config, load, runs, audit, plans, counts, seconds: (performance.now() - started) / 1000, listener: server.grpcListener };
  } finally {
    for (const client of clients) client.close();
    for (const client of wire) client.close();
    await server?.stop();
    await db.end();
  }
}

// The SQL of src/memory/queries.ts for these calls (no type or confidence filter, live only).
const COLUMNS = `id::text, agent_id, user_id, type, content, metadata, confidence, created_at, updated_at,
  expires_at, deleted_at, expired_at, version, last_event_id::text`;
const LIVE = `(expired_at is null and (expires_at is null or expires_at > now()))`;

function listSql(filter: { agentId?: string; userId: string }, after?: { us: string; id: string }): { text: string; values: string[] } {
  const values = filter.agentId ? [filter.agentId, filter.userId] : [filter.userId];
  const where = filter.agentId ? 'agent_id = $1 and user_id = $2' : 'user_id = $1';
  // The keyset of the page token, as the server binds it.
  const page = after
    ? `and (memories.created_at, memories.id) < (to_timestamp(0) + $${values.push(after.us)}::bigint * interval '1 microsecond', $${values.push(after.id)}::uuid)`
    : '';
  return {
    text: `select ${COLUMNS}, not ${LIVE} as expired_now, (extract(epoch from memories.created_at) * 1000000)::bigint as created_at_us
             from memories where deleted_at is null and ${where} and ${LIVE} ${page}
            order by memories.created_at desc, memories.id desc limit ${PAGE_SIZE + 1}`,
    values,
  };
}

function searchSql(query: string, userId?: string): { text: string; values: string[] } {
  const q = `websearch_to_tsquery('english', $1)`;
  return {
    text: `select ${COLUMNS}, not ${LIVE} as expired_now, ts_rank_cd(search, ${q}) as score
             from memories where search @@ ${q} and deleted_at is null ${userId ? 'and user_id = $2' : ''} and ${LIVE}
            order by score desc, memories.created_at desc, memories.id desc limit 10`,
    values: userId ? [query, userId] : [query],
  };
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the slowest timed call of each read whose goal was missed, and of
 * the slowest unfiltered search in any case, run again straight on PostgreSQL (warm by now).
 */
async function explainSlowest(
  db: pg.Client,
  r: Record<Exclude<RunName, 'store' | 'listPage2'>, LoopResult> & { listPage2: LoopResult | undefined },
): Promise<Plan[]> {
  const wanted: { run: Exclude<RunName, 'store'>; reason: string }[] = [];
  const missed = (run: Exclude<RunName, 'store'>, value: number, goal: number, what: string) => {
    if (!(value < goal)) wanted.push({ run, reason: `${what} ${value.toFixed(1)} ms, goal < ${goal} ms` });
  };
  missed('get1', r.get1.latency.p99, MEMORY_GOALS.getP99, 'p99');
  // One GetMemory plan is enough: the same statement.
  if (r.get1.latency.p99 < MEMORY_GOALS.getP99) missed('get8', r.get8.latency.p99, MEMORY_GOALS.getP99, 'p99');
  missed('listAgentUser', r.listAgentUser.latency.p99, MEMORY_GOALS.listP99, 'p99');
  missed('listUser', r.listUser.latency.p99, MEMORY_GOALS.listP99, 'p99');
  if (r.listPage2) missed('listPage2', r.listPage2.latency.p99, MEMORY_GOALS.listP99, 'p99');
  missed('searchUser', r.searchUser.latency.p95, MEMORY_GOALS.searchP95, 'p95');
  if (!wanted.some((w) => w.run === 'searchAll')) {
    missed('searchAll', r.searchAll.latency.p95, MEMORY_GOALS.searchP95, 'p95');
    if (!wanted.some((w) => w.run === 'searchAll')) wanted.push({ run: 'searchAll', reason: 'the slowest unfiltered search' });
  }
  const plans: Plan[] = [];
  for (const { run, reason } of wanted) {
    const slowest = r[run]?.slowest;
    if (!slowest) continue;
    const what = slowest.what as any;
    let sql: { text: string; values: string[] };
    if (run === 'get1' || run === 'get8' || run === 'get8GrpcJs') {
      sql = {
        text: `select ${COLUMNS}, not ${LIVE} as expired_now from memories where id = $1::uuid and deleted_at is null`,
        values: [what],
      };
    } else if (run === 'listPage2') {
      const { us } = (
        await db.query<{ us: string }>(
          'select (extract(epoch from created_at) * 1000000)::bigint::text as us from memories where id = $1::uuid',
          [what.after],
        )
      ).rows[0]!;
      sql = listSql({ userId: what.userId }, { us, id: what.after });
    } else if (run === 'listAgentUser' || run === 'listUser') {
      sql = listSql(what);
    } else {
      sql = searchSql(what.query, what.userId);
    }
    const rows = (await db.query<{ 'QUERY PLAN': string }>({ text: `explain (analyze, buffers) ${sql.text}`, values: sql.values })).rows;
    plans.push({
      run,
      reason,
      call: `${JSON.stringify(what)}: ${slowest.ms.toFixed(1)} ms through gRPC`,
      plan: rows.map((row) => row['QUERY PLAN']).join('\n'),
    });
  }
  return plans;
}

/** Runs the part, prints its tables and writes its section of BENCHMARKS.md. */
export async function memoryBenchPart(config: MemoryConfig, ctx: MemoryContext): Promise<void> {
  const results = await runMemoryBench(config, ctx);
  ctx.log(`MemoryService bench took ${results.seconds.toFixed(0)} s`);
  printMemoryResults(results);
  if (ctx.reportPath) {
    const when = new Date();
    writeSection(ctx.reportPath, memoryMarkdownSection(results, ctx.facts, when), MEMORY_SECTION_TITLE);
    writeGoals(ctx.reportPath, memoryGoals(results), when);
    ctx.log(`\nwrote ${ctx.reportPath}`);
  }
}
