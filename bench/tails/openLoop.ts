import { performance } from 'node:perf_hooks';
import { percentile } from '../append.js';

/** Times of one event: sent by the bench, acknowledged by the store, received by the tail (ms, performance.now()). */
interface Sample {
  sent: number;
  acked: number | undefined;
  received: number | undefined;
  measured: boolean;
}

/** Distribution of one latency, milliseconds. */
export interface Spread {
  p50: number;
  p99: number;
  max: number;
}

/** What a tail saw of the events sent inside the measured window. */
export interface TailLatency {
  /** Events sent inside the window. */
  events: number;
  /** Of those, received by the tail before the bench stopped waiting. */
  received: number;
  /** Receipt − append acknowledgement. */
  ackToReceipt: Spread;
  /** Receipt − send. */
  sendToReceipt: Spread;
  /** The append call itself, send → acknowledgement. */
  append: Spread;
  /** Events the tail delivered before the appender got its acknowledgement. */
  receivedBeforeAck: number;
  /** Events never delivered although the tail delivered later ones (checked for Emmett only). */
  skipped?: number | undefined;
}

/** Records, per event id, when it was sent, acknowledged and received. */
export class LatencyTracker {
  private readonly samples = new Map<string, Sample>();
  private waiting = 0;
  private settle: (() => void) | undefined;

  sent(id: string, measured: boolean): void {
    this.samples.set(id, { sent: performance.now(), acked: undefined, received: undefined, measured });
    if (measured) this.waiting++;
  }

  acked(id: string): void {
    const sample = this.samples.get(id);
    if (sample) sample.acked = performance.now();
  }

  /** Called by the tail; ids this tracker did not send are ignored. */
  received(id: string, at: number): void {
    const sample = this.samples.get(id);
    if (!sample || sample.received !== undefined) return;
    sample.received = at;
    if (sample.measured && --this.waiting === 0) this.settle?.();
  }

  /** Resolves once every measured event was received, or after `timeoutMs`. */
  async allReceived(timeoutMs: number): Promise<void> {
    if (this.waiting === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.settle = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.settle = undefined;
  }

  /** Ids of measured events not received (yet). */
  missing(): string[] {
    return [...this.samples].filter(([, s]) => s.measured && s.received === undefined).map(([id]) => id);
  }

  /** Whether every measured event was received. */
  complete(): boolean {
    return this.waiting === 0;
  }

  result(): TailLatency {
    const ackToReceipt: number[] = [];
    const sendToReceipt: number[] = [];
    const append: number[] = [];
    let events = 0;
    let receivedBeforeAck = 0;
    for (const s of this.samples.values()) {
      if (!s.measured) continue;
      events++;
      if (s.acked !== undefined) append.push(s.acked - s.sent);
      if (s.received === undefined || s.acked === undefined) continue;
      ackToReceipt.push(s.received - s.acked);
      sendToReceipt.push(s.received - s.sent);
      if (s.received < s.acked) receivedBeforeAck++;
    }
    return {
      events,
      received: ackToReceipt.length,
      ackToReceipt: spread(ackToReceipt),
      sendToReceipt: spread(sendToReceipt),
      append: spread(append),
      receivedBeforeAck,
    };
  }
}

function spread(values: number[]): Spread {
  values.sort((a, b) => a - b);
  return { p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: values.length ? values[values.length - 1]! : Number.NaN };
}

export interface OpenLoopOptions {
  /** Appends per second, scheduled at fixed intervals whatever the store's pace. */
  rate: number;
  warmupMs: number;
  measureMs: number;
  /**
   * Streams written to. Each has at most one append in flight (so appends never conflict), so
   * this is also the most appends in flight; when all are busy, the next append starts late.
   */
  lanes: number;
  /** One single-event append to the lane's stream; `measured` when sent inside the window. */
  append(lane: number, measured: boolean): Promise<void>;
  /** Called once the last append returned, before waiting for receipts (to stop CPU meters). */
  onLoadEnd?: (() => void) | undefined;
}

/** The load actually offered. */
export interface OpenLoopResult {
  /** Appends sent inside the measured window, per second. */
  achievedRate: number;
  /** Most appends in flight at once. */
  maxInFlight: number;
  /** Most a send started after its scheduled time, ms (all lanes busy, or the event loop late). */
  maxLateMs: number;
}

/**
 * Open loop: append i is due at start + i / rate; it is sent when due, without waiting for
 * earlier appends, as long as a lane is free. Appends sent after the warm-up are measured.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { rate, lanes } = options;
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const end = windowStart + options.measureMs;
  const free = Array.from({ length: lanes }, (_, i) => lanes - 1 - i);
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  let issued = 0;
  let measuredCount = 0;
  let maxInFlight = 0;
  let maxLateMs = 0;
  let laneFreed: (() => void) | undefined;

  for (;;) {
    const now = performance.now();
    if (now >= end || failure !== undefined) break;
    const due = Math.floor(((now - start) * rate) / 1000) + 1;
    while (issued < due && free.length > 0) {
      const lane = free.pop()!;
      const sentAt = performance.now();
      maxLateMs = Math.max(maxLateMs, sentAt - (start + (issued * 1000) / rate));
      issued++;
      const measured = sentAt >= windowStart && sentAt < end;
      if (measured) measuredCount++;
      const p: Promise<void> = options.append(lane, measured).then(
        () => {
          pending.delete(p);
          free.push(lane);
          laneFreed?.();
        },
        (error: unknown) => {
          pending.delete(p);
          failure ??= error;
          laneFreed?.();
        },
      );
      pending.add(p);
      maxInFlight = Math.max(maxInFlight, pending.size);
    }
    const nextDue = start + (issued * 1000) / rate;
    const wait = free.length > 0 ? nextDue - performance.now() : Number.POSITIVE_INFINITY;
    if (wait <= 0) continue;
    // Until the next append is due, or (all lanes busy) until one is free.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, Math.min(wait, end - performance.now())));
      laneFreed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    laneFreed = undefined;
  }
  await Promise.all(pending);
  options.onLoadEnd?.();
  if (failure !== undefined) throw failure;
  return { achievedRate: measuredCount / (options.measureMs / 1000), maxInFlight, maxLateMs };
}
