import { create } from '@bufbuild/protobuf';
import type { Wire } from './call.js';
import { WireType } from '@bufbuild/protobuf/wire';
import { encodeEvent } from './structWire.js';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { EventSchema, ExpectedVersionKind, ReadDirection } from '../gen/auren/v1/events_pb.js';
import type {
  Event,
  EventFilter as ProtoEventFilter,
  ExpectedVersion as ProtoExpectedVersion,
  Position as ProtoPosition,
} from '../gen/auren/v1/events_pb.js';
import { InvalidArgument } from '../errors.js';
import type { Direction } from '../events/eventStore.js';
import { START } from '../events/types.js';
import type { EventFilter, ExpectedVersion, Position, RecordedEvent } from '../events/types.js';

/** Domain position to protobuf. */
export function positionToProto(p: Position): ProtoPosition {
  return { $typeName: 'auren.v1.Position', commit: p.commit, prepare: p.prepare };
}

/** Protobuf position to domain; absent means the start of the log, a pair this store never gives out is refused. */
export function positionFromProto(field: string, p: ProtoPosition | undefined): Position {
  if (!p) return START;
  // Positions of this store have commit = prepare (commit order); any other pair was never given out.
  if (p.commit !== p.prepare) {
    throw new InvalidArgument(
      field,
      `has commit ${p.commit} and prepare ${p.prepare}; positions of this store have both equal: send back a position it returned`,
    );
  }
  return { commit: p.commit, prepare: p.prepare };
}

// The binary message of an event, kept on the event: one event read by many live tails is
// encoded once. (A property under a symbol of this module, not a WeakMap: a WeakMap cost about
// 1 µs per event set and collected, measured with 200,000 events; a property 0.2 µs.)
const BINARY = Symbol('binary Event');
// The whole encoding of a binary message, kept on it for encoders that write it out themselves (tailWire.ts).
const BYTES = Symbol('Event bytes');
type Cached<T, K extends symbol, V> = T & { [key in K]?: V };

/** The bytes of an Event made by eventToProto for a binary client; undefined for any other Event. */
export function encodedEvent(event: Event): Buffer | undefined {
  return (event as Cached<Event, typeof BYTES, Buffer>)[BYTES];
}

/**
 * Domain event to protobuf. For binary clients data and metadata go as pre-encoded Struct
 * fields (see structWire.ts), which protobuf-es writes out as they are; JSON clients get them
 * as ordinary fields.
 */
export function eventToProto(e: RecordedEvent, wire: Wire = 'json'): Event {
  if (wire === 'binary') {
    const cached = e as Cached<RecordedEvent, typeof BINARY, Event>;
    let event = cached[BINARY];
    if (!event) {
      // All of it pre-encoded (structWire.ts), handed to protobuf-es as one unknown field: it
      // writes the tag of field 1 (event_id, never empty), then the rest of the bytes as they are.
      const bytes = encodeEvent(e);
      if (bytes[0] !== EVENT_ID_TAG) throw new Error(`event ${e.eventId}: its encoding does not start with event_id`);
      event = create(EventSchema);
      event.$unknown = [{ no: EVENT_ID_FIELD, wireType: WireType.LengthDelimited, data: bytes.subarray(1) }];
      // Not enumerable: a copy made by spreading the event ({ ...e, metadata }) must not carry it.
      Object.defineProperty(event, BYTES, { value: bytes });
      Object.defineProperty(e, BINARY, { value: event });
    }
    return event;
  }
  return create(EventSchema, {
    eventId: e.eventId,
    streamId: e.streamId,
    version: e.version,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    correlationId: e.correlationId ?? '',
    causationId: e.causationId ?? '',
    position: positionToProto(e.position),
    createdAt: timestampFromMs(e.createdAt),
  });
}

// Event.event_id in proto/auren/v1/events.proto: field 1, length-delimited.
const EVENT_ID_FIELD = 1;
const EVENT_ID_TAG = 0x0a;

/** Protobuf expected version to domain; an unknown kind is refused. */
export function expectedFromProto(expected: ProtoExpectedVersion | undefined): ExpectedVersion {
  switch (expected?.kind ?? ExpectedVersionKind.UNSPECIFIED) {
    case ExpectedVersionKind.UNSPECIFIED:
    case ExpectedVersionKind.ANY:
      return { kind: 'any' };
    case ExpectedVersionKind.NO_STREAM:
      return { kind: 'no_stream' };
    case ExpectedVersionKind.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    case ExpectedVersionKind.EXACT:
      return { kind: 'exact', version: expected!.version };
    default:
      throw new InvalidArgument(
        'expected.kind',
        `unknown expected-version mode ${expected!.kind}; expects ANY, NO_STREAM, STREAM_EXISTS or EXACT`,
      );
  }
}

/** Protobuf read direction to domain; an unknown direction is refused. */
export function directionFromProto(direction: ReadDirection): Direction {
  switch (direction) {
    case ReadDirection.UNSPECIFIED:
    case ReadDirection.FORWARDS:
      return 'forwards';
    case ReadDirection.BACKWARDS:
      return 'backwards';
    default:
      throw new InvalidArgument('direction', `unknown direction ${direction}; expects FORWARDS or BACKWARDS`);
  }
}

/** Protobuf filter to domain; absent matches everything. */
export function filterFromProto(filter: ProtoEventFilter | undefined): EventFilter {
  return { eventTypes: filter?.eventTypes ?? [], streamIdPrefixes: filter?.streamIdPrefixes ?? [] };
}
