import type { AppendOutcome } from './groupCommit.js';
import type { BatchAppend } from './queries.js';
import { positionAt } from './types.js';
import type { JsonObject, JsonValue, RecordedEvent } from './types.js';

/**
 * The events a committed batch wrote, as a read of the log returns them: their places from
 * append_batch()'s outcomes (positions first_position on, versions up to stream_version, the
 * transaction's time), their documents in jsonb's key order. The log head publishes them
 * without reading them back (tails/logHead.ts). `size` is their JSON length, near the stored
 * one (which counts jsonb's spaces): only the head's window budget reads it.
 */
export function committedEvents(appends: readonly BatchAppend[], outcomes: readonly AppendOutcome[]): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  appends.forEach((append, i) => {
    const outcome = outcomes[i];
    if (outcome?.outcome !== 'appended' || outcome.first_position === null || outcome.created_at === null) return;
    const count = append.events.length;
    append.events.forEach((event, k) => {
      const data = asStored(event.data) as JsonObject;
      const metadata = asStored(event.metadata) as JsonObject;
      events.push({
        eventId: event.event_id,
        streamId: append.stream_id,
        version: outcome.stream_version - BigInt(count - 1 - k),
        type: event.type,
        data,
        metadata,
        correlationId: event.correlation_id,
        causationId: event.causation_id,
        position: positionAt(outcome.first_position! + BigInt(k)),
        createdAt: outcome.created_at!,
        size: Buffer.byteLength(JSON.stringify(data)) + Buffer.byteLength(JSON.stringify(metadata)),
      });
    });
  });
  return events;
}

/**
 * A JSON value with its objects' keys in the order jsonb stores them — shorter keys first, then
 * by their UTF-8 bytes — so that it equals, key order included, what reading it back gives.
 */
export function asStored(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(asStored);
  const keys = Object.keys(value);
  const sorted = keys.length > 1 ? keys.sort(jsonbKeyOrder) : keys;
  const stored: JsonObject = {};
  for (const key of sorted) stored[key] = asStored(value[key]!);
  return stored;
}

const ASCII = /^[\x00-\x7f]*$/;

function jsonbKeyOrder(a: string, b: string): number {
  if (ASCII.test(a) && ASCII.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length - y.length || Buffer.compare(x, y);
}
