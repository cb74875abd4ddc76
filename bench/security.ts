// What authentication and the log's hash chain cost (issue 11): appends/s and GetMemory latency
// on GRPC_PORT with both on, against the same checkout without them (AUTH_ANONYMOUS=true, no key
// sent, and the hash-chain trigger disabled in its database once the server has migrated it), and
// with each alone. One checkout, so the configurations differ by these costs only.
//
// The machine is shared (2 cores, other engineers' suites): calls/s moved by up to 70 % between
// rounds of one configuration. So: one server per configuration, all started once and kept
// running; many short runs, the configurations taking turns within each workload of each round
// (the order rotating), so that other load falls on all alike; medians with their range; and CPU
// per call from /proc, of the server process and of its database's PostgreSQL backends, which
// other load moves far less than calls/s. Ratios are taken per round (on / off of the same round)
// and their median reported.
// Load from h2load (one process per stream, one call in flight per connection).
//
// At the end, per configuration: how many batches repeated a stream (append_batch takes them
// set-wise too since the chain branch; before, they took its loop), and, where events were hashed,
// `auren audit verify` of the whole log.
//
//   npx tsx bench/security.ts            (BENCH_DATABASE_URL, BENCH_ROUNDS=8,
//                                         BENCH_DATABASE_PREFIX=auren_security_bench_,
//                                         BENCH_CONFIGS=pair: on and off only)
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { create, toBinary } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import pg from 'pg';
import { createKeyStore } from '../src/auth/keys.js';
import { CHAIN_KEY_PURPOSE, loadServerSecret, PEPPER_PURPOSE } from '../src/auth/secret.js';
import { migrate } from '../src/db/migrate.js';
import { openPool } from '../src/db/pool.js';
import { chainPads } from '../src/events/chain.js';
import { verifyChains } from '../src/events/verifyChains.js';
import { AppendToStreamRequestSchema, ExpectedVersionKind } from '../src/gen/auren/v1/events_pb.js';
import { GetMemoryRequestSchema, MemoryService, MemoryType } from '../src/gen/auren/v1/memory_pb.js';
import { createLogger } from '../src/log.js';
import { databaseUrl } from './databases.js';
import { h2loadAll as h2loadOnce, p } from './h2load.js';
import type { H2loadResult } from './h2load.js';
import { startServer } from './server.js';
import type { ServerProcess } from './server.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.BENCH_ROUNDS || 8);
const DATABASE_PREFIX = process.env.BENCH_DATABASE_PREFIX || 'auren_security_bench_';
const SECRET = 'bench-secret-bench-secret-bench-secret-00';
// Clock ticks per second of /proc/<pid>/stat (getconf CLK_TCK: 100 on Linux x86-64).
const TICK_US = 10_000;

interface Config {
  name: string;
  env: Record<string, string>;
  /** Sends a key. */
  key: boolean;
  /** Events are hashed (else the events_chain trigger is disabled). */
  chain: boolean;
}
const ALL_CONFIGS: Config[] = [
  { name: 'on (keys + hash chain)', env: { AUTH_ANONYMOUS: 'false' }, key: true, chain: true },
  { name: 'off (AUTH_ANONYMOUS, chain trigger disabled)', env: { AUTH_ANONYMOUS: 'true' }, key: false, chain: false },
  { name: 'hash chain only', env: { AUTH_ANONYMOUS: 'true' }, key: false, chain: true },
  { name: 'keys only', env: { AUTH_ANONYMOUS: 'false' }, key: true, chain: false },
];
// BENCH_CONFIGS=pair: only on and off, the goal's comparison, in half the time.
const CONFIGS = process.env.BENCH_CONFIGS === 'pair' ? ALL_CONFIGS.slice(0, 2) : ALL_CONFIGS;
const [ON, OFF] = [CONFIGS[0]!, CONFIGS[1]!];

interface Workload {
  name: string;
  /** Calls in one run. */
  calls: number;
}
const WORKLOADS: Workload[] = [
  { name: 'AppendToStream, 8 clients', calls: 2_000 },
  { name: 'AppendToStream, 32 clients', calls: 4_000 },
  { name: 'GetMemory, 8 clients', calls: 2_000 },
];

interface Target {
  config: Config;
  database: string;
  server: ServerProcess;
  headers: Record<string, string>;
  memoryId: string;
  /** Appends sent, to check against the database at the end (h2load counts a gRPC error as a success). */
  appends: number;
}

interface Sample {
  config: string;
  workload: string;
  round: number;
  callsPerSecond: number;
  p50: number;
  p99: number;
  /** CPU per call, µs: the server process, and its database's PostgreSQL backends. */
  serverUs: number;
  postgresUs: number;
  load: string;
}

const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

/** utime + stime of a process, µs; undefined when it is gone. */
function cpuOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return undefined;
  }
}

async function backends(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database]);
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const used = cpuOf(pid);
    if (used !== undefined) cpu.set(pid, used);
  }
  return cpu;
}

/** CPU the database's backends used between two snapshots: a backend born meanwhile counts whole. */
function backendsUsed(before: Map<number, number>, after: Map<number, number>): number {
  let used = 0;
  for (const [pid, now] of after) used += now - (before.get(pid) ?? 0);
  return used;
}

async function prepare(admin: pg.Client, config: Config, index: number): Promise<Target> {
  const database = `${DATABASE_PREFIX}${index}`;
  await admin.query(`drop database if exists ${database} with (force)`);
  await admin.query(`create database ${database}`);
  const url = databaseUrl(ADMIN_URL, database);
  // The schema and an admin key made beforehand, so the server makes none of its own.
  await migrate(url, createLogger('warn'));
  let key: string | undefined;
  if (config.key) {
    const pool = await openPool({ url, maximumPoolSize: 1 });
    try {
      const secret = await loadServerSecret({ secret: SECRET, dataDir: '/nonexistent' });
      const keys = createKeyStore({ pool, peppers: secret.deriveAll(PEPPER_PURPOSE), cacheMs: 0 });
      key = (await keys.create({ kind: 'admin', name: 'bench' })).key;
    } finally {
      await pool.end();
    }
  }
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const server = await startServer(url, 16, { AUREN_SECRET: SECRET, ...config.env });
  if (!config.chain) {
    // After the server's own migration, which re-creates the trigger.
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query('alter table events disable trigger events_chain');
    await db.end();
  }
  const memory = createClient(MemoryService, createGrpcTransport({ baseUrl: server.grpcUrl }));
  const stored = await memory.storeMemory(
    { agentId: 'bench', userId: 'user_bench', type: MemoryType.FACT, content: { text: 'sleeps six hours' }, confidence: 0.9 },
    { headers },
  );
  return { config, database, server, headers, memoryId: stored.memory!.id, appends: 0 };
}

function load(target: Target, workload: Workload, round: number): Promise<H2loadResult> {
  const { server, headers } = target;
  if (workload.name.startsWith('GetMemory'))
    return h2loadAll([
      {
        url: server.grpcUrl,
        path: '/auren.v1.MemoryService/GetMemory',
        message: toBinary(GetMemoryRequestSchema, create(GetMemoryRequestSchema, { id: target.memoryId })),
        requests: workload.calls,
        connections: 8,
        headers,
      },
    ]);
  // Eight streams, one h2load process each, with one or four connections: 8 or 32 clients.
  const connectionsEach = workload.name.includes('32') ? 4 : 1;
  target.appends += workload.calls;
  return h2loadAll(
    Array.from({ length: 8 }, (_, i) => ({
      url: server.grpcUrl,
      path: '/auren.v1.EventStoreService/AppendToStream',
      message: toBinary(
        AppendToStreamRequestSchema,
        create(AppendToStreamRequestSchema, {
          streamId: `bench-${round}-${connectionsEach}-${i}`,
          expected: { kind: ExpectedVersionKind.ANY },
          events: [{ type: 'measured', data: { heart_rate: 61, note: 'resting, after a walk' } }],
        }),
      ),
      requests: workload.calls / 8,
      connections: connectionsEach,
      headers,
    })),
  );
}

async function measure(admin: pg.Client, target: Target, workload: Workload, round: number): Promise<Sample> {
  const serverBefore = cpuOf(target.server.pid)!;
  const backendsBefore = await backends(admin, target.database);
  const result = await load(target, workload, round);
  const serverAfter = cpuOf(target.server.pid)!;
  const backendsAfter = await backends(admin, target.database);
  if (result.failed > 0) throw new Error(`${target.config.name}, ${workload.name}: ${result.failed} calls failed`);
  return {
    config: target.config.name,
    workload: workload.name,
    round,
    callsPerSecond: result.requests / result.seconds,
    p50: p(result, 0.5),
    p99: p(result, 0.99),
    serverUs: (serverAfter - serverBefore) / result.requests,
    postgresUs: backendsUsed(backendsBefore, backendsAfter) / result.requests,
    load: loadAverage(),
  };
}

// h2load now and then ends without its summary on this loaded machine: such a run is repeated.
async function h2loadAll(runs: Parameters<typeof h2loadOnce>[0]): ReturnType<typeof h2loadOnce> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await h2loadOnce(runs);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("cannot read h2load's output")) throw error;
      process.stderr.write(`h2load gave no summary; again (${attempt})\n`);
    }
  }
}

const started = new Date().toISOString();
const loadBefore = loadAverage();
process.stderr.write(`load before: ${loadBefore}\n`);
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
const targets: Target[] = [];
const samples: Sample[] = [];
const batchShapes: { config: string; workload: string; batches: number; events: number; repeated: number }[] = [];
const verified: string[] = [];
try {
  for (const [i, config] of CONFIGS.entries()) targets.push(await prepare(admin, config, i));
  // Warm-up: every workload once on every server, not measured.
  for (const workload of WORKLOADS) for (const target of targets) await load(target, { ...workload, calls: workload.calls / 5 }, 0);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const workload of WORKLOADS) {
      // The order rotates, so that no configuration always runs first or after the same one.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const target of order) {
        const sample = await measure(admin, target, workload, round);
        samples.push(sample);
        process.stderr.write(`${JSON.stringify(sample)}\n`);
      }
    }
  }
  for (const target of targets) {
    const db = new pg.Client({ connectionString: databaseUrl(ADMIN_URL, target.database) });
    await db.connect();
    const stored = (await db.query<{ n: number }>(`select count(*)::int as n from events where stream_id like 'bench-%'`)).rows[0]!.n;
    const hashed = (await db.query<{ n: number }>(`select count(*)::int as n from events where hash is not null`)).rows[0]!.n;
    // At least: a run h2load did not summarize is repeated, and its first try may have appended.
    if (stored < target.appends) throw new Error(`${target.config.name}: ${stored} of ${target.appends} appends stored`);
    if (target.config.chain !== hashed > 0) throw new Error(`${target.config.name}: ${hashed} events hashed`);
    // A batch's events share their created_at (its transaction's now()).
    const shapes = await db.query<{ workload: string; batches: number; events: number; repeated: number }>(`
      with b as (
        select count(*) as n, count(distinct stream_id) as s,
               case when bool_or(stream_id like 'access-%') then 'GetMemory, 8 clients'
                    when bool_or(stream_id like 'bench-%-4-%') then 'AppendToStream, 32 clients'
                    else 'AppendToStream, 8 clients' end as workload
          from events where stream_id like 'bench-%' or stream_id like 'access-%' group by created_at)
      select workload, count(*)::int as batches, round(avg(n), 1)::float8 as events, count(*) filter (where s < n)::int as repeated
        from b group by workload order by workload`);
    for (const row of shapes.rows) batchShapes.push({ config: target.config.name, ...row });
    if (target.config.chain) {
      const pool = await openPool({ url: databaseUrl(ADMIN_URL, target.database), maximumPoolSize: 1 });
      try {
        const secret = await loadServerSecret({ secret: SECRET, dataDir: '/nonexistent' });
        const keys = secret.deriveAll(CHAIN_KEY_PURPOSE).map(({ secretId, key }) => ({ secretId, pads: chainPads(key) }));
        const report = await verifyChains(pool, keys, { streamId: null });
        if (report.problemCount > 0) throw new Error(`${target.config.name}: ${report.problemCount} chain problems`);
        verified.push(`${target.config.name}: ${report.checked} events verified`);
      } finally {
        await pool.end();
      }
    }
    await db.end();
  }
} finally {
  for (const target of targets) await target.server.stop();
  await admin.end();
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const median = (values: number[]) => {
  const s = sorted(values);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => n.toFixed(1);
const pct = (ratio: number) => `${ratio >= 1 ? '+' : '−'}${Math.abs((ratio - 1) * 100).toFixed(0)} %`;
const of = (config: Config, workload: Workload) => samples.filter((s) => s.config === config.name && s.workload === workload.name);
// "median (min–max)" of one field.
const spread = (values: number[], format: (n: number) => string) => {
  const s = sorted(values);
  return `${format(median(s))} (${format(s[0]!)}–${format(s.at(-1)!)})`;
};
// The on/off ratio of each round, paired: their median and range.
const paired = (workload: Workload, config: Config, field: (s: Sample) => number) => {
  const ratios = of(config, workload).map((s) => field(s) / field(of(OFF, workload).find((o) => o.round === s.round)!));
  const s = sorted(ratios);
  return `${pct(median(s))} (${pct(s[0]!)} to ${pct(s.at(-1)!)})`;
};
const lines = [
  `Run ${started}, ${ROUNDS} rounds; load average before ${loadBefore}, after ${loadAverage()}. Checkout at ${execSync('git rev-parse --short HEAD').toString().trim()}.`,
  'Every figure: the median of the rounds, (min–max) beside it. CPU per call: µs of the server process and of its',
  "database's PostgreSQL backends (/proc/<pid>/stat), divided by the calls of the run.",
  '',
  '| workload | configuration | calls/s | p50 ms | p99 ms | server CPU µs/call | PostgreSQL CPU µs/call |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...WORKLOADS.flatMap((w) =>
    CONFIGS.map((c) => {
      const mine = of(c, w);
      return `| ${w.name} | ${c.name} | ${spread(
        mine.map((s) => s.callsPerSecond),
        f0,
      )} | ${spread(
        mine.map((s) => s.p50),
        f1,
      )} | ${spread(
        mine.map((s) => s.p99),
        f1,
      )} | ${spread(
        mine.map((s) => s.serverUs),
        f0,
      )} | ${spread(
        mine.map((s) => s.postgresUs),
        f0,
      )} |`;
    }),
  ),
  '',
  'Against *off*, paired by round (median of the rounds\u2019 ratios, and their range):',
  '',
  '| workload | configuration | calls/s | p99 | server + PostgreSQL CPU per call |',
  '| --- | --- | ---: | ---: | ---: |',
  ...WORKLOADS.flatMap((w) =>
    CONFIGS.filter((c) => c !== OFF).map(
      (c) =>
        `| ${w.name} | ${c.name} | ${paired(w, c, (s) => s.callsPerSecond)} | ${paired(w, c, (s) => s.p99)} | ${paired(
          w,
          c,
          (s) => s.serverUs + s.postgresUs,
        )} |`,
    ),
  ),
  '',
  `(*${ON.name}* vs *${OFF.name}*: the goal is within 10 %.)`,
  '',
  'Batches (warm-up included; a batch\u2019s events share their created_at):',
  '',
  '| workload | configuration | batches | events a batch | batches repeating a stream |',
  '| --- | --- | ---: | ---: | ---: |',
  ...batchShapes.map(
    (b) => `| ${b.workload} | ${b.config} | ${b.batches} | ${b.events} | ${b.repeated} (${Math.round((100 * b.repeated) / b.batches)} %) |`,
  ),
  '',
  `auren audit verify: ${verified.join('; ')}.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
