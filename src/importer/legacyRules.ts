import path from 'node:path';
import type { JsonObject, JsonValue } from '../events/types.js';
import { MEMORY_TYPES } from '../memory/model.js';
import type { MemoryType } from '../memory/model.js';

// The legacy memory files' rules, as the seed's migrator (seed §3.7) applies them.

/** Legacy memory types and what they became; any other unknown type becomes a fact. */
export const LEGACY_TYPES: Readonly<Record<string, MemoryType>> = {
  observation: 'fact',
  pattern: 'analysis',
  suggestion: 'recommendation',
  note: 'insight',
  chat: 'conversation',
};

/** Words in a file or folder name and the agent they name, tried in this order (the seed's map). */
export const AGENT_NAMES: readonly (readonly [string, string])[] = [
  ['neuroscientist', 'neuroscientist'],
  ['nutritionist', 'nutritionist'],
  ['training', 'training_agent'],
  ['recovery', 'recovery_agent'],
  ['sleep', 'sleep_agent'],
  ['mental', 'mental_health_agent'],
  ['coach', 'training_agent'],
  ['diet', 'nutritionist'],
];

/** The agent of a file nothing else names. */
export const UNKNOWN_AGENT = 'unknown_agent';

// Fields an item's content is taken from, in this order, when it has no `content`.
const CONTENT_FIELDS = ['value', 'data', 'text', 'message'] as const;
// Bookkeeping keys left out when the whole item is the content.
const BOOKKEEPING = new Set(['type', 'agent_id', 'user_id', 'metadata', 'timestamp']);
const UUID_IN_NAME = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** A legacy item read by the seed's rules, before the memory module checks it. */
export interface LegacyMemory {
  type: MemoryType;
  content: JsonObject;
  metadata: JsonObject;
  confidence: number;
  /** The item's own time (epoch ms), or null when it has none that reads as a time. */
  createdAt: number | null;
  /** Agent and person the item names itself, if any. */
  agentId: JsonValue | undefined;
  userId: JsonValue | undefined;
}

/** Reads one legacy item (a JSON object) by the seed's rules. */
export function readLegacyItem(item: JsonObject): LegacyMemory {
  const legacyType = item.type;
  const type = memoryType(legacyType);
  const { content, from } = contentOf(item);
  const own = item.metadata;
  const metadata: JsonObject = isObject(own) ? { ...own } : own === undefined || own === null ? {} : { legacy_metadata: own };
  metadata.migrated_from = 'json_file';
  if (typeof legacyType === 'string' && legacyType !== type) metadata.legacy_type = legacyType;
  if (from !== 'content' && from !== null) metadata.content_field = from;
  return {
    type,
    content,
    metadata,
    confidence: confidenceOf(item.confidence),
    createdAt: timeOf(truthy(item.timestamp) ? item.timestamp : item.created_at),
    agentId: item.agent_id,
    userId: item.user_id,
  };
}

/** The memory type of a legacy type: its own name when it is one of ours, else the legacy map, else fact. */
export function memoryType(legacy: JsonValue | undefined): MemoryType {
  if (legacy === undefined || legacy === null) return 'fact';
  if (typeof legacy === 'string') {
    if ((MEMORY_TYPES as readonly string[]).includes(legacy)) return legacy as MemoryType;
    if (Object.hasOwn(LEGACY_TYPES, legacy)) return LEGACY_TYPES[legacy]!;
  }
  return 'fact';
}

// The content: `content`, else the first of value/data/text/message that is not empty, else the
// item without its bookkeeping keys. A memory's content is an object: any other value is kept
// under `text` (a string, searchable as text) or `value`.
function contentOf(item: JsonObject): { content: JsonObject; from: string | null } {
  for (const field of ['content', ...CONTENT_FIELDS]) {
    const value = item[field];
    if (truthy(value)) return { content: asObject(value!), from: field };
  }
  const rest: JsonObject = {};
  for (const [key, value] of Object.entries(item)) if (!BOOKKEEPING.has(key)) rest[key] = value;
  return { content: rest, from: null };
}

function asObject(value: JsonValue): JsonObject {
  if (isObject(value)) return value;
  return typeof value === 'string' ? { text: value } : { value };
}

/** A confidence: a number or a numeric string, clamped to [0, 1]; 1 when absent or unreadable. */
export function confidenceOf(value: JsonValue | undefined): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : NaN;
  if (Number.isNaN(number)) return 1;
  return Math.max(0, Math.min(1, number));
}

/**
 * An item's time: an ISO 8601 string (without a zone it is UTC) or epoch seconds or
 * milliseconds; null when it reads as no time in years 1–9999.
 */
export function timeOf(value: JsonValue | undefined): number | null {
  let ms: number;
  if (typeof value === 'number') ms = Math.abs(value) < 1e11 ? value * 1000 : value;
  else if (typeof value === 'string') {
    const text = value.trim();
    // A date and time without a zone: UTC, not the machine's local time.
    const zoned = /T\d|\s\d/.test(text) && !/(Z|[+-]\d\d:?\d\d)$/i.test(text) ? `${text.replace(' ', 'T')}Z` : text;
    ms = /^\d{4}-\d\d-\d\d/.test(zoned) ? Date.parse(zoned) : NaN;
  } else return null;
  if (!Number.isFinite(ms)) return null;
  const year = new Date(ms).getUTCFullYear();
  return year >= 1 && year <= 9999 ? ms : null;
}

/** The agent a file's name names, else its folder's, by the seed's map; null when neither does. */
export function agentFromPath(file: string): string | null {
  const stem = path.basename(file, path.extname(file)).toLowerCase();
  const folder = path.basename(path.dirname(file)).toLowerCase();
  for (const name of [stem, folder]) {
    for (const [word, agent] of AGENT_NAMES) if (name.includes(word)) return agent;
  }
  return null;
}

/** The person a file's name names: a UUID in it, as written; null when there is none. */
export function userFromPath(file: string): string | null {
  return UUID_IN_NAME.exec(path.basename(file, path.extname(file)))?.[0] ?? null;
}

/** Whether a value counts as present (Python's truth: not null, false, 0, '', [] or {}). */
export function truthy(value: JsonValue | undefined): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** Whether a JSON value is an object (not a list). */
export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
