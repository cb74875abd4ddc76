import { performance } from 'node:perf_hooks';
import type { CpuSnapshot } from './cpu.js';

/**
 * Appends the scenario's events to a new stream: the `seq`-th append of `client`. The target
 * makes the events (see payload.ts), so a client that sends pre-encoded requests makes none.
 */
export type AppendFn = (client: number, streamId: string, seq: number) => Promise<void>;

/** What one target measured in one scenario. */
export interface RunResult {
  /** Appends that completed inside the measured window. */
  appends: number;
  events: number;
  appendsPerSecond: number;
  eventsPerSecond: number;
  /** Latency of one append, milliseconds. */
  p50: number;
  p99: number;
  /** Every append that completed, warm-up included, to check against the database. */
  totalAppends: number;
  /** CPU milliseconds used during the measured window. */
  cpu: CpuSnapshot | null;
}

export interface LoopOptions {
  label: string;
  clients: number;
  eventsPerAppend: number;
  warmupMs: number;
  measureMs: number;
  append: AppendFn;
  /** Stop starting appends once this many have started (untimed priming). */
  maxAppends?: number | undefined;
  /** Called when the measured window opens and closes. */
  window?: { start(): void; stop(): CpuSnapshot } | undefined;
}

/**
 * Closed loop: `clients` workers each await their append before starting the next, until the
 * end. Appends completing inside the window after the warm-up are counted and timed.
 */
export async function runClosedLoop(options: LoopOptions): Promise<RunResult> {
  const { clients, eventsPerAppend, warmupMs, measureMs, append, label } = options;
  const begin = performance.now();
  const windowStart = begin + warmupMs;
  const windowEnd = windowStart + measureMs;
  const latencies: number[] = [];
  let totalAppends = 0;
  let started = 0;
  const maxAppends = options.maxAppends ?? Number.POSITIVE_INFINITY;
  let failure: unknown;
  let cpu: CpuSnapshot | null = null;

  const timers = options.window
    ? [setTimeout(() => options.window!.start(), warmupMs), setTimeout(() => (cpu = options.window!.stop()), warmupMs + measureMs)]
    : [];

  async function worker(client: number): Promise<void> {
    for (let seq = 0; failure === undefined && performance.now() < windowEnd && started++ < maxAppends; seq++) {
      const t0 = performance.now();
      try {
        await append(client, `bench-${label}-${client}-${seq}`, seq);
      } catch (error) {
        failure ??= error;
        return;
      }
      const t1 = performance.now();
      totalAppends++;
      if (t1 > windowStart && t1 <= windowEnd) latencies.push(t1 - t0);
    }
  }

  await Promise.all(Array.from({ length: clients }, (_, client) => worker(client)));
  if (failure !== undefined) {
    for (const timer of timers) clearTimeout(timer);
    throw failure;
  }
  // The stop timer fires at windowEnd, before the last appends return; wait for it if it is late.
  while (options.window && cpu === null) await new Promise((resolve) => setTimeout(resolve, 1));

  latencies.sort((a, b) => a - b);
  const seconds = measureMs / 1000;
  return {
    appends: latencies.length,
    events: latencies.length * eventsPerAppend,
    appendsPerSecond: latencies.length / seconds,
    eventsPerSecond: (latencies.length * eventsPerAppend) / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    totalAppends,
    cpu,
  };
}

/** Nearest-rank percentile of sorted values; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
