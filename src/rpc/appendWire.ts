import { isUtf8 } from 'node:buffer';
import type { AppendToStreamRequest, ExpectedVersion, ProposedEvent } from '../gen/auren/v1/events_pb.js';
import { ExpectedVersionKind } from '../gen/auren/v1/events_pb.js';
import type { JsonObject, JsonValue } from '../events/types.js';

// AppendToStreamRequest in protobuf's binary wire format, read directly into the message
// protobuf-es would make. protobuf-es reads a Struct by reflection at about 24 µs per 300-byte
// event, most of the server's time on a 100-event append; this reads the same bytes in a
// fraction of that. It only takes the plain case: a request that is well formed, has no
// unknown field, no field twice, valid UTF-8 everywhere, no NUL in its ids, no "__proto__" key,
// a known expected-version kind, a version PostgreSQL's bigint holds and documents nested at
// most MAX_DEPTH deep. Anything else is left to protobuf-es and the wire checks
// (requestCheck.ts), so every refusal reads the same whichever decoder saw the request first.
//
// AppendToStreamRequest { string stream_id = 1; ExpectedVersion expected = 2; repeated ProposedEvent events = 3 }
// ExpectedVersion { ExpectedVersionKind kind = 1; uint64 version = 2 }
// ProposedEvent { string event_id = 1; string type = 2; Struct data = 3; Struct metadata = 4;
//                 string correlation_id = 5; string causation_id = 6 }
// Struct, Value and ListValue as in structWire.ts.

const MAX_INT64 = 2n ** 63n - 1n;
// Deeper documents go the general way, where the domain's depth rule refuses them.
const MAX_DEPTH = 40;
const KINDS = new Set<number>(Object.values(ExpectedVersionKind).filter((v): v is number => typeof v === 'number'));

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;

/** Not the plain case: protobuf-es decodes the request instead. */
class NotPlain extends Error {}
const NOT_PLAIN = new NotPlain();

/**
 * The request protobuf-es would decode from `bytes`, or undefined when it is not the plain case
 * (then decode it with protobuf-es and check it with checkMessage). A request returned here has
 * passed every check checkMessage makes.
 */
export function decodeAppendRequest(bytes: Uint8Array): AppendToStreamRequest | undefined {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return new Reader(buffer).appendRequest();
  } catch (error) {
    if (error === NOT_PLAIN) return undefined;
    throw error;
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  appendRequest(): AppendToStreamRequest {
    let streamId: string | undefined;
    let expected: ExpectedVersion | undefined;
    const events: ProposedEvent[] = [];
    const end = this.buf.length;
    while (this.at < end) {
      const tag = this.varint32();
      switch (tag) {
        case (1 << 3) | LENGTH:
          if (streamId !== undefined) throw NOT_PLAIN;
          streamId = this.name();
          break;
        case (2 << 3) | LENGTH:
          if (expected !== undefined) throw NOT_PLAIN;
          expected = this.expectedVersion(this.limit());
          break;
        case (3 << 3) | LENGTH:
          events.push(this.proposedEvent(this.limit()));
          break;
        default:
          throw NOT_PLAIN;
      }
    }
    // An absent message field is an absent key, as protobuf-es leaves it.
    const request: AppendToStreamRequest = { $typeName: 'auren.v1.AppendToStreamRequest', streamId: streamId ?? '', events };
    if (expected) request.expected = expected;
    return request;
  }

  private expectedVersion(end: number): ExpectedVersion {
    let kind: number | undefined;
    let version: bigint | undefined;
    while (this.at < end) {
      const tag = this.varint32();
      if (tag === ((1 << 3) | VARINT) && kind === undefined) {
        kind = this.varint32();
        if (!KINDS.has(kind)) throw NOT_PLAIN;
      } else if (tag === ((2 << 3) | VARINT) && version === undefined) {
        version = this.varint64();
        if (version > MAX_INT64) throw NOT_PLAIN;
      } else throw NOT_PLAIN;
    }
    this.ends(end);
    return { $typeName: 'auren.v1.ExpectedVersion', kind: kind ?? 0, version: version ?? 0n };
  }

  private proposedEvent(end: number): ProposedEvent {
    const strings: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined];
    let data: JsonObject | undefined;
    let metadata: JsonObject | undefined;
    while (this.at < end) {
      const tag = this.varint32();
      const field = tag >>> 3;
      if ((tag & 7) !== LENGTH || field < 1 || field > 6) throw NOT_PLAIN;
      if (field === 3 || field === 4) {
        if ((field === 3 ? data : metadata) !== undefined) throw NOT_PLAIN;
        const struct = this.struct(this.limit(), 1);
        if (field === 3) data = struct;
        else metadata = struct;
      } else {
        if (strings[field] !== undefined) throw NOT_PLAIN;
        strings[field] = this.name();
      }
    }
    this.ends(end);
    const event: ProposedEvent = {
      $typeName: 'auren.v1.ProposedEvent',
      eventId: strings[1] ?? '',
      type: strings[2] ?? '',
      correlationId: strings[5] ?? '',
      causationId: strings[6] ?? '',
    };
    if (data) event.data = data;
    if (metadata) event.metadata = metadata;
    return event;
  }

  private struct(end: number, depth: number): JsonObject {
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

  // A proto string field: UTF-8 text without NUL (what checkMessage refuses goes the general way).
  private name(): string {
    const text = this.text();
    if (text.includes('\u0000') || text === '__proto__') throw NOT_PLAIN;
    return text;
  }

  private text(): string {
    const end = this.limit();
    const slice = this.buf.subarray(this.at, end);
    if (!isUtf8(slice)) throw NOT_PLAIN;
    this.at = end;
    return slice.toString('utf8');
  }

  // A length prefix: the end of the part it announces, inside the buffer.
  private limit(): number {
    const length = this.varint32();
    const end = this.at + length;
    if (end > this.buf.length) throw NOT_PLAIN;
    return end;
  }

  private ends(end: number): void {
    if (this.at !== end) throw NOT_PLAIN;
  }

  // A varint of at most 32 bits (tags, lengths, enums, bools); longer ones are not the plain case.
  private varint32(): number {
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

  private varint64(): bigint {
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
