import { performance } from 'node:perf_hooks';
import type { CpuSnapshot } from '../cpu.js';

/** Latency percentiles of one timed run, milliseconds. */
export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoopResult {
  /** Operations completed inside the measured window. */
  count: number;
  perSecond: number;
  latency: Latency;
  cpu: CpuSnapshot | null;
  /** Every operation that completed, warm-up included. */
  total: number;
  /** What the slowest timed operation returned as its description (e.g. its query). */
  slowest: { ms: number; what: unknown } | null;
}

/**
 * What one operation does. It returns nothing (its whole duration is timed) or
 * `{ ms }` to report its own timing (e.g. only the second of two calls), and `what` to name it.
 */
export type Operation = (client: number, seq: number) => Promise<void | { ms?: number; what?: unknown }>;

export interface LoopOptions {
  clients: number;
  warmupMs: number;
  measureMs: number;
  op: Operation;
  window?: { start(): void; stop(): CpuSnapshot } | undefined;
}

/**
 * Closed loop: `clients` workers each await their operation before starting the next. Operations
 * completing inside the window after the warm-up are counted and timed.
 */
export async function closedLoop({ clients, warmupMs, measureMs, op, window }: LoopOptions): Promise<LoopResult> {
  const begin = performance.now();
  const windowStart = begin + warmupMs;
  const windowEnd = windowStart + measureMs;
  const latencies: number[] = [];
  let total = 0;
  let slowest: LoopResult['slowest'] = null;
  let failure: unknown;
  let cpu: CpuSnapshot | null = null;
  const timers = window ? [setTimeout(() => window.start(), warmupMs), setTimeout(() => (cpu = window.stop()), warmupMs + measureMs)] : [];

  async function worker(client: number): Promise<void> {
    for (let seq = 0; failure === undefined && performance.now() < windowEnd; seq++) {
      const t0 = performance.now();
      let result: Awaited<ReturnType<Operation>>;
      try {
        result = await op(client, seq);
      } catch (error) {
        failure ??= error;
        return;
      }
      const t1 = performance.now();
      total++;
      if (t1 > windowStart && t1 <= windowEnd) {
        const ms = result?.ms ?? t1 - t0;
        latencies.push(ms);
        if (!slowest || ms > slowest.ms) slowest = { ms, what: result?.what };
      }
    }
  }

  await Promise.all(Array.from({ length: clients }, (_, client) => worker(client)));
  if (failure !== undefined) {
    for (const timer of timers) clearTimeout(timer);
    throw failure;
  }
  while (window && cpu === null) await new Promise((resolve) => setTimeout(resolve, 1));
  return {
    count: latencies.length,
    perSecond: latencies.length / (measureMs / 1000),
    latency: percentiles(latencies),
    cpu,
    total,
    slowest,
  };
}

export function percentiles(values: number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
  return {
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    mean: sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}
