import type { Principal } from '../auth/principal.js';
import type { JsonObject } from '../events/types.js';

/** The kinds of memory, as stored. */
export const MEMORY_TYPES = ['fact', 'analysis', 'recommendation', 'hypothesis', 'insight', 'conversation', 'decision'] as const;
/** One kind of memory. */
export type MemoryType = (typeof MEMORY_TYPES)[number];

/** One thing an agent knows about a person. Times are epoch milliseconds. */
export interface Memory {
  id: string;
  agentId: string;
  userId: string | null;
  type: MemoryType;
  content: JsonObject;
  metadata: JsonObject;
  confidence: number;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  version: bigint;
  deleted: boolean;
  expired: boolean;
  /** The event that last changed it. */
  lastEventId: string;
}

/** Who is calling: the authenticated principal (an agent key acts as its agent only). */
export type Caller = Principal;

/** The stream of one memory's events. */
export const memoryStream = (id: string): string => `memory-${id}`;
/** The stream of reads of one person's data. */
export const accessStream = (userId: string): string => `access-${userId}`;

/**
 * The stream-id prefixes this module writes: it keeps their versions in its own rows, so an
 * append from outside would make every later change conflict. The composition root hands them
 * to the event store, which refuses them to clients.
 */
export const RESERVED_STREAM_PREFIXES = ['memory-', 'access-'] as const;

/** Event types the memory module writes. */
export const MEMORY_EVENTS = {
  created: 'memory_created',
  updated: 'memory_updated',
  deleted: 'memory_deleted',
  expired: 'memory_expired',
  retrieved: 'memory_retrieved',
} as const;

/** Input limits of the memory module, handed in by the composition root. */
export interface MemoryLimits {
  /** Largest content (and, separately, metadata) accepted, in bytes of JSON. */
  contentMaxBytes: number;
  /** Longest search query, in bytes: it is recorded in the read's access-log event. */
  queryMaxBytes: number;
  /** Events read from the store at a time (a memory's history may be longer). */
  readPageSize: number;
  /** The dimension every embedding a client sends must have; absent: none is accepted. */
  embeddingDimensions?: number;
  /** Most bytes of documents (content or data, and metadata, as JSON) one answer holds; at least one memory or event. */
  responseMaxBytes: number;
}
