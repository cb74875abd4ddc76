// Pre-encoded request messages for the wire client: the constant part of a message is encoded
// once with protobuf-es, the part that changes per call (a stream id, a memory id) is put in
// front of it as one length-delimited field. Protobuf allows fields in any order and a parser
// reads them all, so `field 1 + the rest` is the message with field 1 set.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import {
  AppendToStreamRequestSchema,
  AppendToStreamResponseSchema,
  ExpectedVersionKind,
  ProposedEventSchema,
  SubscribeToAllRequestSchema,
  SubscribeToAllResponseSchema,
} from '../../src/gen/auren/v1/events_pb.js';
import type { SubscribeToAllResponse } from '../../src/gen/auren/v1/events_pb.js';
import { EVENT_TYPE } from '../payload.js';

/** Paths of the methods the bench calls. */
export const PATHS = {
  append: '/auren.v1.EventStoreService/AppendToStream',
  subscribeToAll: '/auren.v1.EventStoreService/SubscribeToAll',
  health: '/grpc.health.v1.Health/Check',
  storeMemory: '/auren.v1.MemoryService/StoreMemory',
  getMemory: '/auren.v1.MemoryService/GetMemory',
} as const;

function varint(value: number): number[] {
  const out: number[] = [];
  for (; value >= 128; value = Math.floor(value / 128)) out.push(value % 128 | 0x80);
  out.push(value);
  return out;
}

/** A length-delimited field (wire type 2): a string's UTF-8 or an embedded message. */
function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);
}

/** A string field (wire type 2) followed by the rest of the message. */
export function withStringField(field: number, value: string, rest: Uint8Array): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const head = Buffer.from([(field << 3) | 2, ...varint(bytes.length)]);
  const out = Buffer.allocUnsafe(head.length + bytes.length + rest.length);
  head.copy(out, 0);
  bytes.copy(out, head.length);
  out.set(rest, head.length + bytes.length);
  return out;
}

/**
 * AppendToStream bodies: `events` events (their data as given, event ids left to the server)
 * with an expected version, to a stream named per call.
 */
export function appendRequests(events: JsonObject[], expected: 'no_stream' | 'any'): (streamId: string) => Buffer {
  const rest = toBinary(
    AppendToStreamRequestSchema,
    create(AppendToStreamRequestSchema, {
      expected: { kind: expected === 'no_stream' ? ExpectedVersionKind.NO_STREAM : ExpectedVersionKind.ANY },
      events: events.map((data) => ({ type: EVENT_TYPE, data })),
    }),
  );
  return (streamId) => withStringField(1, streamId, rest);
}

/**
 * AppendToStream bodies of one event with an id chosen by the caller (to find it again at a
 * tail), `data` the same on every call, expected version ANY.
 */
export function appendWithEventId(data: JsonObject): (streamId: string, eventId: string) => Buffer {
  const eventRest = toBinary(ProposedEventSchema, create(ProposedEventSchema, { type: EVENT_TYPE, data }));
  const expected = toBinary(
    AppendToStreamRequestSchema,
    create(AppendToStreamRequestSchema, { expected: { kind: ExpectedVersionKind.ANY } }),
  );
  return (streamId, eventId) =>
    withStringField(1, streamId, Buffer.concat([expected, lengthDelimited(3, withStringField(1, eventId, eventRest))]));
}

/** SubscribeToAll from the start or from the end of the log, no filter. */
export function subscribeToAllRequest(from: 'start' | 'end'): Buffer {
  return Buffer.from(toBinary(SubscribeToAllRequestSchema, create(SubscribeToAllRequestSchema, { from: { case: from, value: {} } })));
}

/** A SubscribeToAll response message, decoded. */
export function tailMessage(message: Uint8Array): SubscribeToAllResponse {
  return fromBinary(SubscribeToAllResponseSchema, message);
}

/**
 * The kind of a SubscribeToAll response without decoding it: its one field's tag (1 event,
 * 2 caught_up, 3 checkpoint; the encoder writes the set oneof member and nothing else).
 */
export function tailMessageKind(message: Uint8Array): 'event' | 'caughtUp' | 'checkpoint' | 'unknown' {
  switch (message[0]) {
    case 0x0a:
      return 'event';
    case 0x12:
      return 'caughtUp';
    case 0x1a:
      return 'checkpoint';
    default:
      return 'unknown';
  }
}

/** One whole AppendToStream message (for h2load, whose body is the same on every call). */
export function appendRequest(streamId: string, events: JsonObject[], expected: 'no_stream' | 'any'): Buffer {
  return appendRequests(events, expected)(streamId);
}

/** next_expected_version of an AppendToStream response. */
export function appendedVersion(message: Uint8Array): bigint {
  return fromBinary(AppendToStreamResponseSchema, message).nextExpectedVersion;
}
