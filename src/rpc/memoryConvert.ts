import { create } from '@bufbuild/protobuf';
import { timestampFromMs, timestampMs } from '@bufbuild/protobuf/wkt';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import { MemorySchema, MemoryType as ProtoMemoryType, SearchMode as ProtoSearchMode } from '../gen/auren/v1/memory_pb.js';
import type { Memory as ProtoMemory } from '../gen/auren/v1/memory_pb.js';
import { InvalidArgument } from '../errors.js';
import type { Wire } from './call.js';
import { encodeMemory } from './structWire.js';
import { preEncoded } from './preEncoded.js';
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
 * the whole memory goes pre-encoded (preEncoded.ts), for JSON clients as ordinary fields.
 */
export function memoryToProto(m: Memory, wire: Wire = 'json'): ProtoMemory {
  if (wire === 'binary') return preEncoded(MemorySchema, encodeMemory({ ...m, type: TYPE_TO_PROTO[m.type] }), `memory ${m.id}`);
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
