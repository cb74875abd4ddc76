import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { EventStoreService, GetStreamInfoResponseSchema } from '../gen/auren/v1/events_pb.js';
import type { EventStore } from '../events/eventStore.js';
import {
  directionFromProto, eventToProto, expectedFromProto, filterFromProto, positionFromProto, positionToProto,
} from './convert.js';

/** Serves EventStoreService: translates protobuf to the event store's calls and back. */
export function registerEventStoreService(router: ConnectRouter, store: EventStore): void {
  router.service(EventStoreService, {
    async appendToStream(request) {
      const result = await store.appendToStream(
        request.streamId,
        expectedFromProto(request.expected),
        request.events.map((event) => ({
          eventId: event.eventId || undefined,
          type: event.type,
          data: event.data ?? {},
          metadata: event.metadata ?? {},
          correlationId: event.correlationId || undefined,
          causationId: event.causationId || undefined,
        })),
      );
      return {
        nextExpectedVersion: result.nextExpectedVersion,
        firstPosition: positionToProto(result.firstPosition),
        lastPosition: positionToProto(result.lastPosition),
      };
    },

    async readStream(request) {
      const slice = await store.readStream(request.streamId, request.fromVersion, directionFromProto(request.direction), request.limit);
      return { events: slice.events.map(eventToProto), streamVersion: slice.streamVersion, endOfStream: slice.endOfStream };
    },

    async readAll(request) {
      const slice = await store.readAll(positionFromProto(request.fromPosition), request.limit, filterFromProto(request.filter));
      return { events: slice.events.map(eventToProto), nextPosition: positionToProto(slice.nextPosition), endOfLog: slice.endOfLog };
    },

    async getStreamInfo(request) {
      const info = await store.getStreamInfo(request.streamId);
      return create(GetStreamInfoResponseSchema, {
        exists: info.exists,
        version: info.version,
        createdAt: info.createdAt === null ? undefined : timestampFromMs(info.createdAt),
        updatedAt: info.updatedAt === null ? undefined : timestampFromMs(info.updatedAt),
      });
    },

    async getEvent(request) {
      return { event: eventToProto(await store.getEvent(request.eventId)) };
    },
  });
}
