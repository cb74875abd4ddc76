// The append part of `npm run bench`: single-event and 100-event appends of AUREN (through its
// gRPC listener), Emmett in-process and plain INSERTs on one PostgreSQL, closed loop at 1, 8 and
// 32 clients; AUREN again with @grpc/grpc-js clients; hot streams and the trivial call with h2load.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import pg from 'pg';
import { HealthCheckRequestSchema } from '../src/gen/health/v1/health_pb.js';
import { runClosedLoop } from './append.js';
import type { RunResult } from './append.js';
import type { BenchConfig, Scenario } from './config.js';
import { cpuMeter } from './cpu.js';
import type { CpuSnapshot } from './cpu.js';
import { analyze, checkpoint, DATABASES, postgresPids, recreateDatabases } from './databases.js';
import { h2load, h2loadAll } from './h2load.js';
import type { H2loadResult } from './h2load.js';
import { payloads } from './payload.js';
import { startServer } from './server.js';
import type { ServerProcess } from './server.js';
import { aurenTarget, SLOW_CLIENT } from './targets/auren.js';
import { emmettTarget } from './targets/emmett.js';
import { plainPgTarget } from './targets/plainPg.js';
import type { BenchTarget } from './targets/target.js';
import { appendRequest, PATHS } from './wire/messages.js';

const PRIME = { eventsPerAppend: 100, clients: 8 };
const PRIME_LIMIT_MS = 120_000;

/** The closed-loop targets: AUREN with the cheap client, Emmett, plain pg, AUREN with @grpc/grpc-js. */
export const TARGETS = ['auren', 'emmett', 'pg', 'aurenGrpcJs'] as const;
export type TargetName = (typeof TARGETS)[number];
/** Which database each target writes to. */
const DATABASE_OF: Record<TargetName, keyof typeof DATABASES> = { auren: 'auren', aurenGrpcJs: 'auren', emmett: 'emmett', pg: 'pg' };

export interface ScenarioResult {
  scenario: Scenario;
  results: Partial<Record<TargetName, RunResult>>;
}

/** h2load runs: calls, what they cost, and where. */
export interface H2loadMeasure {
  clients: number;
  /** Streams appended to (hot-stream runs), one h2load process each. */
  streams: number;
  result: H2loadResult;
  cpu: CpuSnapshot | null;
}

export interface AppendResults {
  scenarios: ScenarioResult[];
  hot: H2loadMeasure[];
  health: H2loadMeasure;
  /** The same calls to a bare @grpc/grpc-js server with grpc-health-check (bench/bareHealthServer.ts): the machine's floor. */
  healthBare?: H2loadMeasure;
  /** Server CPU per call of every round of the trivial call, µs, in the order run. */
  healthRounds?: { auren: number[]; bare: number[] };
  /** The gRPC listener called. */
  listener: ServerProcess['grpcListener'];
  seconds: number;
}

interface Context {
  postgresIsLocal: boolean;
  log: (line: string) => void;
}

/** Streams of the hot-stream runs: one h2load process each. */
const HOT_STREAMS = 4;
export const HEALTH_CALLS = 20_000;
export const HEALTH_CONNECTIONS = 8;
/** Turns of the trivial call on AUREN and on the bare server; the median round of each is reported. */
export const HEALTH_ROUNDS = 3;

export async function runAppendBench(config: BenchConfig, ctx: Context): Promise<AppendResults> {
  const { log } = ctx;
  const started = Date.now();
  const urls = await recreateDatabases(config.adminUrl);
  const server = await startServer(urls.auren, config.serverPoolSize);
  log(`AUREN server: gRPC on ${server.grpcListener}`);
  const targets: Record<TargetName, BenchTarget> = {
    auren: aurenTarget(server, urls.auren, 'wire', config.grpcConnections),
    aurenGrpcJs: aurenTarget(server, urls.auren, SLOW_CLIENT, config.grpcConnections),
    emmett: await emmettTarget(urls.emmett),
    pg: await plainPgTarget(urls.pg),
  };
  const stored: Record<keyof typeof DATABASES, number> = { auren: 0, emmett: 0, pg: 0 };
  const scenarios: ScenarioResult[] = [];
  const hot: H2loadMeasure[] = [];
  let health: H2loadMeasure | undefined;
  let healthBare: H2loadMeasure | undefined;
  let healthRounds: AppendResults['healthRounds'];
  try {
    // Untimed: every database starts from the same number of stored events, past the near-empty-table plans.
    if (config.primeEvents > 0) {
      for (const name of ['auren', 'emmett', 'pg'] as const) {
        const open = await targets[name].open(PRIME);
        try {
          const r = await runClosedLoop({
            label: 'prime',
            ...PRIME,
            warmupMs: 0,
            measureMs: PRIME_LIMIT_MS,
            maxAppends: Math.ceil(config.primeEvents / PRIME.eventsPerAppend),
            append: open.append,
          });
          stored[name] += r.totalAppends * PRIME.eventsPerAppend;
        } finally {
          await open.close();
        }
      }
      log(
        `primed: ${Object.entries(stored)
          .map(([t, n]) => `${t} ${n} events`)
          .join(', ')} (untimed)`,
      );
    }

    for (const scenario of config.scenarios) {
      const results: ScenarioResult['results'] = {};
      for (const name of TARGETS) {
        if (name === 'aurenGrpcJs' && (scenario.eventsPerAppend !== 1 || !config.grpcJsTable)) continue;
        const target = targets[name];
        const database = DATABASE_OF[name];
        await analyze(urls[database]);
        await checkpoint(config.adminUrl);
        const open = await target.open(scenario);
        let r: RunResult;
        try {
          const meter = cpuMeter({ serverPid: target.serverPid, postgresIsLocal: ctx.postgresIsLocal });
          r = await runClosedLoop({
            label: `${name}-e${scenario.eventsPerAppend}c${scenario.clients}`,
            clients: scenario.clients,
            eventsPerAppend: scenario.eventsPerAppend,
            warmupMs: config.warmupSeconds * 1000,
            measureMs: config.seconds * 1000,
            append: open.append,
            window: meter,
          });
          // While the pools are still open: which PostgreSQL processes served this target.
          if (r.cpu && ctx.postgresIsLocal) r.cpu = meter.restrict(r.cpu, await postgresPids(config.adminUrl, DATABASES[database]));
        } finally {
          await open.close();
        }
        results[name] = r;
        stored[database] += r.totalAppends * scenario.eventsPerAppend;
        log(
          `${String(scenario.eventsPerAppend).padStart(3)} ev/append ${String(scenario.clients).padStart(2)} clients  ${name.padEnd(11)} ` +
            `${Math.round(r.eventsPerSecond).toString().padStart(7)} ev/s ${Math.round(r.appendsPerSecond).toString().padStart(6)} appends/s  ` +
            `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`,
        );
      }
      scenarios.push({ scenario, results });
    }

    // Hot streams: h2load sends one body, so every call appends the same event (id left to the
    // server) to the same stream, expected version ANY: HOT_STREAMS streams, one h2load each.
    const hotEvent = payloads(0, 0, 1)[0] as never;
    for (const clients of config.hotClients) {
      const streams = Math.min(clients, HOT_STREAMS);
      const runs = (requestsEach: number, round: string) =>
        Array.from({ length: streams }, (_, i) => ({
          url: server.grpcUrl,
          path: PATHS.append,
          message: appendRequest(`hot-${clients}-${round}-${i}`, [hotEvent], 'any'),
          requests: requestsEach,
          connections: clients / streams,
        }));
      // Warm-up, which also tells the rate: the measured run is sized to last about BENCH_SECONDS.
      await analyze(urls.auren);
      await checkpoint(config.adminUrl);
      const warm = await h2loadAll(runs(Math.max(20, Math.round((clients * 100) / streams)), 'w'));
      const rate = warm.succeeded / warm.seconds;
      const each = Math.max(clients, Math.round((rate * config.seconds) / streams));
      const meter = cpuMeter({ serverPid: server.pid, postgresIsLocal: ctx.postgresIsLocal });
      meter.start();
      const result = await h2loadAll(runs(each, 'm'));
      let cpu = meter.stop();
      if (ctx.postgresIsLocal) cpu = meter.restrict(cpu, await postgresPids(config.adminUrl, DATABASES.auren));
      // h2load counts a gRPC error as a success (HTTP 200): the streams must hold every call.
      const { rows } = await query(urls.auren, `select count(*)::int as n from events where stream_id like $1`, [`hot-${clients}-%`]);
      const calls = warm.requests + result.requests;
      if (warm.succeeded + result.succeeded !== calls || rows[0].n !== calls) {
        throw new Error(
          `hot streams, ${clients} clients: ${calls} calls, ${warm.succeeded + result.succeeded} HTTP 2xx, ${rows[0].n} events stored`,
        );
      }
      stored.auren += calls;
      hot.push({ clients, streams, result, cpu });
      log(
        `hot streams ${String(clients).padStart(2)} clients over ${streams} streams (h2load)  ${Math.round(result.succeeded / result.seconds)} appends/s`,
      );
    }

    // The trivial call: grpc.health.v1.Health/Check, no database. CPU per call moves with whatever
    // else the machine does (a bare server measured 99 and 139 µs on two days), so AUREN and a
    // bare grpc-js server take turns, HEALTH_ROUNDS each, and each keeps its median round.
    const healthRun = (requests: number, url: string) => ({
      url,
      path: PATHS.health,
      message: toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, {})),
      requests,
      connections: HEALTH_CONNECTIONS,
    });
    const measureHealth = async (url: string, pid: number): Promise<H2loadMeasure> => {
      await h2load(healthRun(HEALTH_CALLS / 10, url));
      const meter = cpuMeter({ serverPid: pid, postgresIsLocal: ctx.postgresIsLocal });
      meter.start();
      const result = await h2load(healthRun(HEALTH_CALLS, url));
      const cpu = meter.stop();
      if (result.succeeded !== HEALTH_CALLS) throw new Error(`Health/Check: ${result.succeeded} of ${HEALTH_CALLS} answered`);
      return { clients: HEALTH_CONNECTIONS, streams: 0, result, cpu };
    };
    const bare = await startBareHealthServer();
    const rounds: { auren: H2loadMeasure[]; bare: H2loadMeasure[] } = { auren: [], bare: [] };
    try {
      for (let round = 0; round < HEALTH_ROUNDS; round++) {
        rounds.auren.push(await measureHealth(server.grpcUrl, server.pid));
        rounds.bare.push(await measureHealth(bare.url, bare.pid));
      }
    } finally {
      bare.stop();
    }
    const perCall = (m: H2loadMeasure) => (m.cpu!.server! * 1000) / HEALTH_CALLS;
    healthRounds = { auren: rounds.auren.map(perCall), bare: rounds.bare.map(perCall) };
    health = medianRound(rounds.auren);
    healthBare = medianRound(rounds.bare);
    log(
      `Health/Check (h2load, ${HEALTH_CONNECTIONS} connections, ${HEALTH_ROUNDS} rounds): server ` +
        `${healthRounds.auren.map(Math.round).join(', ')} µs/call; a bare grpc-js server ${healthRounds.bare.map(Math.round).join(', ')} µs/call`,
    );

    // Every append the clients saw succeed must be in its database, no more, no less.
    for (const name of ['auren', 'emmett', 'pg'] as const) {
      const count = await targets[name].countEvents();
      if (count !== stored[name]) throw new Error(`${name}: ${count} events stored, but ${stored[name]} appended`);
    }
    log(
      `checked: every appended event is stored (${Object.entries(stored)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')})`,
    );
  } finally {
    await server.stop();
  }
  return {
    scenarios,
    hot,
    health: health!,
    healthBare,
    healthRounds,
    listener: server.grpcListener,
    seconds: (Date.now() - started) / 1000,
  };
}

async function query(url: string, text: string, values: unknown[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** The round whose server CPU is the median of an odd number of rounds. */
function medianRound(rounds: H2loadMeasure[]): H2loadMeasure {
  const sorted = [...rounds].sort((a, b) => a.cpu!.server! - b.cpu!.server!);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Starts bench/bareHealthServer.ts as a child process and waits for its port. */
async function startBareHealthServer(): Promise<{ url: string; pid: number; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./bareHealthServer.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /PORT (\d+)/.exec(out);
      if (found) resolve(Number(found[1]));
    });
    child.once('exit', (code) => reject(new Error(`the bare grpc-js server exited (${code}) before it listened`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}
