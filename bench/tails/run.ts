// The live-tails part of `npm run bench`: tail latency (three AUREN setups and Emmett's
// consumer), catch-up throughput, and the cost of 1,000 idle subscribers.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { cpuMeter } from '../cpu.js';
import type { CpuSnapshot } from '../cpu.js';
import { checkpoint, databaseUrl } from '../databases.js';
import { startServer } from '../server.js';
import type { ServerProcess } from '../server.js';
import { catchUpConnect, catchUpGrpcJs, catchUpWire, loadEvents } from './catchup.js';
import type { CatchUpResult, LoadResult } from './catchup.js';
import { CATCHUP_WARMUP_SECONDS, IDLE_CONNECTIONS, LANES, TAILS_PRIME_EVENTS, WARMUP_SECONDS } from './config.js';
import type { TailsConfig } from './config.js';
import { emmettTails } from './emmett.js';
import { idleSubscribers } from './idle.js';
import type { IdleResult } from './idle.js';
import { aurenTailLatency } from './latency.js';
import type { LatencyResult, LatencyRun } from './latency.js';

/** The databases of the tails bench, recreated on every run. */
export const TAIL_DATABASES = {
  latency: 'auren_tails',
  emmett: 'emmett_tails',
  catchup: 'auren_tails_catchup',
  idle: 'auren_tails_idle',
} as const;

export type SetupName = 'local' | 'notify' | 'poll' | 'emmett';

/** Cores busy during a latency run (warm-up included), per process group. */
export interface RunLoad {
  bench: number;
  /** The server appended to (AUREN only). */
  serverA: number | null;
  /** The other server, subscribed to in setups (b) and (c). */
  serverB: number | null;
  postgres: number | null;
  other: number | null;
}

export interface LatencyRow {
  setup: SetupName;
  rate: number;
  result: LatencyResult;
  load: RunLoad;
}

export interface TailsResults {
  latency: LatencyRow[];
  load: LoadResult;
  catchUp: CatchUpResult[];
  idle: IdleResult;
  pollMs: number;
  seconds: number;
  /** The gRPC listener the clients called. */
  listener: ServerProcess['grpcListener'];
}

interface TailsContext {
  adminUrl: string;
  serverPoolSize: number;
  postgresIsLocal: boolean;
  log: (line: string) => void;
}

const GRACE_MS = 5_000;
const EMMETT_GRACE_MS = 20_000;

export async function runTailsBench(config: TailsConfig, ctx: TailsContext): Promise<TailsResults> {
  const { log } = ctx;
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const urls = await recreateTailDatabases(ctx.adminUrl);
  const pollMs = Number(process.env.TAIL_POLL_MS || 500);
  const latency: LatencyRow[] = [];
  let listener: ServerProcess['grpcListener'] = 'PORT (connect-node)';
  const run = (label: string, rate: number, graceMs = GRACE_MS + 2 * pollMs): LatencyRun => ({
    label,
    rate,
    warmupMs: WARMUP_SECONDS * 1000,
    measureMs: config.seconds * 1000,
    lanes: LANES,
    graceMs,
  });
  const printRow = (row: LatencyRow) => {
    const r = row.result;
    log(
      `tail latency ${row.setup.padEnd(6)} ${String(row.rate).padStart(5)} ev/s offered, ${Math.round(r.achievedRate)} achieved: ` +
        `ack→receipt p50 ${r.ackToReceipt.p50.toFixed(1)} p99 ${r.ackToReceipt.p99.toFixed(1)} max ${r.ackToReceipt.max.toFixed(1)} ms, ` +
        `received ${r.received}/${r.events}${r.skipped ? ` (${r.skipped} skipped)` : ''}  [${elapsed()}]`,
    );
  };

  // 1. Latency, AUREN: appender on server A; subscriber on A (a) or on B (b, c).
  for (const notify of [true, false]) {
    const env = { TAIL_NOTIFY: String(notify) };
    const a = await startServer(urls.latency, ctx.serverPoolSize, env);
    const b = await startServer(urls.latency, ctx.serverPoolSize, env);
    listener = a.grpcListener;
    try {
      if (notify) await loadEvents(urls.latency, TAILS_PRIME_EVENTS, 'prime');
      const setups: [SetupName, ServerProcess][] = notify
        ? [
            ['local', a],
            ['notify', b],
          ]
        : [['poll', b]];
      for (const [setup, subscribeTo] of setups) {
        for (const rate of config.rates) {
          const meterA = cpuMeter({ serverPid: a.pid, postgresIsLocal: ctx.postgresIsLocal });
          const meterB = cpuMeter({ serverPid: b.pid, postgresIsLocal: ctx.postgresIsLocal });
          let loadCores: RunLoad | undefined;
          const t0 = performance.now();
          meterA.start();
          meterB.start();
          const result = await aurenTailLatency(a.grpcUrl, subscribeTo.grpcUrl, {
            ...run(`${setup}-${rate}`, rate),
            onLoadEnd: () => {
              const cpuB = meterB.stop();
              loadCores = cores(meterA.stop(), cpuB, (performance.now() - t0) / 1000);
            },
          });
          const row: LatencyRow = { setup, rate, result, load: loadCores! };
          latency.push(row);
          printRow(row);
        }
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  }

  // 2. Latency, Emmett: appendToStream and postgreSQLEventStoreConsumer in this process.
  const emmett = await emmettTails(urls.emmett, LANES, TAILS_PRIME_EVENTS);
  try {
    for (const rate of config.rates) {
      const meter = cpuMeter({ postgresIsLocal: ctx.postgresIsLocal });
      let loadCores: RunLoad | undefined;
      const t0 = performance.now();
      meter.start();
      // Its consumer falls seconds behind at high rates: wait longer for the last events.
      const result = await emmett.run({
        ...run(`emmett-${rate}`, rate, EMMETT_GRACE_MS),
        onLoadEnd: () => (loadCores = cores(meter.stop(), null, (performance.now() - t0) / 1000)),
      });
      const row: LatencyRow = { setup: 'emmett', rate, result, load: loadCores! };
      latency.push(row);
      printRow(row);
    }
  } finally {
    await emmett.close();
  }

  // 3. Catch-up: stored events, one subscriber from the start until caught_up.
  let load: LoadResult;
  const catchUp: CatchUpResult[] = [];
  {
    const server = await startServer(urls.catchup, ctx.serverPoolSize); // applies the schema
    try {
      load = await loadEvents(urls.catchup, config.catchupEvents);
      log(
        `catch-up: stored ${load.events.toLocaleString('en-US')} events in ${load.seconds.toFixed(1)} s ` +
          `(${Math.round(load.events / load.seconds).toLocaleString('en-US')} ev/s, direct SQL) and analyzed  [${elapsed()}]`,
      );
      await checkpoint(ctx.adminUrl);
      const options = {
        baseUrl: server.grpcUrl,
        serverPid: server.pid,
        adminUrl: ctx.adminUrl,
        database: TAIL_DATABASES.catchup,
        postgresIsLocal: ctx.postgresIsLocal,
        expected: config.catchupEvents,
        maxSeconds: config.catchupMaxSeconds,
      };
      // A warm-up first, as every closed-loop run has one: a fresh server's first reads run its code
      // unoptimized and size its heap (a first catch-up measured 47,811 events/s where the next ones
      // gave 56,700-60,100 on the same database). Its result is dropped.
      await catchUpWire({ ...options, maxSeconds: CATCHUP_WARMUP_SECONDS });
      // connect-node's client only on request (BENCH_CATCHUP_CONNECT=1): it adds a slow reader's run.
      for (const read of [catchUpWire, catchUpGrpcJs, ...(process.env.BENCH_CATCHUP_CONNECT === '1' ? [catchUpConnect] : [])]) {
        const r = await read(options);
        catchUp.push(r);
        log(
          `catch-up with ${r.client.padEnd(7)}: ${r.events.toLocaleString('en-US')} events in ${r.seconds.toFixed(1)} s, ` +
            `${Math.round(r.eventsPerSecond).toLocaleString('en-US')} ev/s${r.caughtUp ? '' : ` (stopped at ${config.catchupMaxSeconds} s, not caught up)`}  [${elapsed()}]`,
        );
      }
    } finally {
      await server.stop();
    }
  }

  // 4. Idle subscribers on one server, then a burst to all of them.
  let idle: IdleResult;
  {
    const server = await startServer(urls.idle, ctx.serverPoolSize);
    try {
      idle = await idleSubscribers({
        baseUrl: server.grpcUrl,
        serverPid: server.pid,
        databaseUrl: urls.idle,
        subscribers: config.idleSubscribers,
        connections: IDLE_CONNECTIONS,
        burstEvents: config.idleEvents,
        deadlineSeconds: config.idleDeadlineSeconds,
        postgresIsLocal: ctx.postgresIsLocal,
      });
      log(
        `idle: ${idle.subscribers} subscribers, RSS ${idle.rssBeforeMiB.toFixed(0)} → ${idle.rssAfterMiB.toFixed(0)} MiB, ` +
          `${idle.listenConnections} LISTEN connection(s); burst of ${idle.burst.events}: ${idle.burst.complete}/${idle.subscribers} subscribers complete  [${elapsed()}]`,
      );
    } finally {
      await server.stop();
    }
  }

  return { latency, load, catchUp, idle, pollMs, seconds: config.seconds, listener };
}

function cores(a: CpuSnapshot, b: CpuSnapshot | null, seconds: number): RunLoad {
  const per = (ms: number | null) => (ms === null ? null : ms / 1000 / seconds);
  const serverB = b?.server ?? null;
  return {
    bench: per(a.bench)!,
    serverA: per(a.server),
    serverB: per(serverB),
    postgres: per(a.postgres),
    // `other` of A's meter still counts server B.
    other: per(a.other === null ? null : Math.max(0, a.other - (serverB ?? 0))),
  };
}

async function recreateTailDatabases(adminUrl: string): Promise<Record<keyof typeof TAIL_DATABASES, string>> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const name of Object.values(TAIL_DATABASES)) {
      await client.query(`drop database if exists ${name} with (force)`);
      await client.query(`create database ${name}`);
    }
  } finally {
    await client.end();
  }
  return {
    latency: databaseUrl(adminUrl, TAIL_DATABASES.latency),
    emmett: databaseUrl(adminUrl, TAIL_DATABASES.emmett),
    catchup: databaseUrl(adminUrl, TAIL_DATABASES.catchup),
    idle: databaseUrl(adminUrl, TAIL_DATABASES.idle),
  };
}
