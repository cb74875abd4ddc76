import type { MachineFacts } from '../databases.js';
import type { GoalRow } from '../goals.js';
import { payloadBytes } from '../payload.js';
import { markdownTable, textTable } from '../tables.js';
import { serverArgs } from '../server.js';
import type { TailsConfig } from './config.js';
import { CATCHUP_WARMUP_SECONDS, IDLE_CONNECTIONS, LANES, TAILS_PRIME_EVENTS, WARMUP_SECONDS } from './config.js';
import { EMMETT_CONSUMER } from './emmett.js';
import { TAILS_CLIENT } from './latency.js';
import type { CatchUpResult } from './catchup.js';
import type { LatencyRow, SetupName, TailsResults } from './run.js';
import { TAIL_DATABASES } from './run.js';

export const TAILS_SECTION_TITLE = '## Live tails';

export const TAIL_GOALS = { p99Ms: 10, catchUpEventsPerSecond: 50_000, idleRssMiB: 200, listenConnections: 1 };

const SETUPS: Record<SetupName, string> = {
  local: '(a) AUREN, same server',
  notify: '(b) AUREN, other server, NOTIFY',
  poll: '(c) AUREN, other server, poll only',
  emmett: 'Emmett consumer (defaults)',
};

const CLIENTS: Record<CatchUpResult['client'], string> = {
  wire: 'bench wire client (messages counted, not decoded)',
  'grpc-js': '@grpc/grpc-js (decoded)',
  connect: 'connect-node gRPC (decoded)',
};

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(Math.abs(n) < 10 ? 2 : 1) : 'n/a');
const load = (n: number | null) => (n === null ? '–' : n.toFixed(2));
const mib = (n: number) => `${n.toFixed(0)} MiB`;
const sec = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)} s` : 'n/a');

const LATENCY_HEAD = [
  'setup',
  'offered ev/s',
  'achieved ev/s',
  'events',
  'never received',
  'ack→recv p50',
  'ack→recv p99',
  'ack→recv max',
  'send→recv p50',
  'send→recv p99',
  'send→recv max',
  'append p50',
  'append p99',
  'recv before ack',
  'max late',
];
const LOAD_HEAD = ['setup', 'offered ev/s', 'bench', 'server A', 'server B', 'PostgreSQL', 'other'];
const CATCHUP_HEAD = [
  'client',
  'events read',
  'caught up',
  'seconds',
  'ev/s',
  'first event s',
  'server µs/ev',
  'client µs/ev',
  'PG µs/ev',
  'server cores',
  'client cores',
  'PG cores',
  'other cores',
];

function latencyRows(rows: LatencyRow[]): string[][] {
  return rows.map(({ setup, rate, result: r }) => [
    SETUPS[setup],
    int(rate),
    int(r.achievedRate),
    int(r.events),
    `${int(r.events - r.received)}${r.skipped ? ` (${int(r.skipped)} skipped)` : ''}`,
    ms(r.ackToReceipt.p50),
    ms(r.ackToReceipt.p99),
    ms(r.ackToReceipt.max),
    ms(r.sendToReceipt.p50),
    ms(r.sendToReceipt.p99),
    ms(r.sendToReceipt.max),
    ms(r.append.p50),
    ms(r.append.p99),
    int(r.receivedBeforeAck),
    ms(r.maxLateMs),
  ]);
}

function loadRows(rows: LatencyRow[]): string[][] {
  return rows.map(({ setup, rate, load: l }) => [
    SETUPS[setup],
    int(rate),
    load(l.bench),
    load(l.serverA),
    load(l.serverB),
    load(l.postgres),
    load(l.other),
  ]);
}

function catchUpRows(results: TailsResults): string[][] {
  return results.catchUp.map((r) => {
    const per = (v: number | null | undefined) => (v == null || r.events === 0 ? 'n/a' : int((v * 1000) / r.events));
    const cores = (v: number | null | undefined) => (v == null ? 'n/a' : (v / 1000 / r.seconds).toFixed(2));
    return [
      CLIENTS[r.client],
      int(r.events),
      r.caughtUp ? 'yes' : 'no (time limit)',
      r.seconds.toFixed(1),
      int(r.eventsPerSecond),
      r.firstEventSeconds.toFixed(2),
      per(r.cpu?.server),
      per(r.cpu?.bench),
      per(r.cpu?.postgres),
      cores(r.cpu?.server),
      cores(r.cpu?.bench),
      cores(r.cpu?.postgres),
      cores(r.cpu?.other),
    ];
  });
}

function idleRows(results: TailsResults): string[][] {
  const i = results.idle;
  const b = i.burst;
  const complete = b.complete === i.subscribers;
  const cpuSeconds = (v: number | null | undefined) => (v == null ? 'n/a' : `${(v / 1000).toFixed(1)} s`);
  return [
    ['subscribers (SubscribeToAll from the end)', `${int(i.subscribers)} over ${i.connections} HTTP/2 connections`],
    ['time until all were caught up', sec(i.subscribeSeconds)],
    [
      'server RSS before → after (idle, 1 s after the last caught_up)',
      `${mib(i.rssBeforeMiB)} → ${mib(i.rssAfterMiB)} (+${(((i.rssAfterMiB - i.rssBeforeMiB) * 1024) / i.subscribers).toFixed(0)} KiB per subscriber)`,
    ],
    ['server sessions in its database / doing LISTEN', `${i.serverConnections} / ${i.listenConnections}`],
    [`burst: ${int(b.events)} single-event appends (16 in flight)`, `appended in ${sec(b.appendSeconds)}`],
    [
      'subscribers that received all of them, each once',
      `${int(b.complete)} of ${int(i.subscribers)}${complete ? '' : ` (stopped waiting after ${b.deadlineSeconds} s)`}`,
    ],
    ['deliveries made', `${int(b.delivered)} of ${int(b.events * i.subscribers)}, ${int(b.deliveredPerSecond)}/s`],
    ['last append acknowledged → last subscriber has the last event', complete ? sec(b.lastAckToAllSeconds) : 'not reached'],
    [
      'first append sent → every subscriber has every event',
      complete ? sec(b.firstSendToAllSeconds) : `not reached; at this rate ≈ ${int((b.events * i.subscribers) / b.deliveredPerSecond)} s`,
    ],
    [
      'CPU from the first append to the end: server / bench (clients) / PostgreSQL',
      `${cpuSeconds(b.cpu?.server)} / ${cpuSeconds(b.cpu?.bench)} / ${cpuSeconds(b.cpu?.postgres)}`,
    ],
    ['server RSS after the burst / peak (VmHWM)', `${mib(b.rssAfterMiB)} / ${mib(b.rssPeakMiB)}`],
  ];
}

/** Goals, each with this run's figure and whether it is met. */
function goals(results: TailsResults): string[] {
  const p99 = (setup: SetupName) =>
    results.latency
      .filter((r) => r.setup === setup)
      .map(
        (r) =>
          `${r.rate} ev/s: ${ms(r.result.ackToReceipt.p99)} ms${r.result.achievedRate < r.rate * 0.95 ? ` (only ${int(r.result.achievedRate)} ev/s achieved)` : ''}`,
      )
      .join(', ');
  const met = (ok: boolean) => (ok ? 'met' : '**not met**');
  const latencyMet = (setup: SetupName) =>
    results.latency
      .filter((r) => r.setup === setup)
      .every(
        (r) =>
          r.result.ackToReceipt.p99 < TAIL_GOALS.p99Ms && r.result.received === r.result.events && r.result.achievedRate >= r.rate * 0.95,
      );
  const best = Math.max(...results.catchUp.map((r) => r.eventsPerSecond));
  const i = results.idle;
  return [
    `- Tail latency p99 < ${TAIL_GOALS.p99Ms} ms (append acknowledged → received), at the offered rate: ` +
      `(a) ${p99('local')} — ${met(latencyMet('local'))}; (b) ${p99('notify')} — ${met(latencyMet('notify'))}; (c, poll only, for comparison) ${p99('poll')}.`,
    `- Catch-up ≥ ${int(TAIL_GOALS.catchUpEventsPerSecond)} events/s: ${int(best)} events/s — ${met(best >= TAIL_GOALS.catchUpEventsPerSecond)}.`,
    `- ${int(i.subscribers)} idle subscribers under ${TAIL_GOALS.idleRssMiB} MB RSS with exactly one LISTEN connection: ` +
      `${mib(i.rssAfterMiB)}, ${i.listenConnections} LISTEN — ${met(i.rssAfterMiB * 1.048576 < TAIL_GOALS.idleRssMiB && i.listenConnections === TAIL_GOALS.listenConnections)}; ` +
      `all ${int(i.burst.events)} burst events reached all of them: ${i.burst.complete === i.subscribers ? `yes, ${sec(i.burst.firstSendToAllSeconds)} from the first append` : `**no**, ${int(i.burst.complete)} complete after ${i.burst.deadlineSeconds} s`}.`,
  ];
}

/** The goals of issue 9 this part measures: tail p99 at 1,000 events/s achieved, catch-up rate. */
export function tailGoals(results: TailsResults): GoalRow[] {
  const section = 'Live tails';
  const rows: GoalRow[] = [];
  const at1000 = results.latency.filter((r) => r.setup !== 'emmett' && r.setup !== 'poll' && r.rate === 1000);
  if (at1000.length > 0) {
    const ok = (r: LatencyRow) =>
      r.result.ackToReceipt.p99 < TAIL_GOALS.p99Ms && r.result.received === r.result.events && r.result.achievedRate >= 1000 * 0.95;
    rows.push({
      id: 'tailP99',
      measured: at1000
        .map(
          (r) =>
            `${SETUPS[r.setup]}: p99 ${ms(r.result.ackToReceipt.p99)} ms at ${int(r.result.achievedRate)} ev/s achieved` +
            `${r.result.received < r.result.events ? `, ${int(r.result.events - r.result.received)} never received` : ''}`,
        )
        .join('; '),
      met: at1000.every(ok),
      section,
    });
  }
  if (results.catchUp.length > 0) {
    const best = results.catchUp.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
    rows.push({
      id: 'catchUp',
      measured: results.catchUp
        .map((r) => `${CLIENTS[r.client]}: ${int(r.eventsPerSecond)} ev/s${r.caughtUp ? '' : ' (time limit)'}`)
        .join('; '),
      met: best.eventsPerSecond >= TAIL_GOALS.catchUpEventsPerSecond,
      section,
    });
  }
  return rows;
}

export function printTailResults(results: TailsResults): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`\nTail latency, ms (${results.seconds} s measured per run)\n${textTable(LATENCY_HEAD, latencyRows(results.latency))}`);
  out(`\nCores busy during each latency run\n${textTable(LOAD_HEAD, loadRows(results.latency))}`);
  out(`\nCatch-up from the start of ${int(results.load.events)} stored events\n${textTable(CATCHUP_HEAD, catchUpRows(results))}`);
  out(`\nIdle subscribers\n${textTable(['measure', 'value'], idleRows(results))}`);
  out(`\nGoals\n${goals(results).join('\n')}`);
}

/** The report section, in Markdown. */
export function tailsMarkdownSection(results: TailsResults, facts: MachineFacts, config: TailsConfig, when: Date): string {
  const envs = [
    'BENCH_ONLY=tails',
    config.rates.join(',') !== '100,1000' ? `BENCH_TAILS_RATES=${config.rates.join(',')}` : '',
    config.seconds !== 5 ? `BENCH_TAILS_SECONDS=${config.seconds}` : '',
    config.catchupEvents !== 1_000_000 ? `BENCH_CATCHUP_EVENTS=${config.catchupEvents}` : '',
    config.catchupMaxSeconds !== 20 ? `BENCH_CATCHUP_MAX_SECONDS=${config.catchupMaxSeconds}` : '',
    config.idleSubscribers !== 1_000 ? `BENCH_IDLE_SUBSCRIBERS=${config.idleSubscribers}` : '',
    config.idleEvents !== 1_000 ? `BENCH_IDLE_EVENTS=${config.idleEvents}` : '',
    config.idleDeadlineSeconds !== 60 ? `BENCH_IDLE_DEADLINE_SECONDS=${config.idleDeadlineSeconds}` : '',
    process.env.BENCH_SERVER_ENTRY ? `BENCH_SERVER_ENTRY=${process.env.BENCH_SERVER_ENTRY}` : '',
    process.env.TAIL_POLL_MS ? `TAIL_POLL_MS=${process.env.TAIL_POLL_MS}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const s = facts.settings;
  return `${TAILS_SECTION_TITLE}

**Goals:** a live tail receives an event less than ${TAIL_GOALS.p99Ms} ms (p99) after its append was acknowledged; a tail catches up at ${int(TAIL_GOALS.catchUpEventsPerSecond)} events/s or more; ${int(results.idle.subscribers)} idle tails cost one server less than ${TAIL_GOALS.idleRssMiB} MB RSS and exactly one LISTEN connection.

**This run:**
${goals(results).join('\n')}

Command: \`${envs} npm run bench\` (\`tsx bench/run.ts\`; without BENCH_ONLY the append benchmark runs first), run ${when.toISOString()}.
Machine: ${facts.cores} cores, ${facts.cpuModel}, ${facts.memoryGiB} GiB; Node ${facts.node}; ${facts.postgres.split(' on ')[0]} at ${facts.postgresHost} (fsync=${s.fsync}, synchronous_commit=${s.synchronous_commit}, shared_buffers=${s.shared_buffers}). The bench process, the servers and PostgreSQL share these cores.

How it is measured:
- Fresh databases per run: \`${TAIL_DATABASES.latency}\` (setups a–c), \`${TAIL_DATABASES.emmett}\`, \`${TAIL_DATABASES.catchup}\`, \`${TAIL_DATABASES.idle}\`. The latency databases first get ${int(TAILS_PRIME_EVENTS)} events, untimed, then ANALYZE.
- Servers: \`node ${serverArgs().join(' ')} serve\` as child processes (LOG_LEVEL=warn), each with its own pool; TAIL_POLL_MS=${results.pollMs}; called on ${results.listener}. Clients of the latency runs: ${TAILS_CLIENT === 'wire' ? "the bench's own HTTP/2 client (\`bench/wire/h2c.ts\`: appends pre-encoded, only stream and event id put in per call; the subscriber decodes every message with protobuf-es), so the appender costs little on the shared cores" : '@grpc/grpc-js with \`proto/\` loaded at run time by @grpc/proto-loader'}; idle subscribers: @grpc/grpc-js; every client on its own HTTP/2 connection.
- **Tail latency:** open loop: append *i* is sent at start + *i*/rate whether or not earlier ones returned; single-event appends (expected version ANY, the append bench's ${payloadBytes()}-byte JSON payload, event id chosen by the bench) over ${LANES} streams, at most one in flight per stream (so at most ${LANES} in flight; when all are busy the next append is late and the achieved rate drops below the offered one), spread over 4 HTTP/2 connections. One subscriber, \`SubscribeToAll\` from the end on its own connection, opened and caught up before the load starts. ${WARMUP_SECONDS} s warm-up, then events *sent* in the next ${results.seconds} s are measured; the bench then waits for their receipt (up to ${((5_000 + 2 * results.pollMs) / 1000).toFixed(0)} s; 20 s for Emmett); *never received* counts those that did not arrive (only received events are in the percentiles); for Emmett, *skipped* are those its consumer never delivered although it had delivered an event stored after them (checked in \`emt_messages\` against the highest \`global_position\` handled, 2 s after it passed them). Times are \`performance.now()\` in the bench process, per event id: *ack→recv* = receipt − append acknowledgement (negative when the tail delivered the event before the appender saw its acknowledgement; counted in *recv before ack*), *send→recv* = receipt − send, *append* = acknowledgement − send, *max late* = the most a send started after its scheduled time (all lanes busy, or the bench's event loop busy).
  - (a): appender and subscriber on server A: the append wakes A's log head directly. (b): subscriber on server B, same database: B's head is woken by the NOTIFY that A's append transaction sends (PostgreSQL delivers it at commit). (c): as (b) with TAIL_NOTIFY=false on both servers: B's head reads on its ${results.pollMs} ms poll only — the difference NOTIFY makes.
  - **Emmett** 0.42: \`appendToStream\` (no expected version) over a pg.Pool of ${LANES} in the bench process, same open loop; \`postgreSQLEventStoreConsumer\` with one \`reactor\` whose \`eachMessage\` records the receipt time, started after the primed events (explicit checkpoint: its \`'END'\` reads from the first event in 0.42). Its settings are the defaults: \`pulling.batchSize\`=${EMMETT_CONSUMER.batchSize}, \`pulling.pullingFrequencyInMs\`=${EMMETT_CONSUMER.pullingFrequencyInMs}. It polls: after each read it waits — 100 ms at first, doubling after every batch that was not full up to 1,000 ms, and \`pullingFrequencyInMs\` only after a full batch — and stores its checkpoint per message in the batch's transaction. No wake-up on append. Latency = handler call − \`appendToStream\` resolution.
  - *Cores busy*: CPU seconds per second from the start of the run (warm-up included) to the last append's return from /proc: bench process (appenders and subscriber; all of Emmett), server A, server B, every PostgreSQL process, and everything else.
- **Catch-up:** ${int(results.load.events)} events stored by direct SQL (\`select append_to_stream(...)\` with 1,000-event JSON batches, one stream per batch, two connections: ${results.load.seconds.toFixed(1)} s, ${int(results.load.events / results.load.seconds)} events/s), then ANALYZE and CHECKPOINT; a warm-up \`SubscribeToAll\` from the start for ${CATCHUP_WARMUP_SECONDS} s with the wire client (dropped: a fresh server's code is not yet optimized), then one \`SubscribeToAll\` from the start reads until \`caught_up\` (or stops after ${config.catchupMaxSeconds} s: the rate is then over what was read), first with the bench's wire client, which reads each message's kind from its first byte and counts events without decoding them (the server's pace with a reader that costs next to nothing), then with @grpc/grpc-js, which decodes every event${results.catchUp.some((r) => r.client === 'connect') ? ", then with connect-node's gRPC client" : ''}, against one server. CPU per event: *server* the server process, *client* the bench process (reading), *PG* the backends of \`${TAIL_DATABASES.catchup}\` and PostgreSQL's background processes.
- **Idle subscribers:** one fresh server; ${int(results.idle.subscribers)} \`SubscribeToAll\` from the end over ${IDLE_CONNECTIONS} HTTP/2 connections (grpc-js), all caught up; VmRSS of the server process from /proc/<pid>/status before and after; sessions from pg_stat_activity in its database (listeners: application_name \`auren-listener\` or last statement LISTEN — PostgreSQL does not show other sessions' LISTENs). Then ${int(results.idle.burst.events)} single-event appends (16 in flight, one more connection); every subscriber must receive exactly those events (the bench waits at most ${config.idleDeadlineSeconds} s).

### Tail latency (ms)

${markdownTable(LATENCY_HEAD, latencyRows(results.latency))}

### Cores busy during each latency run

${markdownTable(LOAD_HEAD, loadRows(results.latency))}

### Catch-up from the start of ${int(results.load.events)} stored events

${markdownTable(CATCHUP_HEAD, catchUpRows(results))}

### ${int(results.idle.subscribers)} idle subscribers on one server

${markdownTable(['measure', 'value'], idleRows(results))}
`;
}
