import type { Event } from '../gen/auren/v1/events_pb.js';
import { encodedEvent } from './convert.js';

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
  const bytes = encodedEvent(message.value as Event);
  if (!bytes) return undefined;
  let length = bytes.length;
  let lengthSize = 1;
  while (length >= 0x80) {
    length >>>= 7;
    lengthSize++;
  }
  const out = Buffer.allocUnsafe(1 + lengthSize + bytes.length);
  out[0] = EVENT_TAG;
  let at = 1;
  for (let n = bytes.length; ; ) {
    if (n < 0x80) {
      out[at++] = n;
      break;
    }
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  bytes.copy(out, at);
  return out;
}
