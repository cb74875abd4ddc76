// The cost of metrics on the append path (issue 13): single-event appends/s and server CPU per
// append of two AUREN servers running at the same time, each on its own database, one
// instrumented as in production (METRICS=true: RPC metrics, request ids, statement timing
// through the slonik interceptor, events counted) and one with METRICS=false, so that other
// load on the machine falls on both alike. Goal: < 5 % fewer appends/s.
//
//   npx tsx bench/metricsCost.ts     (BENCH_METRICS_ROUNDS, BENCH_SECONDS, BENCH_DATABASE_URL, BENCH_WRITE=0)
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { pino } from 'pino';
import { EventStoreService } from '../src/gen/auren/v1/events_pb.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { queryMetrics } from '../src/metrics/queryMetrics.js';
import { createCallObserver } from '../src/rpc/observeCall.js';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runClosedLoop } from './append.js';
import type { RunResult } from './append.js';
import { cpuMeter } from './cpu.js';
import { databaseUrl, machineFacts } from './databases.js';
import { startServer } from './server.js';
import type { ServerProcess } from './server.js';
import { int, markdownTable, textTable, writeSection } from './tables.js';
import { aurenTarget } from './targets/auren.js';

const REPORT = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
export const METRICS_SECTION_TITLE = '## Cost of metrics on the append path (issue 13)';
const DATABASE = 'metrics_bench';
const CLIENTS = 8;
const WHICH = ['on', 'off'] as const;
type Which = (typeof WHICH)[number];

interface Round {
  instrumented: boolean;
  result: RunResult;
  loadavg: number;
}

async function main(): Promise<void> {
  const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const rounds = Number(process.env.BENCH_METRICS_ROUNDS || 4);
  const seconds = Number(process.env.BENCH_SECONDS || 5);
  const write = process.env.BENCH_WRITE !== '0';
  const facts = await machineFacts(adminUrl);
  // One database each: the two logs do not share a counter row, so neither waits on the other's appends.
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const which of WHICH) {
    await admin.query(`drop database if exists ${DATABASE}_${which} with (force)`);
    await admin.query(`create database ${DATABASE}_${which}`);
  }
  await admin.end();
  const urls = { on: databaseUrl(adminUrl, `${DATABASE}_on`), off: databaseUrl(adminUrl, `${DATABASE}_off`) };

  const servers: Record<Which, ServerProcess> = {
    on: await startServer(urls.on, 32, { METRICS: 'true' }),
    // BENCH_METRICS_OFF_ENV (JSON) replaces the second server's settings: to compare other pairs.
    off: await startServer(
      urls.off,
      32,
      process.env.BENCH_METRICS_OFF_ENV ? JSON.parse(process.env.BENCH_METRICS_OFF_ENV) : { METRICS: 'false' },
    ),
  };
  const started = new Date();
  const results: Round[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // Both at once: whatever else runs on the machine at that moment falls on both alike.
      // The one whose clients start first runs slower (an A/A run showed ~10 %): the order alternates.
      const order = round % 2 === 0 ? WHICH : ([...WHICH].reverse() as Which[]);
      const turn = await Promise.all(
        order.map(async (which) => {
          const server = servers[which];
          const session = await aurenTarget(server, urls[which], 'wire', 'per-client').open({ clients: CLIENTS, eventsPerAppend: 1 });
          const result = await runClosedLoop({
            label: `metrics ${which} round ${round + 1}`,
            clients: CLIENTS,
            eventsPerAppend: 1,
            warmupMs: 1_000,
            measureMs: seconds * 1_000,
            append: (client, _streamId, seq) => session.append(client, `metrics-${which}-${round}-${client}-${seq}`, seq),
            window: cpuMeter({ serverPid: server.pid, postgresIsLocal: false }),
          });
          await session.close();
          return { instrumented: which === 'on', result, loadavg: os.loadavg()[0]! };
        }),
      );
      results.push(...turn.sort((a, b) => Number(b.instrumented) - Number(a.instrumented)));
      process.stdout.write(
        `round ${round + 1}: ${turn.map((r) => `METRICS=${r.instrumented} ${int(r.result.appendsPerSecond)}/s`).join(', ')}\n`,
      );
    }
  } finally {
    await Promise.all([servers.on.stop(), servers.off.stop()]);
  }

  const rows = results.map((r, i) => [
    String(Math.floor(i / 2) + 1),
    r.instrumented ? 'on' : 'off',
    int(r.result.appendsPerSecond),
    r.result.p50.toFixed(2),
    r.result.p99.toFixed(1),
    perAppend(r.result, 'server'),
    r.loadavg.toFixed(1),
  ]);
  const head = ['round', 'metrics', 'appends/s', 'p50 ms', 'p99 ms', 'server µs/append', 'load avg 1 min'];
  process.stdout.write(`\n${textTable(head, rows)}\n`);
  const on = results.filter((r) => r.instrumented).map((r) => r.result);
  const off = results.filter((r) => !r.instrumented).map((r) => r.result);
  // Per round, the two ran at the same moment: their ratio is the figure; the median over rounds.
  const rateOn = median(on.map((r) => r.appendsPerSecond));
  const rateOff = median(off.map((r) => r.appendsPerSecond));
  const ratio = median(on.map((r, i) => r.appendsPerSecond / off[i]!.appendsPerSecond));
  const cpuOn = median(on.map((r) => serverMicros(r)));
  const cpuOff = median(off.map((r) => serverMicros(r)));
  const cost = 1 - ratio;
  const direct = directCost();
  const directLine =
    `Measured directly (in this process, no I/O, ${int(DIRECT_ITERATIONS)} iterations after as many of warm-up): the instrumentation of one ` +
    `append — the call observed on GRPC_PORT (started, handled, latency histogram, request id made), its append_batch statement timed by name, ` +
    `its event counted — costs **${direct.toFixed(1)} µs** of CPU, ${((direct / QUIET_SERVER_MICROS) * 100).toFixed(1)} % of the ` +
    `${QUIET_SERVER_MICROS} µs of server CPU per single-event append at 8 clients in the quiet run of "Append throughput" ` +
    `(an upper bound: at 8 clients a statement carries ~6 appends, timed once).`;
  process.stdout.write(`\n${directLine}\n`);
  const summary =
    `Median of ${rounds} rounds: ${int(rateOn)} appends/s with metrics, ${int(rateOff)} without; median ratio of each round's pair ` +
    `${ratio.toFixed(3)}: ${(cost * 100).toFixed(1)} % fewer appends/s (goal < 5 %: **${cost < 0.05 ? 'met' : 'not met'}**); ` +
    `server CPU ${int(cpuOn)} µs per append with, ${int(cpuOff)} µs without (${int(cpuOn - cpuOff)} µs, ${(((cpuOn - cpuOff) / cpuOff) * 100).toFixed(1)} %).`;
  process.stdout.write(`\n${summary}\n`);
  if (!write) return;
  const section = `${METRICS_SECTION_TITLE}

Command: \`npx tsx bench/metricsCost.ts\`, run ${started.toISOString()}. ${facts.cores} cores, Node ${facts.node}, ${facts.postgres.split(' on ')[0]} at ${facts.postgresHost}.

How it is measured: two AUREN servers (\`node --import tsx src/cli.ts serve\`, LOG_LEVEL=warn, DB_POOL_SIZE=32), each on a fresh database of its own, one with \`METRICS=true\` (the default: gRPC server metrics and request ids on every call, each statement timed by name through the slonik interceptor, events counted by type) and one with \`METRICS=false\` (none of it; /metrics still answers). Single-event appends to new streams on GRPC_PORT, ${CLIENTS} clients on each in a closed loop (the bench's wire client, bench/wire/h2c.ts), 1 s warm-up and ${seconds} s measured, **both servers at the same time**, ${rounds} rounds: whatever else runs on the machine at a given moment (other engineers' test suites and benchmarks shared these 2 cores: see the 1-minute load average) falls on both alike, and the figure is the median over rounds of each round's ratio. The two servers also compete with each other, so the absolute rates are about half of a server alone. *server µs* is the server process's CPU per append (/proc). No scrape runs during the measurement (a scrape reads PostgreSQL off the request path). The order in which the two start their clients alternates each round: an A/A run (both servers METRICS=true, \`BENCH_METRICS_OFF_ENV='{"METRICS":"true"}'\`) showed the first one ~10 % slower with a fixed order, and a ratio of 1.053 over 6 rounds with the order alternating (2026-12-01 17:48, load average ~7): that is this method's resolution on a machine this busy, coarser than the 5 % goal, which is why the instrumentation's CPU is also measured directly.

${directLine}

End to end: ${summary}

Where the server's CPU goes with metrics on (one-off: \`BENCH_SERVER_CPU_PROF=DIR BENCH_METRICS_ROUNDS=3 npx tsx bench/metricsCost.ts\`, then \`npx tsx bench/cpuProfile.ts\` on each server's profile; 2026-12-01 17:54, load average ~12): in the instrumented server, prom-client (0.4 %) and our own metrics code (src/metrics, src/rpc/observeCall.ts: 0.6 %) took 1.0 % of all samples while the process was busy 27.8 % of them, i.e. **about 3.6 % of the server's CPU** — more than the direct figure above (label hashing, histogram buckets and the request id's header in context), below the 5 % goal. The end-to-end server µs per append differ by more than that between the two servers (up to ±25 % from one round to the next, either way), which at this load is the machine, not the metrics: with the load this high, read the server-CPU column as noise around a difference of a few per cent.

${markdownTable(head, rows)}
`;
  writeSection(REPORT, section, METRICS_SECTION_TITLE);
  process.stdout.write(`wrote ${REPORT}\n`);
}

const DIRECT_ITERATIONS = 200_000;
// Server CPU per single-event append, 8 clients, GRPC_PORT: "Append throughput", run 2026-12-01 16:33 (other load 0.10).
const QUIET_SERVER_MICROS = 689;

// CPU µs per append of the instrumentation alone, through the same functions the server calls.
function directCost(): number {
  const metrics = createMetrics();
  const observer = createCallObserver({ metrics: metrics.rpc, log: pino({ level: 'warn' }), accessLog: true });
  const interceptor = queryMetrics({ registry: metrics.registry, log: pino({ level: 'warn' }), slowQueryMs: 500 });
  const method = EventStoreService.method.appendToStream;
  const headers: Record<string, string> = { 'x-auren-agent': 'bench' };
  const appended = [{ events: [{ type: 'memory_created' }] }];
  const once = () => {
    const observed = observer.begin({ method, listener: 'GRPC_PORT', protocol: 'grpc', header: (name) => headers[name] });
    const sql = `/* auren append batch "${randomUUID()}" */ select * from append_batch($1::jsonb)`;
    const context = { queryInputTime: process.hrtime.bigint(), sandbox: {} } as never;
    interceptor.afterQueryExecution!(context, { sql, values: [] }, {} as never);
    metrics.appended(appended);
    observed.end(0);
  };
  for (let i = 0; i < DIRECT_ITERATIONS; i++) once();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < DIRECT_ITERATIONS; i++) once();
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / DIRECT_ITERATIONS;
}

function serverMicros(result: RunResult): number {
  return result.cpu?.server == null ? Number.NaN : (result.cpu.server * 1000) / result.appends;
}

function perAppend(result: RunResult, what: 'server' | 'postgres'): string {
  const ms = result.cpu?.[what];
  return ms == null ? 'n/a' : int((ms * 1000) / result.appends);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
