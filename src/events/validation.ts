import { InvalidArgument } from '../errors.js';
import { newId } from '../ids.js';
import { checkPageSize } from '../paging.js';
import type { EventFilter, JsonObject, JsonValue, ProposedEvent } from './types.js';
import type { EventStoreLimits } from './eventStore.js';

/** Longest stream id, event type, correlation or causation id accepted. */
export const MAX_NAME_LENGTH = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Control characters make ids unprintable in logs and ambiguous in prefixes.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Checks a stream id: 1 to 200 printable characters. */
export function checkStreamId(field: string, value: string): string {
  return checkName(field, value);
}

/** Whether a string is a UUID (any letter case). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Checks an event id: a UUID, returned in lower case. */
export function checkEventId(field: string, value: string): string {
  if (!UUID.test(value))
    throw new InvalidArgument(field, `expects a UUID such as 3f2b8c1e-5d6a-4f7b-9c0d-1e2f3a4b5c6d, got '${truncate(value)}'`);
  return value.toLowerCase();
}

/** An event ready for the append statement: ids assigned, JSON checked. */
export interface CheckedEvent {
  event_id: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  correlation_id: string | null;
  causation_id: string | null;
}

/** Checks the events of one append and assigns missing ids; any bad field rejects the whole batch. */
export function checkProposedEvents(events: ProposedEvent[], limits: EventStoreLimits): CheckedEvent[] {
  if (events.length === 0) throw new InvalidArgument('events', 'expects at least one event');
  if (events.length > limits.appendMaxEvents) {
    throw new InvalidArgument('events', `expects at most ${limits.appendMaxEvents} events in one append, got ${events.length}`);
  }
  const seen = new Map<string, number>();
  return events.map((event, i) => {
    const at = `events[${i}]`;
    const eventId = event.eventId ? checkEventId(`${at}.event_id`, event.eventId) : newId();
    const earlier = seen.get(eventId);
    if (earlier !== undefined) throw new InvalidArgument(`${at}.event_id`, `repeats events[${earlier}].event_id ${eventId}`);
    seen.set(eventId, i);
    checkJsonObject(`${at}.data`, event.data);
    checkJsonObject(`${at}.metadata`, event.metadata);
    const size = Buffer.byteLength(JSON.stringify(event.data)) + Buffer.byteLength(JSON.stringify(event.metadata));
    if (size > limits.eventMaxBytes) {
      throw new InvalidArgument(`${at}.data`, `data and metadata take ${size} bytes as JSON, over the limit of ${limits.eventMaxBytes}`);
    }
    return {
      event_id: eventId,
      type: checkName(`${at}.type`, event.type),
      data: event.data,
      metadata: event.metadata,
      correlation_id: optionalName(`${at}.correlation_id`, event.correlationId),
      causation_id: optionalName(`${at}.causation_id`, event.causationId),
    };
  });
}

/** Checks a filter's event types and stream-id prefixes. */
export function checkFilter(filter: EventFilter): EventFilter {
  filter.eventTypes.forEach((type, i) => checkName(`filter.event_types[${i}]`, type));
  filter.streamIdPrefixes.forEach((prefix, i) => checkName(`filter.stream_id_prefixes[${i}]`, prefix));
  return filter;
}

/** Checks a requested page size: 0 means 100 (or the limit, when smaller), above the limit is refused. */
export function checkLimit(field: string, requested: number, limits: EventStoreLimits): number {
  return checkPageSize(field, requested, { default: Math.min(100, limits.readMaxCount), max: limits.readMaxCount });
}

/** Checks a name or id: 1 to `max` printable characters (Unicode code points, not UTF-16 units). */
export function checkName(field: string, value: string, max = MAX_NAME_LENGTH): string {
  if (value.length === 0) throw new InvalidArgument(field, 'must not be empty');
  checkText(field, value);
  // A code point takes one or two UTF-16 units: only a long string needs counting.
  if (value.length > max) {
    const characters = codePoints(value);
    if (characters > max) throw new InvalidArgument(field, `expects at most ${max} characters, got ${characters}`);
  }
  if (CONTROL.test(value)) throw new InvalidArgument(field, 'must not contain control characters');
  return value;
}

/**
 * Checks text PostgreSQL can store and every client can decode: no NUL character (text and
 * jsonb refuse it) and well-formed Unicode (a lone surrogate has no UTF-8 form).
 */
export function checkText(field: string, value: string): string {
  if (value.includes('\u0000')) throw new InvalidArgument(field, 'must not contain the NUL character (U+0000)');
  if (!value.isWellFormed()) throw new InvalidArgument(field, 'must be valid Unicode text (no lone surrogates; UTF-8 on the wire)');
  return value;
}

/** The number of Unicode code points in a string. */
export function codePoints(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    count++;
  }
  return count;
}

function optionalName(field: string, value: string | undefined): string | null {
  return value ? checkName(field, value) : null;
}

function checkJsonObject(field: string, value: unknown): asserts value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgument(field, 'expects a JSON object');
  checkJsonValue(field, value as JsonValue);
}

/**
 * Deepest nesting of objects and lists accepted in a JSON document. Binary protobuf decoders
 * stop at about 100 nested messages (Python's grpcio, connect-es), and each level of a Struct
 * is two (Value, then Struct or ListValue): a deeper document would be stored and then break
 * every binary reader of it.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Checks a JSON value for what jsonb and protobuf's Struct can both carry: finite numbers (a
 * Struct can hold NaN and Infinity, jsonb cannot), text without NUL and with no lone
 * surrogates (keys too), and at most MAX_JSON_DEPTH levels of nesting.
 */
export function checkJsonValue(field: string, value: JsonValue, maxDepth = MAX_JSON_DEPTH, depth = 0): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidArgument(field, `contains ${value}, which JSON cannot represent`);
  } else if (typeof value === 'string') {
    checkText(field, value);
  } else if (typeof value === 'object' && value !== null) {
    if (depth >= maxDepth) throw new InvalidArgument(field, `nests deeper than ${maxDepth} levels of objects and lists`);
    if (Array.isArray(value)) {
      value.forEach((item, i) => checkJsonValue(`${field}[${i}]`, item, maxDepth, depth + 1));
    } else {
      for (const key in value) {
        checkText(`${field} key '${truncate(key)}'`, key);
        checkJsonValue(`${field}.${key}`, value[key]!, maxDepth, depth + 1);
      }
    }
  }
}

function truncate(value: string): string {
  return value.length > 60 ? `${value.slice(0, 60)}…` : value;
}
