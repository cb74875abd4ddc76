import type { Timestamp } from '@bufbuild/protobuf/wkt';
import type { JsonObject } from '../events/types.js';
import type { Memory as ProtoMemory, StoreMemoryRequest } from '../gen/auren/v1/memory_pb.js';
import { preEncodedBytes } from './preEncoded.js';
import { lengthDelimited } from './structWire.js';
import { FIXED64, LENGTH, NOT_PLAIN, readPlain, VARINT, WireReader } from './wireReader.js';

// StoreMemoryRequest in protobuf's binary wire format, read directly into the message
// protobuf-es would make (GRPC_PORT's StoreMemory, as appendWire.ts does for AppendToStream):
// protobuf-es reads the content and metadata Structs by reflection, and checkMessage walks the
// message again. Only the plain case (wireReader.ts), with no unknown field, no field twice, a
// type of at most 31 bits, an expiry from 1970 to 9999 with valid nanos and a packed embedding
// (floats one at a time are valid protobuf too); anything else goes to protobuf-es and the wire
// checks, which refuse it naming the field.
//
// StoreMemoryRequest { string agent_id = 1; string user_id = 2; MemoryType type = 3;
//   Struct content = 4; Struct metadata = 5; optional double confidence = 6;
//   Timestamp expires_at = 7; repeated float embedding = 8 }
// Timestamp { int64 seconds = 1; int32 nanos = 2 }

// 9999-12-31T23:59:59Z, the last second requestCheck.ts accepts.
const MAX_SECONDS = 253_402_300_799n;

/**
 * The request protobuf-es would decode from `bytes`, or undefined when it is not the plain case
 * (then decode it with protobuf-es and check it with checkMessage). A request returned here has
 * passed every check checkMessage makes.
 */
export function decodeStoreMemoryRequest(bytes: Uint8Array): StoreMemoryRequest | undefined {
  return readPlain(bytes, (buffer) => new StoreMemoryReader(buffer).request());
}

class StoreMemoryReader extends WireReader {
  request(): StoreMemoryRequest {
    let agentId: string | undefined;
    let userId: string | undefined;
    let type: number | undefined;
    let content: JsonObject | undefined;
    let metadata: JsonObject | undefined;
    let confidence: number | undefined;
    let expiresAt: Timestamp | undefined;
    let embedding: number[] | undefined;
    const end = this.buf.length;
    while (this.at < end) {
      switch (this.varint32()) {
        case (1 << 3) | LENGTH:
          if (agentId !== undefined) throw NOT_PLAIN;
          agentId = this.name();
          break;
        case (2 << 3) | LENGTH:
          if (userId !== undefined) throw NOT_PLAIN;
          userId = this.name();
          break;
        case (3 << 3) | VARINT:
          if (type !== undefined) throw NOT_PLAIN;
          // At most 31 bits (varint32): protobuf-es reads an enum as int32.
          type = this.varint32();
          break;
        case (4 << 3) | LENGTH:
          if (content !== undefined) throw NOT_PLAIN;
          content = this.struct(this.limit(), 1);
          break;
        case (5 << 3) | LENGTH:
          if (metadata !== undefined) throw NOT_PLAIN;
          metadata = this.struct(this.limit(), 1);
          break;
        case (6 << 3) | FIXED64:
          if (confidence !== undefined || this.at + 8 > end) throw NOT_PLAIN;
          // Any double: the domain refuses what is not a confidence, naming the field.
          confidence = this.buf.readDoubleLE(this.at);
          this.at += 8;
          break;
        case (7 << 3) | LENGTH:
          if (expiresAt !== undefined) throw NOT_PLAIN;
          expiresAt = this.timestamp(this.limit());
          break;
        case (8 << 3) | LENGTH:
          if (embedding !== undefined) throw NOT_PLAIN;
          embedding = this.packedFloats(this.limit());
          break;
        default:
          throw NOT_PLAIN;
      }
    }
    // Absent message and optional fields are absent keys, as protobuf-es leaves them.
    const request: StoreMemoryRequest = {
      $typeName: 'auren.v1.StoreMemoryRequest',
      agentId: agentId ?? '',
      userId: userId ?? '',
      type: type ?? 0,
      embedding: embedding ?? [],
    };
    if (content) request.content = content;
    if (metadata) request.metadata = metadata;
    if (confidence !== undefined) request.confidence = confidence;
    if (expiresAt) request.expiresAt = expiresAt;
    return request;
  }

  private timestamp(end: number): Timestamp {
    let seconds: bigint | undefined;
    let nanos: number | undefined;
    while (this.at < end) {
      const tag = this.varint32();
      if (tag === ((1 << 3) | VARINT) && seconds === undefined) {
        // Before 1970 is negative, ten bytes: not the plain case.
        seconds = this.varint64();
        if (seconds > MAX_SECONDS) throw NOT_PLAIN;
      } else if (tag === ((2 << 3) | VARINT) && nanos === undefined) {
        nanos = this.varint32();
        if (nanos > 999_999_999) throw NOT_PLAIN;
      } else throw NOT_PLAIN;
    }
    this.ends(end);
    return { $typeName: 'google.protobuf.Timestamp', seconds: seconds ?? 0n, nanos: nanos ?? 0 };
  }

  private packedFloats(end: number): number[] {
    if ((end - this.at) % 4 !== 0) throw NOT_PLAIN;
    const floats = new Array<number>((end - this.at) / 4);
    for (let i = 0; i < floats.length; i++, this.at += 4) floats[i] = this.buf.readFloatLE(this.at);
    return floats;
  }
}

// The answers made of memories, written directly around the memories' bytes, which
// memoryToProto already made for a binary client (memoryConvert.ts, preEncoded.ts): protobuf-es's toBinary
// walks each Memory's thirteen fields by reflection and copies its bytes through its writer's
// chunks, for what is a tag, a length and one copy a memory.
//
// GetMemoryResponse, StoreMemoryResponse, UpdateMemoryResponse, DeleteMemoryResponse { Memory memory = 1 }
// ListMemoriesResponse { repeated Memory memories = 1; string next_page_token = 2 }

const MEMORY_TAG = 0x0a;
const PAGE_TOKEN_TAG = 0x12;

/**
 * A response holding one memory, as the handlers return it (`{ memory }`), as bytes; undefined
 * for anything else, or a memory not pre-encoded (then protobuf-es encodes it).
 */
export function encodeMemoryResponse(response: unknown): Buffer | undefined {
  if (!hasOnly(response, ONE_MEMORY)) return undefined;
  const memory = (response as { memory?: ProtoMemory }).memory;
  const bytes = memory && preEncodedBytes(memory);
  return bytes && lengthDelimited([[MEMORY_TAG, bytes]]);
}

/** A ListMemoriesResponse as the handler returns it (`{ memories, nextPageToken }`), as bytes; as encodeMemoryResponse. */
export function encodeMemoryPage(response: unknown): Buffer | undefined {
  if (!hasOnly(response, PAGE)) return undefined;
  const { memories, nextPageToken } = response as { memories?: ProtoMemory[]; nextPageToken?: string };
  if (!Array.isArray(memories)) return undefined;
  const fields: [number, Uint8Array][] = [];
  for (const memory of memories) {
    const bytes = preEncodedBytes(memory);
    if (!bytes) return undefined;
    fields.push([MEMORY_TAG, bytes]);
  }
  if (nextPageToken) fields.push([PAGE_TOKEN_TAG, Buffer.from(nextPageToken, 'utf8')]);
  return lengthDelimited(fields);
}

const ONE_MEMORY = new Set(['$typeName', 'memory']);
const PAGE = new Set(['$typeName', 'memories', 'nextPageToken']);

// Whether `value` is an object with no key but these: a response with any other field set goes to protobuf-es.
function hasOnly(value: unknown, keys: Set<string>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  for (const key in value) if (!keys.has(key)) return false;
  return true;
}
