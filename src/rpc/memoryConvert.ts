import { create } from '@bufbuild/protobuf';
import { WireType } from '@bufbuild/protobuf/wire';
import { timestampFromMs, timestampMs } from '@bufbuild/protobuf/wkt';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import { MemorySchema, MemoryType as ProtoMemoryType, SearchMode as ProtoSearchMode } from '../gen/auren/v1/memory_pb.js';
import type { Memory as ProtoMemory } from '../gen/auren/v1/memory_pb.js';
import { InvalidArgument } from '../errors.js';
import type { Wire } from './call.js';
import { encodeMemory } from './structWire.js';
import type { Memory, MemoryType } from '../memory/model.js';
import type { SearchMode } from '../memory/reads.js';

const TYPE_TO_PROTO: Record<MemoryType, ProtoMemoryType> = {
  fact: ProtoMemoryType.FACT,
  analysis: ProtoMemoryType.ANALYSIS,
  recommendation: ProtoMemoryType.RECOMMENDATION,
  hypothesis: ProtoMemoryType.HYPOTHESIS,
  insight: ProtoMemoryType.INSIGHT,
  conversation: ProtoMemoryType.CONVERSATION,
  decision: ProtoMemoryType.DECISION,
};
const TYPE_FROM_PROTO = new Map(Object.entries(TYPE_TO_PROTO).map(([name, value]) => [value, name as MemoryType]));

/**
 * Domain memory to protobuf; a memory about nobody has an empty user_id. For binary clients
 * content and metadata go as pre-encoded Struct fields (structWire.ts: protobuf-es encodes a
 * Struct by reflection, the most of a memory's cost), for JSON clients as ordinary fields.
 */
export function memoryToProto(m: Memory, wire: Wire = 'json'): ProtoMemory {
  if (wire === 'binary') {
    // All of it pre-encoded (structWire.ts), handed to protobuf-es as one unknown field: it
    // writes the tag of field 1 (id, never empty), then the rest of the bytes as they are.
    const bytes = encodeMemory({ ...m, type: TYPE_TO_PROTO[m.type] });
    if (bytes[0] !== MEMORY_ID_TAG) throw new Error(`memory ${m.id}: its encoding does not start with id`);
    const memory = create(MemorySchema);
    memory.$unknown = [{ no: MEMORY_ID_FIELD, wireType: WireType.LengthDelimited, data: bytes.subarray(1) }];
    // Not enumerable: a copy made by spreading the memory must not carry it.
    Object.defineProperty(memory, BYTES, { value: bytes });
    return memory;
  }
  return create(MemorySchema, {
    id: m.id,
    agentId: m.agentId,
    userId: m.userId ?? '',
    type: TYPE_TO_PROTO[m.type],
    content: m.content,
    metadata: m.metadata,
    confidence: m.confidence,
    createdAt: timestampFromMs(m.createdAt),
    updatedAt: timestampFromMs(m.updatedAt),
    expiresAt: m.expiresAt === null ? undefined : timestampFromMs(m.expiresAt),
    version: m.version,
    deleted: m.deleted,
    expired: m.expired,
  });
}

// The whole encoding of a binary memory, kept on it for encoders that write it out themselves (memoryWire.ts).
const BYTES = Symbol('Memory bytes');

/** The bytes of a Memory made by memoryToProto for a binary client; undefined for any other Memory. */
export function encodedMemory(memory: ProtoMemory): Buffer | undefined {
  return (memory as ProtoMemory & { [BYTES]?: Buffer })[BYTES];
}

// Memory.id in proto/auren/v1/memory.proto: field 1, length-delimited.
const MEMORY_ID_FIELD = 1;
const MEMORY_ID_TAG = 0x0a;

/** Protobuf memory type to its domain name; unset or unknown values are refused, naming the field. */
export function memoryTypeFromProto(field: string, value: ProtoMemoryType): MemoryType {
  const name = TYPE_FROM_PROTO.get(value);
  if (!name) {
    const problem = value === ProtoMemoryType.UNSPECIFIED ? 'must be set' : `unknown memory type ${value}`;
    throw new InvalidArgument(field, `${problem}; expects one of ${Object.keys(TYPE_TO_PROTO).join(', ')}`);
  }
  return name;
}

/** A repeated type filter to domain names; an empty list filters nothing. */
export function memoryTypesFromProto(field: string, values: ProtoMemoryType[]): MemoryType[] {
  return values.map((value, i) => memoryTypeFromProto(`${field}[${i}]`, value));
}

/** Protobuf search mode to domain; unset means full text. */
export function searchModeFromProto(mode: ProtoSearchMode): SearchMode {
  const found = SEARCH_MODES.get(mode);
  if (!found) throw new InvalidArgument('mode', `unknown search mode ${mode}; expects FULL_TEXT, SEMANTIC or HYBRID`);
  return found;
}

const SEARCH_MODES = new Map<ProtoSearchMode, SearchMode>([
  [ProtoSearchMode.UNSPECIFIED, 'full_text'],
  [ProtoSearchMode.FULL_TEXT, 'full_text'],
  [ProtoSearchMode.SEMANTIC, 'semantic'],
  [ProtoSearchMode.HYBRID, 'hybrid'],
]);

/** A protobuf time to epoch milliseconds; absent is null. */
export function timeFromProto(field: string, time: Timestamp | undefined): number | null {
  if (!time) return null;
  const ms = timestampMs(time);
  if (!Number.isFinite(ms) || time.nanos < 0 || time.nanos > 999_999_999) throw new InvalidArgument(field, 'is not a valid time');
  return ms;
}

/** Domain search mode to protobuf. */
export function searchModeToProto(mode: SearchMode): ProtoSearchMode {
  return { full_text: ProtoSearchMode.FULL_TEXT, semantic: ProtoSearchMode.SEMANTIC, hybrid: ProtoSearchMode.HYBRID }[mode];
}
