import { InvalidArgument } from '../errors.js';
import { checkJsonValue, checkName as checkEventStoreName, isUuid, MAX_JSON_DEPTH } from '../events/validation.js';
import type { JsonObject, JsonValue } from '../events/types.js';
import { MEMORY_TYPES } from './model.js';
import type { MemoryType } from './model.js';

/** Longest agent or user id accepted: a person's reads are logged on stream `access-<user id>`, which must fit the event store's 200. */
export const MAX_ID_LENGTH = 190;

/** Checks a memory id: a UUID, returned in lower case. */
export function checkMemoryId(field: string, value: string): string {
  if (!isUuid(value)) throw new InvalidArgument(field, `expects a memory id (a UUID), got '${value.slice(0, 60)}'`);
  return value.toLowerCase();
}

/** Checks an agent or user id: 1 to 190 printable characters, not all of them spaces. */
export function checkName(field: string, value: string): string {
  checkEventStoreName(field, value, MAX_ID_LENGTH);
  // " " and "u1" would be two people, or two agents, in every list and audit trail.
  if (value.trim() === '') throw new InvalidArgument(field, 'must not be blank (only spaces)');
  return value;
}

/** Checks a memory type name. */
export function checkType(field: string, value: string): MemoryType {
  if (!(MEMORY_TYPES as readonly string[]).includes(value)) {
    throw new InvalidArgument(field, `unknown memory type '${value}'; expects one of ${MEMORY_TYPES.join(', ')}`);
  }
  return value as MemoryType;
}

/** Checks a confidence: a number in [0, 1]. */
export function checkConfidence(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new InvalidArgument(field, `expects a number from 0 to 1, got ${value}`);
  return value;
}

/**
 * Deepest content or metadata of a memory: one level less than an event's data, which holds it
 * (`{"content": …}` in memory_created and memory_updated), so the limit is refused naming the
 * memory's field, never an event's.
 */
export const MAX_DOCUMENT_DEPTH = MAX_JSON_DEPTH - 1;

/** Checks a JSON object (content or metadata) and its size as JSON against `maxBytes`. */
export function checkDocument(field: string, value: unknown, maxBytes: number): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgument(field, 'expects a JSON object');
  checkJsonValue(field, value as JsonValue, MAX_DOCUMENT_DEPTH);
  const size = Buffer.byteLength(JSON.stringify(value));
  if (size > maxBytes) throw new InvalidArgument(field, `takes ${size} bytes as JSON, over the limit of ${maxBytes}`);
  return value as JsonObject;
}

/** Checks an expiry: in the future. */
export function checkExpiry(field: string, at: number, now = Date.now()): number {
  if (!Number.isFinite(at)) throw new InvalidArgument(field, 'expects a time');
  if (at <= now) throw new InvalidArgument(field, `is in the past (${new Date(at).toISOString()})`);
  return at;
}

/**
 * Checks an embedding sent by a client: `dimensions` finite numbers. Empty (protobuf's unset
 * repeated field) is absent.
 */
export function checkEmbedding(field: string, value: readonly number[] | undefined, dimensions: number): number[] | undefined {
  if (value === undefined || value.length === 0) return undefined;
  if (value.length !== dimensions)
    throw new InvalidArgument(field, `expects ${dimensions} numbers (the service's embedding dimension), got ${value.length}`);
  const bad = value.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new InvalidArgument(`${field}[${bad}]`, `expects a finite number, got ${value[bad]}`);
  return [...value];
}
