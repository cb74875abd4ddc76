import type { JsonObject, JsonValue } from '../events/types.js';

// google.protobuf.Struct in protobuf's binary wire format, written directly. protobuf-es
// encodes a Struct by reflection at about 100 µs for a 300-byte document; event data and
// metadata are sent this way on every read and to every live tail, so they are encoded here
// (a few µs) and handed to the message as already-encoded fields.

const encoder = new TextEncoder();

/** Struct { map<string, Value> fields = 1 } as bytes. */
export function encodeStruct(object: JsonObject): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [key, value] of Object.entries(object)) {
    const entry = concat([field(1, encoder.encode(key)), field(2, encodeValue(value))]);
    parts.push(field(1, entry));
  }
  return concat(parts);
}

/** The bytes of a length-delimited field's value as protobuf-es keeps unknown fields: length, then content. */
export function lengthDelimited(content: Uint8Array): Uint8Array {
  return concat([varint(content.length), content]);
}

// Value { oneof kind { NullValue null_value = 1; double number_value = 2; string string_value = 3;
//                      bool bool_value = 4; Struct struct_value = 5; ListValue list_value = 6; } }
function encodeValue(value: JsonValue): Uint8Array {
  if (value === null) return Uint8Array.of(0x08, 0x00);
  switch (typeof value) {
    case 'number': {
      const bytes = new Uint8Array(9);
      bytes[0] = 0x11;
      new DataView(bytes.buffer).setFloat64(1, value, true);
      return bytes;
    }
    case 'string':
      return field(3, encoder.encode(value));
    case 'boolean':
      return Uint8Array.of(0x20, value ? 1 : 0);
    default:
      return Array.isArray(value)
        ? field(6, concat(value.map((item) => field(1, encodeValue(item)))))
        : field(5, encodeStruct(value));
  }
}

function field(number: number, content: Uint8Array): Uint8Array {
  return concat([varint((number << 3) | 2), varint(content.length), content]);
}

function varint(n: number): Uint8Array {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Uint8Array.from(bytes);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
