// Settings of the live-tails part of `npm run bench`, all from environment variables.

export interface TailsConfig {
  /** Offered appends per second of the latency runs (BENCH_TAILS_RATES, default 100,1000). */
  rates: number[];
  /** Measured seconds per latency run, after 1 s of warm-up (BENCH_TAILS_SECONDS, default 5). */
  seconds: number;
  /** Events stored for the catch-up read (BENCH_CATCHUP_EVENTS, default 1000000). */
  catchupEvents: number;
  /** A catch-up read stops after this long even before caught_up (BENCH_CATCHUP_MAX_SECONDS, default 20). */
  catchupMaxSeconds: number;
  /** Idle subscribers held open against one server (BENCH_IDLE_SUBSCRIBERS, default 1000), over 10 connections. */
  idleSubscribers: number;
  /** Events appended to them afterwards (BENCH_IDLE_EVENTS, default 1000). */
  idleEvents: number;
  /** Most seconds to wait for every subscriber to have every event (BENCH_IDLE_DEADLINE_SECONDS, default 60). */
  idleDeadlineSeconds: number;
}

/** Events stored in the latency databases before the runs, so none is timed on a near-empty table. */
export const TAILS_PRIME_EVENTS = 20_000;
export const IDLE_CONNECTIONS = 10;
/** Streams the latency runs append to; each has at most one append in flight, so also the most appends in flight. */
export const LANES = 64;
export const WARMUP_SECONDS = 1;
/** Seconds of a first catch-up, dropped, before the measured ones. */
export const CATCHUP_WARMUP_SECONDS = 3;

export function loadTailsConfig(env: NodeJS.ProcessEnv = process.env): TailsConfig {
  const rates = (env.BENCH_TAILS_RATES || '100,1000').split(',').map((r) => positive('BENCH_TAILS_RATES', r.trim()));
  return {
    rates,
    seconds: positive('BENCH_TAILS_SECONDS', env.BENCH_TAILS_SECONDS, 5),
    catchupEvents: Math.round(positive('BENCH_CATCHUP_EVENTS', env.BENCH_CATCHUP_EVENTS, 1_000_000)),
    catchupMaxSeconds: positive('BENCH_CATCHUP_MAX_SECONDS', env.BENCH_CATCHUP_MAX_SECONDS, 20),
    idleSubscribers: Math.round(positive('BENCH_IDLE_SUBSCRIBERS', env.BENCH_IDLE_SUBSCRIBERS, 1_000)),
    idleEvents: Math.round(positive('BENCH_IDLE_EVENTS', env.BENCH_IDLE_EVENTS, 1_000)),
    idleDeadlineSeconds: positive('BENCH_IDLE_DEADLINE_SECONDS', env.BENCH_IDLE_DEADLINE_SECONDS, 60),
  };
}

function positive(name: string, value: string | undefined, fallback?: number): number {
  if ((value === undefined || value === '') && fallback !== undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${value}: expects a positive number`);
  return n;
}
