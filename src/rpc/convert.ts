import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { EventSchema, ExpectedVersionKind, ReadDirection } from '../gen/auren/v1/events_pb.js';
import type { Event, EventFilter as ProtoEventFilter, ExpectedVersion as ProtoExpectedVersion, Position as ProtoPosition } from '../gen/auren/v1/events_pb.js';
import { InvalidArgument } from '../events/errors.js';
import type { Direction } from '../events/eventStore.js';
import { START } from '../events/types.js';
import type { EventFilter, ExpectedVersion, Position, RecordedEvent } from '../events/types.js';

/** Domain position to protobuf. */
export function positionToProto(p: Position): ProtoPosition {
  return { $typeName: 'auren.v1.Position', commit: p.commit, prepare: p.prepare };
}

/** Protobuf position to domain; absent means the start of the log. */
export function positionFromProto(p: ProtoPosition | undefined): Position {
  return p ? { commit: p.commit, prepare: p.prepare } : START;
}

/** Domain event to protobuf. */
export function eventToProto(e: RecordedEvent): Event {
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
      throw new InvalidArgument('expected.kind', `unknown expected-version mode ${expected!.kind}; expects ANY, NO_STREAM, STREAM_EXISTS or EXACT`);
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
