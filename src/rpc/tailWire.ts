import type { Event } from '../gen/auren/v1/events_pb.js';
import { preEncodedBytes } from './preEncoded.js';
import { lengthDelimited } from './structWire.js';

// The event messages of the tails (SubscribeToAllResponse, SubscribeToStreamResponse) in
// protobuf's binary wire format, written directly: field 1 (event) around the event's bytes,
// which eventToProto already made for a binary client. protobuf-es's toBinary walks the message
// by reflection and copies the event's bytes through its writer's chunks: 8% of a catch-up's
// server time, for what is a tag, a length and one copy.
//
// SubscribeToAllResponse { oneof message { Event event = 1; CaughtUp caught_up = 2; Checkpoint checkpoint = 3 } }
// SubscribeToStreamResponse { oneof message { Event event = 1; CaughtUp caught_up = 2 } }

const EVENT_TAG = 0x0a;

/**
 * A tail response carrying an event, as the handlers yield it (`{ message: { case: 'event',
 * value } }`), as bytes; undefined for any other message, or an event not pre-encoded (then
 * protobuf-es encodes it).
 */
export function encodeTailEvent(response: unknown): Buffer | undefined {
  const message = (response as { message?: { case?: unknown; value?: unknown } } | null)?.message;
  if (message?.case !== 'event') return undefined;
  const bytes = preEncodedBytes(message.value as Event);
  if (!bytes) return undefined;
  return lengthDelimited([[EVENT_TAG, bytes]]);
}
