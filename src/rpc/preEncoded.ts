import { create } from '@bufbuild/protobuf';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { WireType } from '@bufbuild/protobuf/wire';

// Messages made for binary clients from their whole encoding (structWire.ts: protobuf-es encodes
// a Struct by reflection, the most of an event's or a memory's cost). Such a message holds the
// bytes as one unknown field 1, which protobuf-es writes out as they are (its tag, then the rest),
// and keeps them for the encoders that write the message out themselves (tailWire.ts, memoryWire.ts).

// Not enumerable: a copy made by spreading the message must not carry it.
const BYTES = Symbol('encoding');

// Field 1, length-delimited: the tag every such encoding starts with (an id, never empty).
const FIELD_1 = 1;
const FIELD_1_TAG = 0x0a;

/** A message of `schema` that encodes as `bytes`; `what` names it when the bytes do not start with field 1. */
export function preEncoded<Desc extends DescMessage>(schema: Desc, bytes: Buffer, what: string): MessageShape<Desc> {
  if (bytes[0] !== FIELD_1_TAG) throw new Error(`${what}: its encoding does not start with field 1`);
  const message = create(schema);
  message.$unknown = [{ no: FIELD_1, wireType: WireType.LengthDelimited, data: bytes.subarray(1) }];
  Object.defineProperty(message, BYTES, { value: bytes });
  return message;
}

/** The bytes of a message made by preEncoded; undefined for any other message. */
export function preEncodedBytes(message: object): Buffer | undefined {
  return (message as { [BYTES]?: Buffer })[BYTES];
}
