import type { JsonObject, JsonValue, RecordedEvent } from '../events/types.js';
import type { Memory } from '../memory/model.js';

// google.protobuf.Struct in protobuf's binary wire format, written directly. protobuf-es
// encodes a Struct by reflection at about 100 µs for a 300-byte document; event data and
// metadata are sent this way on every read and to every live tail, so they are encoded here, in
// one pass: a length-delimited part gets one byte for its length, written once the part is
// (the part moves up when its length takes more: 128 bytes or longer). Measuring every part
// first, then writing, took 2.6 µs for the bench's 350-byte document against 1.15 µs now, and
// 3.8 µs against 1.9–2.4 µs for its whole event.
//
// Struct { map<string, Value> fields = 1 }; entry { string key = 1; Value value = 2 }
// Value { null_value = 1 (varint); number_value = 2 (fixed64); string_value = 3;
//         bool_value = 4 (varint); struct_value = 5; list_value = 6 }; ListValue { repeated Value values = 1 }

/** Struct as bytes. */
export function encodeStruct(object: JsonObject): Uint8Array {
  at = 0;
  writeStruct(object);
  return written();
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
  at = 0;
  stringField(0x0a, e.eventId);
  stringField(0x12, e.streamId);
  uint64Field(0x18, e.version);
  stringField(0x22, e.type);
  structField(0x2a, e.data);
  structField(0x32, e.metadata);
  stringField(0x3a, e.correlationId ?? '');
  stringField(0x42, e.causationId ?? '');
  room(2);
  out[at++] = 0x4a;
  const position = at++;
  uint64Field(0x08, e.position.commit);
  uint64Field(0x10, e.position.prepare);
  close(position);
  timestampField(0x52, e.createdAt);
  return written();
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
  at = 0;
  stringField(0x0a, m.id);
  stringField(0x12, m.agentId);
  stringField(0x1a, m.userId ?? '');
  if (m.type !== 0) {
    room(6);
    out[at++] = 0x20;
    writeVarint(m.type);
  }
  structField(0x2a, m.content);
  structField(0x32, m.metadata);
  if (m.confidence !== 0) {
    room(9);
    out[at] = 0x39;
    out.writeDoubleLE(m.confidence, at + 1);
    at += 9;
  }
  timestampField(0x42, m.createdAt);
  timestampField(0x4a, m.updatedAt);
  if (m.expiresAt !== null) timestampField(0x52, m.expiresAt);
  uint64Field(0x58, m.version);
  room(4);
  if (m.deleted) {
    out[at++] = 0x60;
    out[at++] = 1;
  }
  if (m.expired) {
    out[at++] = 0x68;
    out[at++] = 1;
  }
  return written();
}

// The buffer every encoding writes into, from its start, and the end of what it wrote: an
// encoding runs to its end without yielding, so one buffer serves them all; what it wrote is
// copied out at its exact size (written()). A buffer grown past SCRATCH_BYTES for a large
// message is dropped after it.
const SCRATCH_BYTES = 64 * 1024;
let out = Buffer.allocUnsafe(SCRATCH_BYTES);
let at = 0;

function written(): Buffer {
  const bytes = Buffer.allocUnsafe(at);
  out.copy(bytes, 0, 0, at);
  if (out.length > SCRATCH_BYTES) out = Buffer.allocUnsafe(SCRATCH_BYTES);
  return bytes;
}

// Makes room for n more bytes.
function room(n: number): void {
  if (at + n <= out.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(at + n, out.length * 2));
  out.copy(bigger, 0, 0, at);
  out = bigger;
}

// Writes the length of the part written since its length's byte at `slot`, moving the part up
// when its length takes more than that byte.
function close(slot: number): void {
  const length = at - slot - 1;
  if (length < 0x80) {
    out[slot] = length;
    return;
  }
  const extra = varintSize(length) - 1;
  room(extra);
  out.copyWithin(slot + 1 + extra, slot + 1, at);
  at = slot;
  writeVarint(length);
  at += length;
}

// google.protobuf.Timestamp {1 seconds, 2 nanos} of epoch milliseconds, as timestampFromMs makes it.
function timestampField(tag: number, ms: number): void {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.floor((ms - seconds * 1000) * 1_000_000);
  room(2 + 11 + 6);
  out[at++] = tag;
  const slot = at++;
  if (seconds > 0) {
    out[at++] = 0x08;
    writeVarint(seconds);
  } else if (seconds < 0) {
    // An int64 below zero is its 64 bits' varint: a time before 1970 takes ten bytes.
    out[at++] = 0x08;
    writeBigVarint(BigInt.asUintN(64, BigInt(seconds)));
  }
  if (nanos !== 0) {
    out[at++] = 0x10;
    writeVarint(nanos);
  }
  close(slot);
}

// A string field with its tag; nothing when empty.
function stringField(tag: number, value: string): void {
  if (value === '') return;
  room(1);
  out[at++] = tag;
  writeString(value);
}

// An unsigned 64-bit varint field; nothing when zero. Versions and positions are far below
// 2^53: written as numbers, without BigInt arithmetic.
function uint64Field(tag: number, value: bigint): void {
  if (value === 0n) return;
  room(11);
  out[at++] = tag;
  if (value <= MAX_SAFE) writeVarint(Number(value));
  else writeBigVarint(value);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

// A Struct field with its tag and length; always present.
function structField(tag: number, object: JsonObject): void {
  room(2);
  out[at++] = tag;
  const slot = at++;
  writeStruct(object);
  close(slot);
}

function writeStruct(object: JsonObject): void {
  for (const key in object) {
    room(3);
    out[at++] = 0x0a;
    const entry = at++;
    out[at++] = 0x0a;
    writeString(key);
    room(2);
    out[at++] = 0x12;
    const value = at++;
    writeValue(object[key]!);
    close(value);
    close(entry);
  }
}

function writeValue(value: JsonValue): void {
  if (value === null) {
    room(2);
    out[at++] = 0x08;
    out[at++] = 0;
    return;
  }
  switch (typeof value) {
    case 'number':
      room(9);
      out[at] = 0x11;
      out.writeDoubleLE(value, at + 1);
      at += 9;
      return;
    case 'boolean':
      room(2);
      out[at++] = 0x20;
      out[at++] = value ? 1 : 0;
      return;
    case 'string':
      room(1);
      out[at++] = 0x1a;
      writeString(value);
      return;
    default: {
      room(2);
      if (Array.isArray(value)) {
        out[at++] = 0x32;
        const list = at++;
        for (const item of value) {
          room(2);
          out[at++] = 0x0a;
          const slot = at++;
          writeValue(item);
          close(slot);
        }
        close(list);
        return;
      }
      out[at++] = 0x2a;
      const slot = at++;
      writeStruct(value);
      close(slot);
    }
  }
}

// A string of fewer than SHORT_STRING UTF-16 units has at most 3 bytes of UTF-8 for each, under
// 128 in all: its length is one byte, written after it.
const SHORT_STRING = 43;

// A string's length and UTF-8 bytes (a lone surrogate becomes U+FFFD, as Buffer.write makes it).
// Keys, ids and most values are short ASCII: copied by hand, they cost less than a call into
// Buffer's native UTF-8 writer (10% of a catch-up's server time went to that call).
function writeString(value: string): void {
  const units = value.length;
  if (units < SHORT_STRING) {
    room(1 + 3 * units);
    const slot = at++;
    for (let i = 0; i < units; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        at = slot + 1 + out.write(value, slot + 1, 'utf8');
        out[slot] = at - slot - 1;
        return;
      }
      out[at++] = c;
    }
    out[slot] = units;
    return;
  }
  const length = Buffer.byteLength(value, 'utf8');
  room(5 + length);
  writeVarint(length);
  at += out.write(value, at, length, 'utf8');
}

// A varint of a whole number below 2^53.
function writeVarint(n: number): void {
  at = putVarint(out, at, n);
}

// Writes n (a whole number below 2^53) as a varint into `bytes` at `i`; returns where it ended.
function putVarint(bytes: Buffer, i: number, n: number): number {
  while (n > 0x7fffffff) {
    bytes[i++] = n % 0x80 | 0x80;
    n = Math.floor(n / 0x80);
  }
  while (n > 0x7f) {
    bytes[i++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  bytes[i++] = n;
  return i;
}

/**
 * Length-delimited fields around bytes already encoded, in order: each its tag, its part's length
 * and the part, copied once into a buffer of their exact size (the messages tailWire.ts and
 * memoryWire.ts write around events and memories).
 */
export function lengthDelimited(fields: readonly (readonly [tag: number, part: Uint8Array])[]): Buffer {
  let size = 0;
  for (const [, part] of fields) size += 1 + varintSize(part.length) + part.length;
  const bytes = Buffer.allocUnsafe(size);
  let i = 0;
  for (const [tag, part] of fields) {
    bytes[i++] = tag;
    i = putVarint(bytes, i, part.length);
    bytes.set(part, i);
    i += part.length;
  }
  return bytes;
}

function writeBigVarint(value: bigint): void {
  let v = value;
  while (v > 0x7fn) {
    out[at++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[at++] = Number(v);
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}
