import { sql } from 'slonik';
import { z } from 'zod';
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

/** Who is calling: the agent named by the request (until authentication names it). */
export interface Caller {
  agentId: string;
}

/** The stream of one memory's events. */
export const memoryStream = (id: string): string => `memory-${id}`;
/** The stream of reads of one person's data. */
export const accessStream = (userId: string): string => `access-${userId}`;

/** Event types the memory module writes. */
export const MEMORY_EVENTS = {
  created: 'memory_created',
  updated: 'memory_updated',
  deleted: 'memory_deleted',
  expired: 'memory_expired',
  retrieved: 'memory_retrieved',
} as const;

const jsonObject = z.custom<JsonObject>((value) => typeof value === 'object' && value !== null && !Array.isArray(value));

/** A memories row as every read selects it. */
export const memoryRow = z.object({
  id: z.string(),
  agent_id: z.string(),
  user_id: z.string().nullable(),
  type: z.enum(MEMORY_TYPES),
  content: jsonObject,
  metadata: jsonObject,
  confidence: z.number(),
  created_at: z.number(),
  updated_at: z.number(),
  expires_at: z.number().nullable(),
  deleted_at: z.number().nullable(),
  expired_at: z.number().nullable(),
  version: z.bigint(),
  last_event_id: z.string(),
});

/** The columns matching memoryRow. */
export const memoryColumns = sql.fragment`
  id::text, agent_id, user_id, type, content, metadata, confidence, created_at, updated_at,
  expires_at, deleted_at, expired_at, version, last_event_id::text`;

/** A row as the domain's Memory; `now` decides whether it has expired. */
export function toMemory(row: z.infer<typeof memoryRow>, now = Date.now()): Memory {
  return {
    id: row.id,
    agentId: row.agent_id,
    userId: row.user_id,
    type: row.type,
    content: row.content,
    metadata: row.metadata,
    confidence: row.confidence,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    version: row.version,
    deleted: row.deleted_at !== null,
    expired: row.expired_at !== null || (row.expires_at !== null && row.expires_at <= now),
    lastEventId: row.last_event_id,
  };
}
