import type { JsonObject, JsonValue, RecordedEvent } from '../events/types.js';
import type { Memory } from '../memory/model.js';

// google.protobuf.Struct in protobuf's binary wire format, written directly. protobuf-es
// encodes a Struct by reflection at about 100 µs for a 300-byte document; event data and
// metadata are sent this way on every read and to every live tail, so they are encoded here:
// one pass measures (every length-delimited part's size, in visiting order), one pass writes
// into a single buffer.
//
// Struct { map<string, Value> fields = 1 }; entry { string key = 1; Value value = 2 }
// Value { null_value = 1 (varint); number_value = 2 (fixed64); string_value = 3;
//         bool_value = 4 (varint); struct_value = 5; list_value = 6 }; ListValue { repeated Value values = 1 }

/** Struct as bytes. */
export function encodeStruct(object: JsonObject): Uint8Array {
  const sizes: number[] = [];
  const size = structSize(object, sizes);
  const out = Buffer.allocUnsafe(size);
  const end = writeStruct(out, 0, object, sizes, { next: 0 });
  if (end !== size) throw new Error(`struct encoding wrote ${end} of ${size} bytes`);
  return out;
}

/**
 * auren.v1.Event as bytes, fields in number order, written as protobuf-es writes them (proto3:
 * empty strings and zeros left out; data, metadata, position and created_at always present):
 *   1 event_id, 2 stream_id, 3 version (uint64), 4 type, 5 data, 6 metadata, 7 correlation_id,
 *   8 causation_id, 9 position {1 commit, 2 prepare}, 10 created_at {1 seconds, 2 nanos}.
 * Every read of the log and every live tail sends events; protobuf-es's reflection cost more
 * than everything else of a catch-up's per-event work but the transport's.
 */
export function encodeEvent(e: RecordedEvent): Buffer {
  const dataSizes: number[] = [];
  const metadataSizes: number[] = [];
  const data = structSize(e.data, dataSizes);
  const metadata = structSize(e.metadata, metadataSizes);
  const position = uint64Size(1, e.position.commit) + uint64Size(1, e.position.prepare);
  const createdAt = timestampSize(e.createdAt);
  const size =
    stringSize(e.eventId) +
    stringSize(e.streamId) +
    uint64Size(1, e.version) +
    stringSize(e.type) +
    1 +
    varintSize(data) +
    data +
    1 +
    varintSize(metadata) +
    metadata +
    stringSize(e.correlationId ?? '') +
    stringSize(e.causationId ?? '') +
    1 +
    varintSize(position) +
    position +
    1 +
    varintSize(createdAt) +
    createdAt;
  const out = Buffer.allocUnsafe(size);
  let at = stringField(out, 0, 0x0a, e.eventId);
  at = stringField(out, at, 0x12, e.streamId);
  at = uint64Field(out, at, 0x18, e.version);
  at = stringField(out, at, 0x22, e.type);
  out[at++] = 0x2a;
  at = writeStruct(out, writeVarint(out, at, data), e.data, dataSizes, { next: 0 });
  out[at++] = 0x32;
  at = writeStruct(out, writeVarint(out, at, metadata), e.metadata, metadataSizes, { next: 0 });
  at = stringField(out, at, 0x3a, e.correlationId ?? '');
  at = stringField(out, at, 0x42, e.causationId ?? '');
  out[at++] = 0x4a;
  at = writeVarint(out, at, position);
  at = uint64Field(out, at, 0x08, e.position.commit);
  at = uint64Field(out, at, 0x10, e.position.prepare);
  at = timestampField(out, at, 0x52, e.createdAt, createdAt);
  if (at !== size) throw new Error(`event encoding wrote ${at} of ${size} bytes`);
  return out;
}

/** auren.v1.Memory as encodeMemory writes it: the domain's memory, its type as MemoryType's number in memory.proto. */
export type WireMemory = Omit<Memory, 'type' | 'lastEventId'> & { type: number };

/**
 * auren.v1.Memory as bytes, fields in number order, written as protobuf-es writes them (proto3:
 * empty strings, zeros and false left out; content, metadata and the times always present):
 *   1 id, 2 agent_id, 3 user_id, 4 type (enum), 5 content, 6 metadata, 7 confidence (double),
 *   8 created_at, 9 updated_at, 10 expires_at (when set), 11 version (uint64), 12 deleted, 13 expired.
 * Every memory read and write answers with memories (GetSharedContext with ~55): protobuf-es's
 * reflection cost about 13 µs a memory beside the Structs.
 */
export function encodeMemory(m: WireMemory): Buffer {
  const contentSizes: number[] = [];
  const metadataSizes: number[] = [];
  const content = structSize(m.content, contentSizes);
  const metadata = structSize(m.metadata, metadataSizes);
  const created = timestampSize(m.createdAt);
  const updated = timestampSize(m.updatedAt);
  const expires = m.expiresAt === null ? -1 : timestampSize(m.expiresAt);
  const size =
    stringSize(m.id) +
    stringSize(m.agentId) +
    stringSize(m.userId ?? '') +
    (m.type === 0 ? 0 : 1 + varintSize(m.type)) +
    1 +
    varintSize(content) +
    content +
    1 +
    varintSize(metadata) +
    metadata +
    (m.confidence === 0 ? 0 : 9) +
    1 +
    varintSize(created) +
    created +
    1 +
    varintSize(updated) +
    updated +
    (expires < 0 ? 0 : 1 + varintSize(expires) + expires) +
    uint64Size(1, m.version) +
    (m.deleted ? 2 : 0) +
    (m.expired ? 2 : 0);
  const out = Buffer.allocUnsafe(size);
  let at = stringField(out, 0, 0x0a, m.id);
  at = stringField(out, at, 0x12, m.agentId);
  at = stringField(out, at, 0x1a, m.userId ?? '');
  if (m.type !== 0) {
    out[at++] = 0x20;
    at = writeVarint(out, at, m.type);
  }
  out[at++] = 0x2a;
  at = writeStruct(out, writeVarint(out, at, content), m.content, contentSizes, { next: 0 });
  out[at++] = 0x32;
  at = writeStruct(out, writeVarint(out, at, metadata), m.metadata, metadataSizes, { next: 0 });
  if (m.confidence !== 0) {
    out[at++] = 0x39;
    at = out.writeDoubleLE(m.confidence, at);
  }
  at = timestampField(out, at, 0x42, m.createdAt, created);
  at = timestampField(out, at, 0x4a, m.updatedAt, updated);
  if (m.expiresAt !== null) at = timestampField(out, at, 0x52, m.expiresAt, expires);
  at = uint64Field(out, at, 0x58, m.version);
  if (m.deleted) {
    out[at++] = 0x60;
    out[at++] = 1;
  }
  if (m.expired) {
    out[at++] = 0x68;
    out[at++] = 1;
  }
  if (at !== size) throw new Error(`memory encoding wrote ${at} of ${size} bytes`);
  return out;
}

// google.protobuf.Timestamp {1 seconds, 2 nanos} of epoch milliseconds, as timestampFromMs makes it.
function timestampSize(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  return uint64Size(1, int64Bits(seconds)) + uint64Size(1, BigInt(Math.floor((ms - seconds * 1000) * 1_000_000)));
}

// An int64 as its varint's 64 bits: a time before 1970 has negative seconds (ten bytes on the wire).
const int64Bits = (n: number): bigint => BigInt.asUintN(64, BigInt(n));

function timestampField(out: Buffer, at: number, tag: number, ms: number, size: number): number {
  const seconds = Math.floor(ms / 1000);
  out[at++] = tag;
  at = writeVarint(out, at, size);
  at = uint64Field(out, at, 0x08, int64Bits(seconds));
  return uint64Field(out, at, 0x10, BigInt(Math.floor((ms - seconds * 1000) * 1_000_000)));
}

// A string field with its tag; nothing when empty.
function stringSize(value: string): number {
  if (value === '') return 0;
  const length = utf8Length(value);
  return 1 + varintSize(length) + length;
}

function stringField(out: Buffer, at: number, tag: number, value: string): number {
  if (value === '') return at;
  out[at++] = tag;
  return writeString(out, at, value);
}

// An unsigned 64-bit varint field with its `tagSize`-byte tag; nothing when zero.
function uint64Size(tagSize: number, value: bigint): number {
  if (value === 0n) return 0;
  let n = 1;
  for (let v = value >> 7n; v > 0n; v >>= 7n) n++;
  return tagSize + n;
}

function uint64Field(out: Buffer, at: number, tag: number, value: bigint): number {
  if (value === 0n) return at;
  out[at++] = tag;
  if (value <= 0x7fffffffn) return writeVarint(out, at, Number(value));
  let v = value;
  while (v > 0x7fn) {
    out[at++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[at++] = Number(v);
  return at;
}

// Size of a Struct's content; records the size of each entry and nested part in visiting order.
function structSize(object: JsonObject, sizes: number[]): number {
  let total = 0;
  for (const key in object) {
    const slot = sizes.push(0) - 1;
    const keyLength = utf8Length(key);
    const valueLength = valueSize(object[key]!, sizes);
    const entry = 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueLength) + valueLength;
    sizes[slot] = entry;
    total += 1 + varintSize(entry) + entry;
  }
  return total;
}

function valueSize(value: JsonValue, sizes: number[]): number {
  if (value === null) return 2;
  switch (typeof value) {
    case 'number':
      return 9;
    case 'boolean':
      return 2;
    case 'string': {
      const length = utf8Length(value);
      return 1 + varintSize(length) + length;
    }
    default: {
      const slot = sizes.push(0) - 1;
      let content = 0;
      if (Array.isArray(value)) {
        for (const item of value) {
          const itemSlot = sizes.push(0) - 1;
          const itemSize = valueSize(item, sizes);
          sizes[itemSlot] = itemSize;
          content += 1 + varintSize(itemSize) + itemSize;
        }
      } else {
        content = structSize(value, sizes);
      }
      sizes[slot] = content;
      return 1 + varintSize(content) + content;
    }
  }
}

function writeStruct(out: Buffer, at: number, object: JsonObject, sizes: number[], cursor: { next: number }): number {
  for (const key in object) {
    const entry = sizes[cursor.next++]!;
    out[at++] = 0x0a;
    at = writeVarint(out, at, entry);
    out[at++] = 0x0a;
    at = writeString(out, at, key);
    out[at++] = 0x12;
    at = writeVarint(out, at, valueContentSize(object[key]!, sizes, cursor.next));
    at = writeValue(out, at, object[key]!, sizes, cursor);
  }
  return at;
}

function writeValue(out: Buffer, at: number, value: JsonValue, sizes: number[], cursor: { next: number }): number {
  if (value === null) {
    out[at] = 0x08;
    out[at + 1] = 0;
    return at + 2;
  }
  switch (typeof value) {
    case 'number':
      out[at] = 0x11;
      out.writeDoubleLE(value, at + 1);
      return at + 9;
    case 'boolean':
      out[at] = 0x20;
      out[at + 1] = value ? 1 : 0;
      return at + 2;
    case 'string':
      out[at] = 0x1a;
      return writeString(out, at + 1, value);
    default: {
      const content = sizes[cursor.next++]!;
      if (Array.isArray(value)) {
        out[at++] = 0x32;
        at = writeVarint(out, at, content);
        for (const item of value) {
          const itemSize = sizes[cursor.next++]!;
          out[at++] = 0x0a;
          at = writeVarint(out, at, itemSize);
          at = writeValue(out, at, item, sizes, cursor);
        }
        return at;
      }
      out[at++] = 0x2a;
      at = writeVarint(out, at, content);
      return writeStruct(out, at, value, sizes, cursor);
    }
  }
}

// The size of a Value message, without consuming recorded sizes (the writer reads them itself).
function valueContentSize(value: JsonValue, sizes: number[], next: number): number {
  if (value === null || typeof value === 'boolean') return 2;
  if (typeof value === 'number') return 9;
  if (typeof value === 'string') {
    const length = utf8Length(value);
    return 1 + varintSize(length) + length;
  }
  const content = sizes[next]!;
  return 1 + varintSize(content) + content;
}

// Keys, ids and most values are short ASCII: copied by hand, they cost less than a call into
// Buffer's native UTF-8 writer (10% of a catch-up's server time went to that call).
const SHORT_STRING = 64;

function writeString(out: Buffer, at: number, value: string): number {
  const length = utf8Length(value);
  at = writeVarint(out, at, length);
  if (length === value.length && length <= SHORT_STRING) {
    for (let i = 0; i < length; i++) out[at + i] = value.charCodeAt(i);
    return at + length;
  }
  return at + out.write(value, at, length, 'utf8');
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n > 0x7f) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  return at;
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

// UTF-8 length as Buffer.write produces it (a lone surrogate becomes U+FFFD, 3 bytes).
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
