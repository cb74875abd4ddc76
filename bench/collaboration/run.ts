// Issue 14's benchmark: GetSharedContext through GRPC_PORT for a person whom 6 agents hold
// 1,000 memories each (goal: p99 < 20 ms), with the plans of its statements (EXPLAIN ANALYZE).
// Writes the section "## Collaboration: GetSharedContext (issue 14)" of BENCHMARKS.md.
// Run: npx tsx bench/collaboration/run.ts (BENCH_DATABASE_URL, as `npm run bench`).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import pg from 'pg';
import type { QuerySqlToken } from 'slonik';
import { sharedContextQuery } from '../../src/collaboration/queries.js';
import { databaseUrl } from '../databases.js';
import { closedLoop } from '../memory/loop.js';
import type { LoopResult } from '../memory/loop.js';
import { WORDS } from '../memory/words.js';
import {
  GetMemoryResponseSchema,
  GetSharedContextRequestSchema,
  GetSharedContextResponseSchema,
} from '../../src/gen/auren/v1/memory_pb.js';
import { startServer } from '../server.js';
import { connectWire, headerBlock } from '../wire/h2c.js';
import { PATHS, withStringField } from '../wire/messages.js';
import { int, markdownTable, ms, writeSection } from '../tables.js';

const REPORT = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));
const TITLE = '## Collaboration: GetSharedContext (issue 14)';
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DATABASE = 'auren_collab_bench';
const AGENTS = ['neuroscientist', 'nutritionist', 'training_agent', 'recovery_agent', 'sleep_agent', 'mental_health_agent'];
const PER_AGENT = Number(process.env.BENCH_MEMORIES_PER_AGENT ?? 1000);
/** Other people, each with 100 memories per agent: the table is not the one person's alone. */
const OTHER_PEOPLE = Number(process.env.BENCH_OTHER_PEOPLE ?? 30);
const HYPOTHESES = 20;
const RESPONSE_MAX_BYTES = 3_145_728;
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 15_000);
const CLIENTS = [1, 4, 16];
const PERSON = 'user_bench_0';
const TYPES = ['fact', 'analysis', 'recommendation', 'hypothesis', 'insight', 'conversation', 'decision'];
const log = (line: string) => process.stdout.write(`${line}\n`);
const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');

type Stub = grpc.Client & Record<string, (request: object, callback: (error: grpc.ServiceError | null, response: any) => void) => void>;

function memoryService(target: string): Stub {
  const definition = protoLoader.loadSync('auren/v1/memory.proto', {
    includeDirs: [fileURLToPath(new URL('../../proto', import.meta.url))],
    longs: String,
    enums: String,
    defaults: false,
  });
  const Client = (grpc.loadPackageDefinition(definition) as any).auren.v1.MemoryService;
  return new Client(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as Stub;
}

const call = <T>(stub: Stub, method: string, request: object): Promise<T> =>
  new Promise((resolve, reject) => stub[method]!(request, (error, response) => (error ? reject(error) : resolve(response as T))));

const struct = (fields: Record<string, string>) => ({
  fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }])),
});
const text = () => Array.from({ length: 8 }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(' ');

const GET_SHARED_CONTEXT = '/auren.v1.MemoryService/GetSharedContext';

/** CPU seconds a process has used (utime + stime, /proc). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A closed loop, with the server's and this process's CPU per call over its measured window. */
async function measured(
  serverPid: number,
  clients: number,
  op: (client: number) => Promise<void>,
): Promise<{ result: LoopResult; serverUs: number; clientUs: number }> {
  let server0 = 0;
  let client0 = process.cpuUsage();
  let cpu: { server: number; client: number } | undefined;
  const result = await closedLoop({
    clients,
    warmupMs: 2_000,
    measureMs: MEASURE_MS,
    op,
    window: {
      start: () => {
        server0 = processCpuSeconds(serverPid);
        client0 = process.cpuUsage();
      },
      stop: () => {
        const used = process.cpuUsage(client0);
        cpu = { server: processCpuSeconds(serverPid) - server0, client: (used.user + used.system) / 1e6 };
        return {} as never;
      },
    },
  });
  return { result, serverUs: (cpu!.server * 1e6) / result.count, clientUs: (cpu!.client * 1e6) / result.count };
}

/** Runs `work` over `items` with `concurrency` calls in flight. */
async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** The statement sent again and again from pg on one connection, timed like a closed loop of one client. */
async function timeStatement(url: string, query: QuerySqlToken, measureMs: number): Promise<LoopResult> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const text = query.sql.replace(/\$slonik_(\d+)/g, '$$$1');
  try {
    return await closedLoop({
      clients: 1,
      warmupMs: 2_000,
      measureMs,
      op: async () => {
        await db.query(text, query.values as unknown[]);
      },
    });
  } finally {
    await db.end();
  }
}

/** EXPLAIN ANALYZE of a slonik statement, its placeholders renumbered for pg. */
async function explain(db: pg.Client, query: QuerySqlToken): Promise<string[]> {
  const text = query.sql.replace(/\$slonik_(\d+)/g, '$$$1');
  const { rows } = await db.query(`explain (analyze, buffers, costs off) ${text}`, query.values as unknown[]);
  return rows.map((r) => r['QUERY PLAN'] as string);
}

/** The goal's line: met or not at one client, beside GetMemory at the same moment for scale. */
function verdict(one: LoopResult, load: string, baseline: LoopResult): string {
  const met = one.latency.p99 < 20;
  return (
    `**Goal p99 < 20 ms: ${met ? 'met' : 'not met'}** at 1 client (p99 ${ms(one.latency.p99)} ms, p50 ${ms(one.latency.p50)} ms) ` +
    `with the load average at ${load.split(' / ')[0]} on ${os.availableParallelism()} cores; GetMemory at the same time: p99 ${ms(baseline.latency.p99)} ms, ` +
    `p50 ${ms(baseline.latency.p50)} ms. Run it again on a quiet machine before reading the figures as the service's.`
  );
}

// Measured by hand (.scratch scripts, not rerun by this bench), kept here so that the section keeps it.
const WHERE_THE_TIME_GOES = [
  'Where the time went. On 2026-12-01 (load average 7–11), the long statement was parsed and planned on every call;',
  'the memories part became the PL/pgSQL function `shared_memories`, whose plan is kept per session (4.8 ms against 15.9 ms inline).',
  'On 2026-12-02 the server’s part was profiled (`node --cpu-prof`, load 5–7): of the samples under GetSharedContext, 32 % checked',
  'the 55 memories’ JSON with zod 3, 22 % built the statement (four zod schemas made on every call among it), 29 % recorded the read.',
  'Changed then: rows are checked by compiled zod 4 twins of their schemas (`src/db/fastRows.ts`: 989 → 44 µs for the 55 memories),',
  'row schemas are made once, memories are encoded for binary clients whole (~650 → ~330 µs for the answer), and the rest of the',
  'statement is the function `shared_context` too (its planning was 0.75 ms a call). Server CPU per call at 4 clients went from',
  '3.8–5.3 ms (load 5–6, before) to 2.3 ms; what is left is the read record, the transport and the pg driver’s parsing of the',
  'answer’s JSON. At 1 client each call costs the server about twice what it costs under load (caches cold after every wait on',
  'PostgreSQL; see the session note), so the server µs/call of the 1-client rows read high.',
].join(' ');

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${DATABASE} with (force)`);
  await admin.query(`create database ${DATABASE}`);
  await admin.end();
  const url = databaseUrl(ADMIN_URL, DATABASE);
  const server = await startServer(url, 16, { CHROMA_URL: 'off', BENCH_REQUIRE_GRPC_PORT: '1' });
  const target = new URL(server.grpcUrl).host;
  const stub = memoryService(target);
  try {
    const stores: object[] = [];
    const people = [PERSON, ...Array.from({ length: OTHER_PEOPLE }, (_, i) => `user_bench_${i + 1}`)];
    for (const userId of people)
      for (const agentId of AGENTS)
        for (let i = 0; i < (userId === PERSON ? PER_AGENT : 100); i++)
          stores.push({
            agentId,
            userId,
            type: `MEMORY_TYPE_${TYPES[i % TYPES.length]!.toUpperCase()}`,
            content: struct({ text: text() }),
            confidence: 0.3 + Math.random() * 0.7,
          });
    log(`storing ${int(stores.length)} memories through StoreMemory (${int(PER_AGENT)} per agent for ${PERSON})`);
    const loadStart = Date.now();
    const storedIds: string[] = [];
    await inParallel(stores, 32, async (request) =>
      storedIds.push((await call<{ memory: { id: string } }>(stub, 'storeMemory', request)).memory.id),
    );
    log(`stored in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);
    for (let i = 0; i < HYPOTHESES; i++) {
      const formed = await call<{ hypothesis: { id: string } }>(stub, 'recordHypothesis', {
        agentId: AGENTS[i % AGENTS.length],
        userId: PERSON,
        statement: text(),
        confidence: 0.5,
      });
      if (i % 2 === 0)
        await call(stub, 'recordHypothesis', {
          hypothesisId: formed.hypothesis.id,
          agentId: AGENTS[i % AGENTS.length],
          status: 'HYPOTHESIS_STATUS_VALIDATED',
          confidence: 0.8,
        });
    }
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query('analyze');
    // The service's statement at its default budget (RESPONSE_MAX_BYTES, 3 MiB).
    const statementOf = () =>
      sharedContextQuery({
        userId: PERSON,
        requestingAgent: 'nutritionist',
        minConfidence: 0.7,
        perAgent: 10,
        decisions: 5,
        hypotheses: 3,
        maxBytes: RESPONSE_MAX_BYTES,
      });
    const plans: [string, string[]][] = [['the one statement of GetSharedContext, defaults', await explain(db, statementOf())]];
    await db.end();
    for (const [what, plan] of plans) log(`\n${what}:\n${plan.join('\n')}`);

    const request = { userId: PERSON, requestingAgent: 'nutritionist' };
    const check = await call<{ agents: { memories: unknown[] }[]; recentDecisions: unknown[]; validatedHypotheses: unknown[] }>(
      stub,
      'getSharedContext',
      request,
    );
    const shape = `${check.agents.length} agents × ${check.agents[0]?.memories.length ?? 0} memories, ${check.recentDecisions.length} decisions, ${check.validatedHypotheses.length} hypotheses`;
    log(`\none answer: ${shape}`);
    type Row = { label: string; result: LoopResult; serverUs: number; clientUs: number; load: string };
    const rows: Row[] = [];
    const report = (row: Row) => {
      rows.push(row);
      log(
        `${row.label}: ${int(row.result.perSecond)}/s, p50 ${ms(row.result.latency.p50)} ms, p99 ${ms(row.result.latency.p99)} ms, ` +
          `server ${int(row.serverUs)} µs/call, client ${int(row.clientUs)} µs/call (load average ${row.load})`,
      );
    };
    // The bench's own HTTP/2 client (bench/wire/h2c.ts), as in the append and memory benches: the
    // request encoded once, each answer decoded with protobuf-es and checked; it costs the shared
    // cores a fraction of what @grpc/grpc-js with proto-loader does (the row after).
    const requestBytes = Buffer.from(
      toBinary(GetSharedContextRequestSchema, create(GetSharedContextRequestSchema, { userId: PERSON, requestingAgent: 'nutritionist' })),
    );
    const headers = headerBlock(target, GET_SHARED_CONTEXT);
    for (const clients of CLIENTS) {
      const connections = await Promise.all(
        Array.from({ length: clients }, () => connectWire(new URL(server.grpcUrl).hostname, Number(new URL(server.grpcUrl).port))),
      );
      const run = await measured(server.pid, clients, async (client) => {
        const answer = fromBinary(
          GetSharedContextResponseSchema,
          await connections[client]!.unary(headers, GET_SHARED_CONTEXT, requestBytes),
        );
        if (answer.agents.length !== check.agents.length)
          throw new Error(`an answer with ${answer.agents.length} agents, not ${check.agents.length}`);
      });
      connections.forEach((c) => c.close());
      report({ label: `GetSharedContext, ${clients} client${clients === 1 ? '' : 's'}`, ...run, load: loadAverage() });
    }
    // As an agent in Node calls it: @grpc/grpc-js with memory.proto loaded at run time.
    {
      const agent = memoryService(target);
      const run = await measured(server.pid, 1, async () => {
        await call(agent, 'getSharedContext', request);
      });
      agent.close();
      report({ label: 'GetSharedContext, 1 client, @grpc/grpc-js + proto-loader', ...run, load: loadAverage() });
    }
    // In the same conditions, for scale: GetMemory (one memory, the same kind of read record
    // committed before the answer), and the statement alone from pg on one connection.
    const baselineConnection = await connectWire(new URL(server.grpcUrl).hostname, Number(new URL(server.grpcUrl).port));
    const getMemoryHeaders = headerBlock(target, PATHS.getMemory);
    const baselineRun = await measured(server.pid, 1, async () => {
      const id = storedIds[Math.floor(Math.random() * storedIds.length)]!;
      const answer = fromBinary(
        GetMemoryResponseSchema,
        await baselineConnection.unary(getMemoryHeaders, PATHS.getMemory, withStringField(1, id, Buffer.alloc(0))),
      );
      if (answer.memory?.id !== id) throw new Error(`GetMemory(${id}) answered ${answer.memory?.id}`);
    });
    baselineConnection.close();
    const baseline = baselineRun.result;
    const baselineLoad = loadAverage();
    report({ label: 'for scale: GetMemory (one memory, audited), 1 client', ...baselineRun, load: baselineLoad });
    const statement = await timeStatement(url, statementOf(), MEASURE_MS);
    const statementLoad = loadAverage();
    log(`the statement alone: p50 ${ms(statement.latency.p50)} ms, p99 ${ms(statement.latency.p99)} ms (load average ${statementLoad})`);
    const table = markdownTable(
      ['call', 'calls/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'server µs/call', 'client µs/call', 'load average (1/5/15 min) after'],
      [
        ...rows.map((r) => [r.label, r.result, int(r.serverUs), int(r.clientUs), r.load] as const),
        ['for scale: the statement alone (pg, one connection)', statement, '–', '–', statementLoad] as const,
      ].map(([call, result, serverUs, clientUs, load]) => [
        call,
        int(result.perSecond),
        ms(result.latency.p50),
        ms(result.latency.p95),
        ms(result.latency.p99),
        ms(result.latency.max),
        serverUs,
        clientUs,
        load,
      ]),
    );
    const section = [
      TITLE,
      '',
      `\`npx tsx bench/collaboration/run.ts\`, ${new Date().toISOString().slice(0, 16)}Z, ${os.availableParallelism()} cores shared with other sessions' work (hence the load average beside each row: figures taken under load are noisy).`,
      `One server process (\`${server.grpcListener}\`, DB_POOL_SIZE 16, no Redis, no Chroma). Clients: the bench's own HTTP/2 client (\`bench/wire/h2c.ts\`, as in the append and memory benches: the request encoded once, every answer decoded with protobuf-es and checked), each on its own connection, in a closed loop for ${MEASURE_MS / 1000} s after 2 s of warm-up; one more row with @grpc/grpc-js and memory.proto loaded at run time (protobufjs), as an agent in Node calls, whose decoding of the 55 memories costs the shared cores far more. *server* and *client* µs/call: CPU of the server process (/proc) and of the bench process over the measured window.`,
      `The person: ${AGENTS.length} agents × ${int(PER_AGENT)} memories (confidence uniform in [0.3, 1], every 7th a decision), ${HYPOTHESES} hypotheses of which ${HYPOTHESES / 2} validated; beside them ${OTHER_PEOPLE} other people with 100 memories per agent (${int(stores.length)} memories in all).`,
      `Each call: \`GetSharedContext(user, "nutritionist")\` with the seed's defaults — ${shape} — read in one statement (one snapshot, one round trip), then its \`memory_retrieved\` record committed through the group commit before the answer. Goal: p99 < 20 ms.`,
      '',
      table,
      '',
      verdict(rows[0]!.result, rows[0]!.load, baseline),
      '',
      WHERE_THE_TIME_GOES,
      '',
      'Plan (EXPLAIN ANALYZE on the loaded database; the statement runs inside the function `shared_context` and the memories inside `shared_memories`, PL/pgSQL functions whose plans are kept per session and which EXPLAIN does not open; `sql/021_shared_context_index.sql` adds the two indexes it uses for the agents and the decisions):',
      '',
      ...plans.flatMap(([what, plan]) => [`${what}:`, '', '```', ...plan, '```', '']),
    ].join('\n');
    writeSection(REPORT, section, TITLE);
    log(`\nwrote "${TITLE}" in BENCHMARKS.md`);
  } finally {
    stub.close();
    await server.stop();
  }
}

await main();
