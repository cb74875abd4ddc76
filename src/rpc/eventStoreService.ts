import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { GetStreamInfoResponseSchema } from '../gen/auren/v1/events_pb.js';
import type { EventStoreService } from '../gen/auren/v1/events_pb.js';
import { ServerStopping } from '../errors.js';
import type { EventStore } from '../events/eventStore.js';
import { START } from '../events/types.js';
import type { Subscriptions, TailStart } from '../tails/subscriptions.js';
import type { Handlers } from './call.js';
import { PermissionDenied } from '../auth/errors.js';
import { inTenant, principalStamp } from '../auth/principal.js';
import type { LogReads } from '../memory/logReads.js';
import { directionFromProto, eventToProto, expectedFromProto, filterFromProto, positionFromProto, positionToProto } from './convert.js';

/** EventStoreService, once for every transport: translates protobuf to the event store's and the tails' calls and back. */
export function eventStoreHandlers(
  store: EventStore,
  tails: Subscriptions,
  defaultCheckpointInterval: number,
  logReads: LogReads,
): Handlers<typeof EventStoreService> {
  return {
    async appendToStream(request, call) {
      const { principal } = call;
      // A tenant-bound key appends nothing about people outside its tenant.
      for (const event of request.events) {
        const person = event.metadata?.user_id;
        if (typeof person === 'string' && !inTenant(principal, person))
          throw new PermissionDenied(`this key may not write the data of '${person}'`, person);
      }
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
        call.signal,
        { principal: principalStamp(principal) },
      );
      return {
        nextExpectedVersion: result.nextExpectedVersion,
        firstPosition: positionToProto(result.firstPosition),
        lastPosition: positionToProto(result.lastPosition),
      };
    },

    async readStream(request, { wire, principal, signal }) {
      logReads.checkStream(principal, request.streamId);
      const slice = await store.readStream(request.streamId, request.fromVersion, directionFromProto(request.direction), request.limit);
      logReads.checkVisible(principal, slice.events);
      await logReads.record(principal, slice.events, 'read_stream', signal);
      return { events: slice.events.map((e) => eventToProto(e, wire)), streamVersion: slice.streamVersion, endOfStream: slice.endOfStream };
    },

    async readAll(request, { wire, principal, signal, peer }) {
      const slice = await store.readAll(
        positionFromProto('from_position', request.fromPosition),
        request.limit,
        filterFromProto(request.filter),
      );
      // What the caller may not see is withheld (and that recorded); the page's next position is the whole page's.
      const events = await logReads.withhold(principal, slice.events, READ_ALL, peer);
      await logReads.record(principal, events, 'read_all', signal);
      return {
        events: events.map((e) => eventToProto(e, wire)),
        nextPosition: positionToProto(slice.nextPosition),
        endOfLog: slice.endOfLog,
      };
    },

    async getStreamInfo(request, { principal }) {
      logReads.checkStream(principal, request.streamId);
      const info = await store.getStreamInfo(request.streamId);
      return create(GetStreamInfoResponseSchema, {
        exists: info.exists,
        version: info.version,
        createdAt: info.createdAt === null ? undefined : timestampFromMs(info.createdAt),
        updatedAt: info.updatedAt === null ? undefined : timestampFromMs(info.updatedAt),
      });
    },

    async getEvent(request, { wire, principal, signal }) {
      const event = await store.getEvent(request.eventId);
      logReads.checkVisible(principal, [event]);
      await logReads.record(principal, [event], 'get_event', signal);
      return { event: eventToProto(event, wire) };
    },

    async *subscribeToAll(request, { wire, signal, principal, peer }) {
      const from: TailStart =
        request.from.case === 'end'
          ? 'end'
          : { after: request.from.case === 'position' ? positionFromProto('position', request.from.value) : START };
      const tail = tails.subscribeToAll(
        { from, filter: filterFromProto(request.filter), checkpointInterval: request.checkpointInterval || defaultCheckpointInterval },
        signal,
      );
      for await (const message of tail) {
        switch (message.kind) {
          case 'event':
            // Withheld when the caller may not see it (that recorded); recorded before it is sent
            // when it is a person's data. Most events are neither: no await per event for them.
            if (!logReads.unrestricted(message.event)) {
              if ((await logReads.withhold(principal, [message.event], SUBSCRIBE_TO_ALL, peer)).length === 0) break;
              await logReads.record(principal, [message.event], 'subscribe_to_all', signal);
            }
            yield { message: { case: 'event', value: eventToProto(message.event, wire) } };
            break;
          case 'caught_up':
            yield { message: { case: 'caughtUp', value: { position: positionToProto(message.position) } } };
            break;
          case 'checkpoint':
            yield { message: { case: 'checkpoint', value: { position: positionToProto(message.position) } } };
            break;
        }
      }
      endOfTail(signal);
    },

    async *subscribeToStream(request, { wire, signal, principal }) {
      logReads.checkStream(principal, request.streamId);
      for await (const message of tails.subscribeToStream(request.streamId, request.fromVersion, signal)) {
        if (message.kind === 'event' && !logReads.unrestricted(message.event)) {
          logReads.checkVisible(principal, [message.event]);
          await logReads.record(principal, [message.event], 'subscribe_to_stream', signal);
        }
        yield message.kind === 'event'
          ? { message: { case: 'event', value: eventToProto(message.event, wire) } }
          : { message: { case: 'caughtUp', value: { version: message.version } } };
      }
      endOfTail(signal);
    },
  };
}

// The procedures as the gate names them in refusals.
const READ_ALL = 'auren.v1.EventStoreService/ReadAll';
const SUBSCRIBE_TO_ALL = 'auren.v1.EventStoreService/SubscribeToAll';

// A tail ends only when its client leaves or the server stops; the latter must not look like
// a normal end, so the client knows to resume from the last position it received.
function endOfTail(clientSignal: AbortSignal): void {
  if (!clientSignal.aborted) {
    throw new ServerStopping('the server is shutting down; subscribe again from the last position received');
  }
}
