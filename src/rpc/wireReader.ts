import { isUtf8 } from 'node:buffer';
import type { JsonObject, JsonValue } from '../events/types.js';

// What the direct request decoders (appendWire.ts, memoryWire.ts) share: a reader of protobuf's
// binary wire format that takes only the plain case and throws NOT_PLAIN at anything else, so
// the request goes to protobuf-es and the wire checks (requestCheck.ts) instead, and every
// refusal reads the same whichever decoder saw the request first. Plain: well formed, valid
// UTF-8 everywhere, no NUL and no "__proto__" in a string field, Structs without "__proto__",
// a key twice or NaN and the infinities, nested at most MAX_DEPTH deep.
//
// Struct { map<string, Value> fields = 1 }; entry { string key = 1; Value value = 2 }
// Value { null_value = 1 (varint); number_value = 2 (fixed64); string_value = 3;
//         bool_value = 4 (varint); struct_value = 5; list_value = 6 }; ListValue { repeated Value values = 1 }

// Deeper documents go the general way, where the domain's depth rule refuses them.
const MAX_DEPTH = 40;

/** Wire types. */
export const VARINT = 0;
export const FIXED64 = 1;
export const LENGTH = 2;

/** Not the plain case: protobuf-es decodes the request instead. */
class NotPlain extends Error {}
/** Thrown by a reader at anything but the plain case. */
export const NOT_PLAIN = new NotPlain();

/** Runs a direct decoder: its message, or undefined when the bytes are not the plain case. */
export function readPlain<T>(bytes: Uint8Array, read: (buffer: Buffer) => T): T | undefined {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return read(buffer);
  } catch (error) {
    if (error === NOT_PLAIN) return undefined;
    throw error;
  }
}

/** Reads a message's parts from a buffer, in the plain case only; a decoder extends it with its message's fields. */
export class WireReader {
  at = 0;
  constructor(readonly buf: Buffer) {}

  /** google.protobuf.Struct up to `end`, as protobuf-es makes it: a plain JSON object. */
  struct(end: number, depth: number): JsonObject {
    if (depth > MAX_DEPTH) throw NOT_PLAIN;
    const object: JsonObject = {};
    while (this.at < end) {
      if (this.varint32() !== ((1 << 3) | LENGTH)) throw NOT_PLAIN;
      const entryEnd = this.limit();
      let key: string | undefined;
      let value: JsonValue | undefined;
      while (this.at < entryEnd) {
        const tag = this.varint32();
        if (tag === ((1 << 3) | LENGTH) && key === undefined) key = this.text();
        else if (tag === ((2 << 3) | LENGTH) && value === undefined) value = this.value(this.limit(), depth);
        else throw NOT_PLAIN;
      }
      this.ends(entryEnd);
      // A missing value, a key twice, or "__proto__" (which would set the object's prototype).
      if (value === undefined || key === '__proto__' || Object.hasOwn(object, key ?? '')) throw NOT_PLAIN;
      object[key ?? ''] = value;
    }
    this.ends(end);
    return object;
  }

  private value(end: number, depth: number): JsonValue {
    const tag = this.varint32();
    let value: JsonValue;
    switch (tag) {
      case (1 << 3) | VARINT:
        if (this.varint32() !== 0) throw NOT_PLAIN;
        value = null;
        break;
      case (2 << 3) | FIXED64:
        if (this.at + 8 > end) throw NOT_PLAIN;
        value = this.buf.readDoubleLE(this.at);
        // NaN and the infinities are no JSON: the domain refuses them after the general decoding.
        if (!Number.isFinite(value)) throw NOT_PLAIN;
        this.at += 8;
        break;
      case (3 << 3) | LENGTH:
        value = this.text();
        break;
      case (4 << 3) | VARINT: {
        const flag = this.varint32();
        if (flag > 1) throw NOT_PLAIN;
        value = flag === 1;
        break;
      }
      case (5 << 3) | LENGTH:
        value = this.struct(this.limit(), depth + 1);
        break;
      case (6 << 3) | LENGTH:
        value = this.list(this.limit(), depth + 1);
        break;
      default:
        throw NOT_PLAIN;
    }
    // One kind per Value: a second one (protobuf keeps the last) is not the plain case.
    this.ends(end);
    return value;
  }

  private list(end: number, depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) throw NOT_PLAIN;
    const list: JsonValue[] = [];
    while (this.at < end) {
      if (this.varint32() !== ((1 << 3) | LENGTH)) throw NOT_PLAIN;
      list.push(this.value(this.limit(), depth));
    }
    this.ends(end);
    return list;
  }

  /** A proto string field: UTF-8 text without NUL (what checkMessage refuses goes the general way). */
  name(): string {
    const text = this.text();
    if (text.includes('\u0000') || text === '__proto__') throw NOT_PLAIN;
    return text;
  }

  /** Length-prefixed UTF-8 text. */
  text(): string {
    const end = this.limit();
    const slice = this.buf.subarray(this.at, end);
    if (!isUtf8(slice)) throw NOT_PLAIN;
    this.at = end;
    return slice.toString('utf8');
  }

  /** A length prefix: the end of the part it announces, inside the buffer. */
  limit(): number {
    const length = this.varint32();
    const end = this.at + length;
    if (end > this.buf.length) throw NOT_PLAIN;
    return end;
  }

  /** Checks that a part ended exactly where its length said. */
  ends(end: number): void {
    if (this.at !== end) throw NOT_PLAIN;
  }

  /** A varint of at most 31 bits (tags, lengths, enums, bools); longer ones are not the plain case. */
  varint32(): number {
    const buf = this.buf;
    let result = 0;
    for (let shift = 0; shift < 32; shift += 7) {
      if (this.at >= buf.length) throw NOT_PLAIN;
      const byte = buf[this.at++]!;
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        if (shift === 28 && byte > 0x07) throw NOT_PLAIN;
        return result >>> 0;
      }
    }
    throw NOT_PLAIN;
  }

  /** A varint of up to 64 bits, unsigned. */
  varint64(): bigint {
    const buf = this.buf;
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.at >= buf.length) throw NOT_PLAIN;
      const byte = buf[this.at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
    throw NOT_PLAIN;
  }
}
