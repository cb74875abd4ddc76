// Pre-encoded request messages for the wire client: the constant part of a message is encoded
// once with protobuf-es, the part that changes per call (a stream id, a memory id) is put in
// front of it as one length-delimited field. Protobuf allows fields in any order and a parser
// reads them all, so `field 1 + the rest` is the message with field 1 set.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import {
  AppendToStreamRequestSchema, AppendToStreamResponseSchema, ExpectedVersionKind,
} from '../../src/gen/auren/v1/events_pb.js';
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
  for (; value >= 128; value = Math.floor(value / 128)) out.push((value % 128) | 0x80);
  out.push(value);
  return out;
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
  const rest = toBinary(AppendToStreamRequestSchema, create(AppendToStreamRequestSchema, {
    expected: { kind: expected === 'no_stream' ? ExpectedVersionKind.NO_STREAM : ExpectedVersionKind.ANY },
    events: events.map((data) => ({ type: EVENT_TYPE, data })),
  }));
  return (streamId) => withStringField(1, streamId, rest);
}

/** One whole AppendToStream message (for h2load, whose body is the same on every call). */
export function appendRequest(streamId: string, events: JsonObject[], expected: 'no_stream' | 'any'): Buffer {
  return appendRequests(events, expected)(streamId);
}

/** next_expected_version of an AppendToStream response. */
export function appendedVersion(message: Uint8Array): bigint {
  return fromBinary(AppendToStreamResponseSchema, message).nextExpectedVersion;
}
