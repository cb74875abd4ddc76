// The append part's tables, goals and section of BENCHMARKS.md.
import type { RunResult } from './append.js';
import { HEALTH_CALLS, HEALTH_CONNECTIONS, HEALTH_ROUNDS } from './appendPart.js';
import type { AppendResults, H2loadMeasure, ScenarioResult, TargetName } from './appendPart.js';
import { before, BEFORE_RUN } from './before.js';
import type { BenchConfig } from './config.js';
import type { MachineFacts } from './databases.js';
import type { GoalRow } from './goals.js';
import { H2LOAD, p } from './h2load.js';
import { serverArgs } from './server.js';
import { SLOW_CLIENT } from './targets/auren.js';
import { int, loadCells, markdownTable, ms, textTable } from './tables.js';

export const SECTION_TITLE = '## Append throughput';

const TITLES: Record<TargetName, string> = {
  auren: 'AUREN (gRPC)',
  aurenGrpcJs: `AUREN (gRPC, ${SLOW_CLIENT === 'connect' ? 'connect-node' : '@grpc/grpc-js'} client)`,
  emmett: 'Emmett',
  pg: 'plain pg',
};

export const APPEND_GOALS = { cpuRatio: 0.5, rateRatio: 2, healthUs: 150, batchEventsPerSecond: 100_000 };

/** CPU milliseconds → µs per unit. */
const per = (cpuMs: number | null | undefined, units: number) => (cpuMs == null || units === 0 ? Number.NaN : (cpuMs * 1000) / units);
const x = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');

/** CPU per append of a closed-loop run: the client, the server (AUREN) or process (Emmett, pg), PostgreSQL. */
function cpuPerAppend(name: TargetName, r: RunResult) {
  const c = r.cpu;
  const aurenLike = name === 'auren' || name === 'aurenGrpcJs';
  const client = aurenLike ? per(c?.bench, r.appends) : Number.NaN;
  const process = aurenLike ? per(c?.server, r.appends) : per(c?.bench, r.appends);
  const postgres = per(c?.postgres, r.appends);
  return { client, process, postgres, processAndPostgres: process + postgres };
}

const find = (results: ScenarioResult[], eventsPerAppend: number, clients: number) =>
  results.find((s) => s.scenario.eventsPerAppend === eventsPerAppend && s.scenario.clients === clients);

const HEAD_1 = [
  'clients',
  'target',
  'appends/s',
  'p50 ms',
  'p99 ms',
  'client µs',
  'server / process µs',
  'PG µs',
  'server / process + PG µs',
  "appends/s ÷ Emmett's",
  "CPU ÷ Emmett's",
  'before appends/s',
  'before p50 ms',
  'before p99 ms',
  'cores busy',
  'other load',
  'steal',
];
const HEAD_100 = [
  'clients',
  'target',
  'events/s',
  'appends/s',
  'p50 ms',
  'p99 ms',
  'client µs',
  'server / process µs',
  'PG µs',
  'server / process + PG µs',
  "events/s ÷ Emmett's",
  'before events/s',
  'before p50 ms',
  'before p99 ms',
  'cores busy',
  'other load',
  'steal',
];

function closedLoopRows(results: AppendResults, config: BenchConfig, eventsPerAppend: number): string[][] {
  const rows: string[][] = [];
  for (const s of results.scenarios.filter((x) => x.scenario.eventsPerAppend === eventsPerAppend)) {
    const emmett = s.results.emmett;
    const emmettCpu = emmett && cpuPerAppend('emmett', emmett);
    for (const name of ['auren', 'emmett', 'pg'] as const) {
      const r = s.results[name];
      if (!r) continue;
      const c = cpuPerAppend(name, r);
      const b = name === 'auren' ? before(eventsPerAppend, s.scenario.clients) : undefined;
      const vsRate = emmett && name !== 'emmett' ? x(r.appendsPerSecond / emmett.appendsPerSecond) : '–';
      const vsCpu = emmettCpu && name !== 'emmett' ? x(c.processAndPostgres / emmettCpu.processAndPostgres) : '–';
      const cpuCells = [name === 'auren' ? int(c.client) : '(in process)', int(c.process), int(c.postgres), int(c.processAndPostgres)];
      rows.push(
        eventsPerAppend === 1
          ? [
              String(s.scenario.clients),
              TITLES[name],
              int(r.appendsPerSecond),
              ms(r.p50),
              ms(r.p99),
              ...cpuCells,
              vsRate,
              vsCpu,
              b ? int(b.appendsPerSecond) : '–',
              b ? ms(b.p50) : '–',
              b ? ms(b.p99) : '–',
              ...loadCells(r.cpu, config.seconds),
            ]
          : [
              String(s.scenario.clients),
              TITLES[name],
              int(r.eventsPerSecond),
              int(r.appendsPerSecond),
              ms(r.p50),
              ms(r.p99),
              ...cpuCells,
              vsRate,
              b ? int(b.eventsPerSecond) : '–',
              b ? ms(b.p50) : '–',
              b ? ms(b.p99) : '–',
              ...loadCells(r.cpu, config.seconds),
            ],
      );
    }
  }
  return rows;
}

const GRPCJS_HEAD = [
  'clients',
  'appends/s',
  'p50 ms',
  'p99 ms',
  'client µs',
  'server µs',
  'PG µs',
  'server + PG µs',
  'cores busy',
  'other load',
  'steal',
];

function grpcJsRows(results: AppendResults, config: BenchConfig): string[][] {
  return results.scenarios.flatMap((s) => {
    const r = s.results.aurenGrpcJs;
    if (!r) return [];
    const c = cpuPerAppend('aurenGrpcJs', r);
    return [
      [
        String(s.scenario.clients),
        int(r.appendsPerSecond),
        ms(r.p50),
        ms(r.p99),
        int(c.client),
        int(c.process),
        int(c.postgres),
        int(c.processAndPostgres),
        ...loadCells(r.cpu, config.seconds),
      ],
    ];
  });
}

const HOT_HEAD = [
  'clients',
  'streams',
  'calls',
  'appends/s',
  'p50 ms',
  'p99 ms',
  'h2load µs',
  'server µs',
  'PG µs',
  'server + PG µs',
  'cores busy',
  'other load',
  'steal',
];

function h2loadCpu(m: H2loadMeasure) {
  const n = m.result.succeeded;
  return { h2load: per(m.cpu?.children, n), server: per(m.cpu?.server, n), postgres: per(m.cpu?.postgres, n) };
}

function hotRows(results: AppendResults): string[][] {
  return results.hot.map((m) => {
    const c = h2loadCpu(m);
    return [
      String(m.clients),
      String(m.streams),
      int(m.result.succeeded),
      int(m.result.succeeded / m.result.seconds),
      ms(p(m.result, 0.5)),
      ms(p(m.result, 0.99)),
      int(c.h2load),
      int(c.server),
      int(c.postgres),
      int(c.server + c.postgres),
      ...loadCells(m.cpu, m.result.seconds),
    ];
  });
}

const HEALTH_HEAD = [
  'call',
  'listener',
  'calls',
  'connections',
  'calls/s',
  'p50 ms',
  'p99 ms',
  'server µs',
  'h2load µs',
  'cores busy',
  'other load',
  'steal',
];

function healthRows(results: AppendResults): string[][] {
  const row = (m: H2loadMeasure, listener: string) => {
    const c = h2loadCpu(m);
    return [
      'grpc.health.v1.Health/Check',
      listener,
      int(m.result.succeeded),
      String(m.clients),
      int(m.result.succeeded / m.result.seconds),
      ms(p(m.result, 0.5)),
      ms(p(m.result, 0.99)),
      int(c.server),
      int(c.h2load),
      ...loadCells(m.cpu, m.result.seconds),
    ];
  };
  const rows = [row(results.health, results.listener)];
  if (results.healthBare) rows.push(row(results.healthBare, 'bare @grpc/grpc-js + grpc-health-check (the floor)'));
  return rows;
}

/** The goals this part measures. */
export function appendGoals(results: AppendResults): GoalRow[] {
  const section = 'Append throughput';
  const rows: GoalRow[] = [];
  const onGrpcPort = results.listener.startsWith('GRPC_PORT');
  const where = onGrpcPort ? '' : ` (through ${results.listener}: no GRPC_PORT listener yet)`;
  for (const clients of [8, 32] as const) {
    const s = find(results.scenarios, 1, clients);
    const a = s?.results.auren;
    const e = s?.results.emmett;
    if (!a || !e) continue;
    const ca = cpuPerAppend('auren', a);
    const ce = cpuPerAppend('emmett', e);
    const ratio = ca.processAndPostgres / ce.processAndPostgres;
    rows.push({
      id: clients === 8 ? 'cpu8' : 'cpu32',
      measured: `${int(ca.processAndPostgres)} µs (server ${int(ca.process)} + PG ${int(ca.postgres)}) vs Emmett ${int(ce.processAndPostgres)} µs: ${x(ratio)}${where}`,
      met: ratio <= APPEND_GOALS.cpuRatio,
      section,
    });
    const rate = a.appendsPerSecond / e.appendsPerSecond;
    rows.push({
      id: clients === 8 ? 'rate8' : 'rate32',
      measured: `${int(a.appendsPerSecond)}/s vs Emmett ${int(e.appendsPerSecond)}/s: ${x(rate)}${where}`,
      met: rate >= APPEND_GOALS.rateRatio,
      section,
    });
    const pgRun = s?.results.pg;
    if (clients === 32 && pgRun) {
      rows.push({
        id: 'ratePg32',
        measured: `${int(a.appendsPerSecond)}/s vs plain INSERTs ${int(pgRun.appendsPerSecond)}/s: ${x(a.appendsPerSecond / pgRun.appendsPerSecond)}${where}`,
        met: a.appendsPerSecond > pgRun.appendsPerSecond,
        section,
      });
    }
  }
  const healthUs = h2loadCpu(results.health).server;
  rows.push({
    id: 'health',
    measured:
      `${int(healthUs)} µs server CPU per call on ${results.listener}` +
      (results.healthBare
        ? `; a bare grpc-js server with grpc-health-check, same run: ${int(h2loadCpu(results.healthBare).server)} µs`
        : '') +
      (results.healthRounds
        ? ` (medians of ${results.healthRounds.auren.length} alternating rounds: AUREN ${results.healthRounds.auren.map((n) => int(n)).join(', ')}, bare ${results.healthRounds.bare.map((n) => int(n)).join(', ')})`
        : ''),
    met: onGrpcPort ? healthUs <= APPEND_GOALS.healthUs : null,
    section,
  });
  const batches = results.scenarios.filter((s) => s.scenario.eventsPerAppend === 100 && s.results.auren);
  if (batches.length > 0) {
    const best = batches.reduce((a, b) => (b.results.auren!.eventsPerSecond > a.results.auren!.eventsPerSecond ? b : a));
    rows.push({
      id: 'batch100',
      measured:
        `${int(best.results.auren!.eventsPerSecond)} events/s at best (${best.scenario.clients} clients); ` +
        batches.map((s) => `${s.scenario.clients}: ${int(s.results.auren!.eventsPerSecond)}`).join(', ') +
        where,
      met: best.results.auren!.eventsPerSecond >= APPEND_GOALS.batchEventsPerSecond,
      section,
    });
  }
  const ones = [1, 100].map((n) => ({ n, r: find(results.scenarios, n, 1)?.results.auren, b: before(n, 1) })).filter((o) => o.r && o.b);
  if (ones.length > 0) {
    rows.push({
      id: 'latency1',
      measured:
        ones
          .map(
            (o) =>
              `${o.n} event${o.n > 1 ? 's' : ''}: p50 ${ms(o.r!.p50)} (before ${ms(o.b!.p50)}), p99 ${ms(o.r!.p99)} (before ${ms(o.b!.p99)}) ms`,
          )
          .join('; ') + where,
      met: ones.every((o) => o.r!.p50 <= o.b!.p50 && o.r!.p99 <= o.b!.p99),
      section,
    });
  }
  return rows;
}

export function printResults(results: AppendResults, config: BenchConfig): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`\nSingle-event appends\n${textTable(HEAD_1, closedLoopRows(results, config, 1))}`);
  out(`\n100-event appends\n${textTable(HEAD_100, closedLoopRows(results, config, 100))}`);
  if (results.scenarios.some((s) => s.results.aurenGrpcJs))
    out(`\n${TITLES.aurenGrpcJs}, single-event appends\n${textTable(GRPCJS_HEAD, grpcJsRows(results, config))}`);
  out(`\nHot streams (h2load, expected ANY)\n${textTable(HOT_HEAD, hotRows(results))}`);
  out(`\nTrivial call\n${textTable(HEALTH_HEAD, healthRows(results))}`);
  out('\nGoals');
  for (const g of appendGoals(results)) out(`- ${g.id}: ${g.measured} — ${g.met === null ? 'not measured' : g.met ? 'met' : 'NOT met'}`);
}

/** The report section, in Markdown. */
export function markdownSection(
  results: AppendResults,
  facts: MachineFacts,
  config: BenchConfig,
  payloadBytes: number,
  when: Date,
): string {
  const s = facts.settings;
  const envs = [
    config.seconds !== 5 ? `BENCH_SECONDS=${config.seconds}` : '',
    config.warmupSeconds !== 1 ? `BENCH_WARMUP_SECONDS=${config.warmupSeconds}` : '',
    config.primeEvents !== 20_000 ? `BENCH_PRIME_EVENTS=${config.primeEvents}` : '',
    process.env.BENCH_SERVER_ENTRY ? `BENCH_SERVER_ENTRY=${process.env.BENCH_SERVER_ENTRY}` : '',
    config.grpcConnections !== 'per-client' ? `BENCH_GRPC_CONNECTIONS=${config.grpcConnections}` : '',
    process.env.BENCH_SERVER_POOL_SIZE ? `BENCH_SERVER_POOL_SIZE=${config.serverPoolSize}` : '',
    process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL=…' : '',
  ]
    .filter(Boolean)
    .join(' ');
  const grpcJs = results.scenarios.some((x) => x.results.aurenGrpcJs);
  return `${SECTION_TITLE}

Command: \`${envs ? `${envs} ` : ''}BENCH_ONLY=append npm run bench\` (\`tsx bench/run.ts\`; plain \`npm run bench\` runs this part first, then the live tails and MemoryService parts), run ${when.toISOString()}; the part took ${results.seconds.toFixed(0)} s. ${config.seconds} s measured after ${config.warmupSeconds} s warm-up per closed-loop run.

Machine: ${facts.cores} cores (\`nproc\`), ${facts.cpuModel}, ${facts.memoryGiB} GiB; Node ${facts.node}; ${facts.postgres.split(' on ')[0]} at ${facts.postgresHost}
(fsync=${s.fsync}, synchronous_commit=${s.synchronous_commit}, wal_sync_method=${s.wal_sync_method}, full_page_writes=${s.full_page_writes}, shared_buffers=${s.shared_buffers}).
The load generators, the AUREN server and PostgreSQL share these cores.

How it is measured:
- One run, one PostgreSQL; each store in its own database created fresh for the run: \`auren_bench\`, \`emmett_bench\`, \`pg_bench\`. Each first stores ${int(config.primeEvents)} events untimed (appends of 100, 8 clients), so none is timed on near-empty tables, whose plans differ; then the targets take turns per scenario, each turn preceded by \`ANALYZE\` of its database and a \`CHECKPOINT\`. At the end every database must hold exactly the events its clients saw appended (for h2load: every call it sent).
- **AUREN**: one server for the whole part, \`node ${serverArgs().join(' ')} serve\` as a child process (LOG_LEVEL=warn, DB_POOL_SIZE=${config.serverPoolSize}, the default group commit), called on **${results.listener}**. Its gRPC client in the closed loop is the bench's own (\`bench/wire/h2c.ts\`): HTTP/2 frames written straight on a TCP socket, the request headers encoded once per method, the request message encoded once per scenario with only the stream id put in front per call, the response cut into gRPC messages and its \`next_expected_version\` checked; one connection per client. It costs ${grpcJs ? `a fraction of what @grpc/grpc-js costs (compare the two client columns)` : 'little'}; its CPU is the *client µs* column. Every append goes to a new stream (\`bench-<target>-<scenario>-<client>-<n>\`), expected version NO_STREAM, events \`memory_created\` with a ${payloadBytes}-byte JSON payload as a \`google.protobuf.Struct\`, event ids assigned by the server.
- **Emmett** 0.42 in the bench process: \`getPostgreSQLEventStore\` over a pg.Pool sized to the clients, schema migrated before timing, \`appendToStream(stream, events, { expectedStreamVersion: 0n })\` (a transaction: BEGIN, \`emt_append_to_stream\`, COMMIT). Its *process* CPU is the bench process's: Emmett and the loop that calls it.
- **plain pg**: a pg.Pool sized to the clients in the bench process; one autocommitted INSERT per append into \`pg_events (id bigserial, stream_id text, data jsonb)\`: one row for 1 event, one multi-row INSERT for 100. No stream table, no version check: a floor, not a competitor.
- Closed loop: each client awaits its append before its next. Appends completing inside the measured window are counted; latency is per append as the client sees it.
- **Hot streams** (h2load ${H2LOAD === 'h2load' ? '' : `(${H2LOAD}) `}from nghttp2, written in C): h2load sends one fixed body, so every call appends the same single event (event id left empty: the server assigns one) to the same stream with expected version ANY — a few hot streams, one h2load process per stream (\`-n N -c C -m 1\`, content-type application/grpc, te trailers), the clients split evenly over them. A warm-up run first, which also sizes the measured run to about ${config.seconds} s. h2load only sees HTTP 200: the bench checks afterwards that the streams hold exactly one event per call. Latency from h2load's per-request log.
- **Trivial call**: \`grpc.health.v1.Health/Check\` with h2load, ${int(HEALTH_CALLS)} calls on ${HEALTH_CONNECTIONS} connections, one call in flight on each, after ${int(HEALTH_CALLS / 10)} calls of warm-up; AUREN and a bare @grpc/grpc-js server with grpc-health-check and nothing of AUREN's (\`bench/bareHealthServer.ts\`, a child process, channelz off as in AUREN: the floor this machine sets for a call at that moment) take ${HEALTH_ROUNDS} turns each, alternating, and each reports its median round (a call's CPU moves with whatever else the machine does).
- CPU from /proc over the measured window (h2load runs: from its start to its end), per append or call: *client* the bench process when it only runs the gRPC client; *server* the AUREN server process (/proc/<pid>/stat); *process* for Emmett and plain pg the bench process, where they run; *h2load* the h2load processes (the bench's children's time, /proc/self/stat cutime + cstime); *PG* the PostgreSQL backends of the target's database plus the shared background processes. *cores busy* is their sum per second; *other load* is every other busy CPU second on the machine per second (other programs, other databases' sessions, test suites run by others), *steal* the share of vCPU time the hypervisor took. A run with much other load or steal is noisy.
- *before*: AUREN's figures in BENCHMARKS.md before this issue, run ${BEFORE_RUN} on this machine with the same scenarios, through connect-node on the one port, called by @grpc/grpc-js clients (whose CPU then counted as the bench's), one \`append_to_stream()\` transaction per append.

### Single-event appends

CPU per append, µs; *÷ Emmett's* compares with Emmett at the same number of clients (for CPU: server + PG against Emmett's process + PG).

${markdownTable(HEAD_1, closedLoopRows(results, config, 1))}

### 100-event appends

CPU per append of 100 events, µs.

${markdownTable(HEAD_100, closedLoopRows(results, config, 100))}
${
  grpcJs
    ? `
### AUREN with ${SLOW_CLIENT === 'connect' ? 'connect-node' : '@grpc/grpc-js'} clients, single-event appends

The same appends from @grpc/grpc-js clients (events.proto loaded at run time by @grpc/proto-loader, as an agent calls; one connection each) in the bench process: what a real client costs on these two cores, and what that does to the server's share of them.

${markdownTable(GRPCJS_HEAD, grpcJsRows(results, config))}
`
    : ''
}
### Hot streams (h2load)

${markdownTable(HOT_HEAD, hotRows(results))}

### Trivial call (h2load)

${markdownTable(HEALTH_HEAD, healthRows(results))}
`;
}
