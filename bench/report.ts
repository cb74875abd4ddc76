import { GRPC_CLIENT } from './targets/auren.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { RunResult } from './append.js';
import type { CpuSnapshot } from './cpu.js';
import type { BenchConfig, Scenario } from './config.js';
import type { MachineFacts } from './databases.js';
import { serverArgs } from './server.js';

export const TARGETS = ['auren', 'emmett', 'pg'] as const;
export type TargetName = (typeof TARGETS)[number];

const TITLES: Record<TargetName, string> = { auren: 'AUREN (gRPC)', emmett: 'Emmett', pg: 'plain pg' };

export interface ScenarioResult {
  scenario: Scenario;
  results: Record<TargetName, RunResult>;
}

export const GOAL = { eventsPerAppend: 1, clients: 8, ratio: 2 };

const CORES = os.availableParallelism();

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : 'n/a');
const ratio = (r: ScenarioResult) => r.results.auren.eventsPerSecond / r.results.emmett.eventsPerSecond;

/** The goal's scenario and whether it is met. */
export function goalStatus(results: ScenarioResult[]): { ratio: number; met: boolean } | undefined {
  const r = results.find((x) => x.scenario.eventsPerAppend === GOAL.eventsPerAppend && x.scenario.clients === GOAL.clients);
  return r && { ratio: ratio(r), met: ratio(r) >= GOAL.ratio };
}

/** Cores busy with this target's processes, cores busy with anything else, and steal, over the window. */
export function loadCells(cpu: CpuSnapshot | null, seconds: number): string[] {
  if (!cpu) return ['n/a', 'n/a', 'n/a'];
  const cores = (ms: number | null) => (ms === null ? 'n/a' : (ms / 1000 / seconds).toFixed(2));
  return [
    cores(cpu.bench + (cpu.server ?? 0) + (cpu.postgres ?? 0)),
    cores(cpu.other),
    cpu.steal === null ? 'n/a' : `${((cpu.steal / 1000 / seconds / CORES) * 100).toFixed(0)}%`,
  ];
}

function rows(results: ScenarioResult[], seconds: number) {
  return {
    throughput: results.map((x) => [
      String(x.scenario.eventsPerAppend),
      String(x.scenario.clients),
      ...TARGETS.flatMap((t) => [int(x.results[t].eventsPerSecond), int(x.results[t].appendsPerSecond)]),
      `${ratio(x).toFixed(2)}×`,
    ]),
    latency: results.map((x) => [
      String(x.scenario.eventsPerAppend),
      String(x.scenario.clients),
      ...TARGETS.flatMap((t) => [ms(x.results[t].p50), ms(x.results[t].p99)]),
    ]),
    cpu: results.flatMap((x) =>
      TARGETS.map((t) => {
        const r = x.results[t];
        const per = (v: number | null | undefined) => (r.cpu && v != null && r.appends > 0 ? int((v * 1000) / r.appends) : 'n/a');
        return [
          String(x.scenario.eventsPerAppend),
          String(x.scenario.clients),
          TITLES[t],
          per(r.cpu?.bench),
          t === 'auren' ? per(r.cpu?.server) : '–',
          per(r.cpu?.postgres),
          per(r.cpu ? r.cpu.bench + (r.cpu.server ?? 0) + (r.cpu.postgres ?? 0) : null),
          ...loadCells(r.cpu, seconds),
        ];
      }),
    ),
  };
}

const THROUGHPUT_HEAD = [
  'ev/append',
  'clients',
  ...TARGETS.flatMap((t) => [`${TITLES[t]} ev/s`, `${TITLES[t]} appends/s`]),
  'AUREN/Emmett',
];
const LATENCY_HEAD = ['ev/append', 'clients', ...TARGETS.flatMap((t) => [`${TITLES[t]} p50 ms`, `${TITLES[t]} p99 ms`])];
const CPU_HEAD = ['ev/append', 'clients', 'target', 'bench µs', 'server µs', 'PG µs', 'total µs', 'cores busy', 'other load', 'steal'];

// Columns aligned left; the rest are numbers, aligned right.
const TEXT = ['ev/append', 'clients', 'target', 'layer', 'setup', 'client', 'measure', 'value'];

/** A plain-text table for the terminal. */
export function textTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (TEXT.includes(head[i]!) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function markdownTable(head: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), `|${head.map((h) => (TEXT.includes(h) ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map(line)].join('\n');
}

export function printResults(results: ScenarioResult[], seconds: number): void {
  const r = rows(results, seconds);
  process.stdout.write(`\nThroughput\n${textTable(THROUGHPUT_HEAD, r.throughput)}\n`);
  process.stdout.write(`\nLatency per append\n${textTable(LATENCY_HEAD, r.latency)}\n`);
  process.stdout.write(`\nCPU per append (µs) and load during the window\n${textTable(CPU_HEAD, r.cpu)}\n`);
  const goal = goalStatus(results);
  if (goal) {
    process.stdout.write(
      `\nGoal: AUREN >= ${GOAL.ratio}x Emmett at ${GOAL.eventsPerAppend} event/append, ${GOAL.clients} clients: ` +
        `${goal.ratio.toFixed(2)}x, ${goal.met ? 'met' : 'NOT met'}\n`,
    );
  }
}

export const SECTION_TITLE = '## Append throughput';

/** The report section, in Markdown. */
export function markdownSection(
  results: ScenarioResult[],
  facts: MachineFacts,
  config: BenchConfig,
  payloadBytes: number,
  when: Date,
): string {
  const r = rows(results, config.seconds);
  const goal = goalStatus(results);
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
  return `${SECTION_TITLE}

**Goal:** AUREN through gRPC appends single events at least ${GOAL.ratio}× as fast as Emmett at ${GOAL.clients} concurrent clients.
${goal ? `**This run:** ${goal.ratio.toFixed(2)}× — ${goal.met ? 'met' : '**not met**'}.` : ''}

Command: \`${envs ? `${envs} ` : ''}npm run bench\` (\`tsx bench/run.ts\`), run ${when.toISOString()}, ${config.seconds} s measured after ${config.warmupSeconds} s warm-up per scenario and target.

Machine: ${facts.cores} cores (\`nproc\`), ${facts.cpuModel}, ${facts.memoryGiB} GiB; Node ${facts.node}; ${facts.postgres} at ${facts.postgresHost}
(fsync=${s.fsync}, synchronous_commit=${s.synchronous_commit}, wal_sync_method=${s.wal_sync_method}, full_page_writes=${s.full_page_writes}, shared_buffers=${s.shared_buffers}).
The bench process, the AUREN server and PostgreSQL share these cores.

How it is measured:
- One run, one PostgreSQL; each target in its own database created fresh for the run: \`auren_bench\`, \`emmett_bench\`, \`pg_bench\`. Each target first stores ${config.primeEvents.toLocaleString('en-US')} events untimed (appends of 100, 8 clients), so none is timed on near-empty tables, whose plans differ; then targets take turns per scenario, each turn preceded by \`ANALYZE\` of its database and a \`CHECKPOINT\`.
- Closed loop: each client awaits its append before the next. Every append goes to a new stream (\`bench-<scenario>-<client>-<n>\`) expecting it not to exist; events are \`memory_created\` with a ${payloadBytes}-byte JSON payload. Appends completing inside the measured window are counted; latency is per append, as the client sees it.
- **AUREN**: \`node ${serverArgs().join(' ')} serve\` as a child process (LOG_LEVEL=warn, DB_POOL_SIZE=${config.serverPoolSize}), waited for through grpc.health.v1 Check, called over gRPC/HTTP/2 (h2c) with ${GRPC_CLIENT === 'grpc-js' ? "the @grpc/grpc-js client (proto loaded at run time; BENCH_GRPC_CLIENT=connect for connect-node's)" : 'the typed connect-node client'}; ${config.grpcConnections === 'shared' ? 'all clients share one HTTP/2 connection' : 'one HTTP/2 connection (transport) per client'}; expected version NO_STREAM; event ids assigned by the server.
- **Emmett** 0.42: \`getPostgreSQLEventStore\` in the bench process over a pg.Pool sized to the clients, schema migrated before timing, \`appendToStream(stream, events, { expectedStreamVersion: 0n })\` (a transaction: BEGIN, \`emt_append_to_stream\`, COMMIT).
- **plain pg**: a pg.Pool sized to the clients; one autocommitted INSERT per append into \`pg_events (id bigserial, stream_id text, data jsonb)\`: one row for 1 event, one multi-row INSERT for 100. No stream table, no version check: a floor, not a competitor.
- CPU is read from /proc over the measured window, per append: *bench* is the bench process (the clients; all of Emmett and plain pg run here), *server* the AUREN server process, *PG* the PostgreSQL backends of the target's database plus the shared background processes. *cores busy* is their sum per second; *other load* is every other busy CPU second on the machine per second (other programs, other databases' sessions), *steal* the share of vCPU time the hypervisor took. A run with much other load or steal is noisy.

### Throughput

${markdownTable(THROUGHPUT_HEAD, r.throughput)}

### Latency per append

${markdownTable(LATENCY_HEAD, r.latency)}

### CPU per append (µs) and load

${markdownTable(CPU_HEAD, r.cpu)}
`;
}

/** Writes the section into BENCHMARKS.md, replacing the previous one and keeping every other section. */
export function writeSection(path: string, section: string, title = SECTION_TITLE): void {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const lines = old.split('\n');
  const start = lines.findIndex((l) => l.trim() === title);
  let text: string;
  if (start === -1) {
    text = `${old.trimEnd()}\n\n${section}`;
  } else {
    const next = lines.findIndex((l, i) => i > start && /^##? /.test(l));
    const before = lines.slice(0, start).join('\n').trimEnd();
    const after = next === -1 ? '' : lines.slice(next).join('\n').trim();
    text = `${before}\n\n${section}${after ? `\n${after}\n` : ''}`;
  }
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`);
}
