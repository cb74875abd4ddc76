import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EVENT_TYPE, payloads } from '../payload.js';
import { connectWire, headerBlock } from '../wire/h2c.js';
import { appendWithEventId, PATHS, subscribeToAllRequest, tailMessage } from '../wire/messages.js';
import { appendAny, eventStoreClient, subscribeToAll, toStruct } from './grpc.js';
import { LatencyTracker, runOpenLoop } from './openLoop.js';
import type { OpenLoopResult, TailLatency } from './openLoop.js';

/** Settings of one latency run. */
export interface LatencyRun {
  label: string;
  rate: number;
  warmupMs: number;
  measureMs: number;
  lanes: number;
  /** How long to wait for the last events after the load stops. */
  graceMs: number;
  /** Called once the last append returned, before waiting for receipts. */
  onLoadEnd?: (() => void) | undefined;
}

export type LatencyResult = TailLatency & OpenLoopResult;

/** HTTP/2 connections the appends are spread over. */
const APPEND_CONNECTIONS = 4;

/**
 * The client of the latency runs (BENCH_TAILS_CLIENT): `wire` (default), the bench's own HTTP/2
 * client with pre-encoded appends and a subscriber that decodes each message with protobuf-es;
 * `grpc-js`, @grpc/grpc-js for both, which costs the shared cores several times more.
 */
export const TAILS_CLIENT: 'wire' | 'grpc-js' = process.env.BENCH_TAILS_CLIENT === 'grpc-js' ? 'grpc-js' : 'wire';

/**
 * AUREN: single-event appends to `appendUrl` at a fixed rate, one SubscribeToAll from the end on
 * `subscribeUrl` (its own connection), latency per event id.
 */
export async function aurenTailLatency(appendUrl: string, subscribeUrl: string, run: LatencyRun): Promise<LatencyResult> {
  return TAILS_CLIENT === 'wire' ? wireTailLatency(appendUrl, subscribeUrl, run) : grpcJsTailLatency(appendUrl, subscribeUrl, run);
}

async function wireTailLatency(appendUrl: string, subscribeUrl: string, run: LatencyRun): Promise<LatencyResult> {
  const a = new URL(appendUrl);
  const s = new URL(subscribeUrl);
  const appenders = await Promise.all(Array.from({ length: APPEND_CONNECTIONS }, () => connectWire(a.hostname, Number(a.port))));
  const subscriber = await connectWire(s.hostname, Number(s.port));
  const appendHeaders = headerBlock(a.host, PATHS.append);
  const request = appendWithEventId(payloads(0, 0, 1)[0] as never);
  const tracker = new LatencyTracker();
  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  let cancelled = false;
  const tail = subscriber.stream(headerBlock(s.host, PATHS.subscribeToAll), PATHS.subscribeToAll, subscribeToAllRequest('end'), (bytes) => {
    const at = performance.now();
    const m = tailMessage(bytes).message;
    if (m.case === 'event') tracker.received(m.value.eventId, at);
    else if (m.case === 'caughtUp') markCaughtUp();
    return !cancelled;
  });
  const failed = tail.then(() => {
    if (!cancelled) throw new Error('SubscribeToAll ended');
  }) as Promise<never>;
  failed.catch(() => undefined);
  try {
    await Promise.race([caughtUp, failed]);
    const load = await runOpenLoop({
      ...run,
      async append(lane, measured) {
        const id = randomUUID();
        tracker.sent(id, measured);
        await appenders[lane % appenders.length]!.unary(appendHeaders, PATHS.append, request(`tails-${run.label}-${lane}`, id));
        tracker.acked(id);
      },
    });
    await Promise.race([tracker.allReceived(run.graceMs), failed]);
    return { ...tracker.result(), ...load };
  } finally {
    cancelled = true;
    subscriber.close();
    for (const appender of appenders) appender.close();
  }
}

async function grpcJsTailLatency(appendUrl: string, subscribeUrl: string, run: LatencyRun): Promise<LatencyResult> {
  const appenders = Array.from({ length: APPEND_CONNECTIONS }, () => eventStoreClient(appendUrl));
  const subscriber = eventStoreClient(subscribeUrl);
  const tracker = new LatencyTracker();
  const tail = subscribeToAll(subscriber, 'end', (message) => {
    if (message.message === 'event') tracker.received(message.event!.eventId, performance.now());
  });
  try {
    await Promise.race([tail.caughtUp, tail.failed]);
    let seq = 0;
    const load = await runOpenLoop({
      ...run,
      async append(lane, measured) {
        const id = randomUUID();
        const data = toStruct(payloads(lane, seq++, 1)[0]!);
        tracker.sent(id, measured);
        await appendAny(appenders[lane % appenders.length]!, `tails-${run.label}-${lane}`, [{ eventId: id, type: EVENT_TYPE, data }]);
        tracker.acked(id);
      },
    });
    await Promise.race([tracker.allReceived(run.graceMs), tail.failed]);
    return { ...tracker.result(), ...load };
  } finally {
    tail.cancel();
    subscriber.close();
    for (const client of appenders) client.close();
  }
}
