import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EVENT_TYPE, payloads } from '../payload.js';
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
 * AUREN: single-event appends through grpc-js to `appendUrl` at a fixed rate, one grpc-js
 * SubscribeToAll from the end on `subscribeUrl` (its own connection), latency per event id.
 */
export async function aurenTailLatency(appendUrl: string, subscribeUrl: string, run: LatencyRun): Promise<LatencyResult> {
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
