import { sql } from 'slonik';
import type { FragmentSqlToken, QuerySqlToken } from 'slonik';
import { z } from 'zod';
import type { ChainPads } from '../events/chain.js';
import type { JsonObject } from '../events/types.js';
import { MEMORY_TYPES } from './model.js';
import type { Memory, MemoryType } from './model.js';
import type { Keyset } from './pageToken.js';
import { cutColumns, withinBytes } from '../db/pages.js';

// Every statement of the memory module, and the rows they return.

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

/** Which memories a list or search covers, checked. Deleted memories are never covered. */
export interface MemoryFilter {
  agentId: string | null;
  userId: string | null;
  /** Only these people (a tenant-bound key's); null: anyone. */
  userIds?: string[] | null;
  /** Empty: every type. */
  types: MemoryType[];
  minConfidence: number | null;
  includeExpired: boolean;
}

// Live: the sweeper has not recorded its expiry and its time has not come. Both halves, because
// the sweeper runs behind the clock. Never null, so `not live` is safe.
const live = sql.fragment`(expired_at is null and (expires_at is null or expires_at > now()))`;

// Whether a memory is expired is decided by the database's clock, the same one the filter uses.
const readColumns = sql.fragment`${memoryColumns}, not ${live} as expired_now`;

/** A memories row with its expiry as of the reading statement. */
export const readRow = memoryRow.extend({ expired_now: z.boolean() });

/** A listed row with its keyset position. */
export const listRow = readRow.extend({ created_at_us: z.bigint(), ...cutColumns });

/** A search match with its rank. */
export const searchRow = readRow.extend({ score: z.number(), ...cutColumns });

/** Per type, an agent's live memories. */
export const statsRow = z.object({
  type: z.enum(MEMORY_TYPES),
  count: z.bigint(),
  confidence_sum: z.number(),
  last_created_at: z.number(),
});

/** The conditions of a filter. `deleted_at is null` comes first: every read index is partial on it. */
export function matching(filter: MemoryFilter): FragmentSqlToken {
  const conditions = [sql.fragment`deleted_at is null`];
  if (filter.agentId !== null) conditions.push(sql.fragment`agent_id = ${filter.agentId}`);
  if (filter.userId !== null) conditions.push(sql.fragment`user_id = ${filter.userId}`);
  if (filter.userIds != null) conditions.push(sql.fragment`user_id = any(${sql.array(filter.userIds, 'text')})`);
  if (filter.types.length > 0) conditions.push(sql.fragment`type = any(${sql.array(filter.types, 'text')})`);
  if (filter.minConfidence !== null) conditions.push(sql.fragment`confidence >= ${filter.minConfidence}`);
  if (!filter.includeExpired) conditions.push(live);
  return sql.fragment`${sql.join(conditions, sql.fragment` and `)}`;
}

/** The memories of `ids` that are not deleted, expired or not (GetMemory's reads, several at once). */
export function getQuery(ids: readonly string[]): QuerySqlToken<typeof readRow> {
  return sql.type(readRow)`select ${readColumns} from memories where id = any(${sql.array(ids, 'uuid')}) and deleted_at is null`;
}

/**
 * A page, newest first, after an exclusive keyset position. The order and the row comparison
 * name the table's columns (memories.id): the bare `id` of ORDER BY would be the selected
 * `id::text`, which no index is sorted by. The keyset time travels as whole microseconds
 * (extract returns an exact numeric since PostgreSQL 14).
 */
export function listQuery(filter: MemoryFilter, after: Keyset | null, limit: number, maxBytes: number): QuerySqlToken<typeof listRow> {
  const page =
    after === null
      ? sql.fragment``
      : sql.fragment`and (memories.created_at, memories.id)
        < (to_timestamp(0) + ${after.createdAtUs.toString()}::bigint * interval '1 microsecond', ${after.id}::uuid)`;
  const source = sql.fragment`
    select memories.*, (extract(epoch from memories.created_at) * 1000000)::bigint as created_at_us
      from memories
     where ${matching(filter)} ${page}
     order by memories.created_at desc, memories.id desc
     limit ${limit}`;
  const columns = sql.fragment`${readColumns}, created_at_us`;
  return sql.type(listRow)`${withinBytes(columns, source, sql.fragment`created_at desc, id desc`, maxBytes)}`;
}

/**
 * Full-text matches, best first, then newest. `search` holds the words of content's text
 * values only (sql/003_memories.sql), so keys and punctuation never match; the query is parsed with the same
 * 'english' configuration. Written inline (not as a join) so the planner sees a constant query
 * and can use the GIN index memories_search.
 */
export function searchQuery(filter: MemoryFilter, text: string, limit: number, maxBytes: number): QuerySqlToken<typeof searchRow> {
  const query = sql.fragment`websearch_to_tsquery('english', ${text})`;
  const source = sql.fragment`
    select memories.*, ts_rank_cd(search, ${query}) as score
      from memories
     where search @@ ${query} and ${matching(filter)}
     order by score desc, memories.created_at desc, memories.id desc
     limit ${limit}`;
  const columns = sql.fragment`${readColumns}, score`;
  return sql.type(searchRow)`${withinBytes(columns, source, sql.fragment`score desc, created_at desc, id desc`, maxBytes)}`;
}

/** The memories among `ids` that match the filter (in no order): semantic matches, as they are now. */
export function byIdsQuery(filter: MemoryFilter, ids: string[]): QuerySqlToken<typeof readRow> {
  return sql.type(readRow)`
    select ${readColumns} from memories where id = any(${sql.array(ids, 'uuid')}) and ${matching(filter)}`;
}

/** Counts of an agent's live memories by type (types it has none of are absent). */
export function statsQuery(agentId: string): QuerySqlToken<typeof statsRow> {
  return sql.type(statsRow)`
    select type, count(*) as count, sum(confidence) as confidence_sum, max(created_at) as last_created_at
      from memories
     where ${matching({ agentId, userId: null, types: [], minConfidence: null, includeExpired: false })}
     group by type`;
}

/** One memory by id, deleted or not. */
export function memoryQuery(id: string): QuerySqlToken<typeof memoryRow> {
  return sql.type(memoryRow)`select ${memoryColumns} from memories where id = ${id}::uuid`;
}

// Row types are made once: a zod schema costs more to build than to check a row with.
const idRow = z.object({ id: z.string() });
const importedRow = z.object({ memory_id: z.string(), event_position: z.bigint() });

/** Which of these memory ids have a row (deleted or not). */
export function existingMemoriesQuery(ids: readonly string[]) {
  return sql.type(idRow)`select id::text from memories where id = any(${sql.array(ids, 'uuid')})`;
}

/**
 * Imports memories through the bulk write path (sql/functions/append_imported_memories.sql):
 * `events` is the JSON array of their memory_created events ({event_id, data, metadata}) in
 * jsonb's binary format (a version byte, 1, then the JSON text). Answers the memories written now.
 */
export function appendImportedMemoriesQuery(events: Buffer, pads?: ChainPads) {
  const chain = pads ? sql.fragment`, ${sql.binary(pads.inner)}, ${sql.binary(pads.outer)}` : sql.fragment``;
  return sql.type(importedRow)`
    select memory_id::text, event_position from append_imported_memories(${sql.binary(events)}::jsonb${chain})`;
}

/**
 * Memories whose expiry has passed and is not recorded yet, oldest expiry first. Replicas may
 * read the same ones: the exact expected version of memory_expired lets one record each.
 */
export function dueExpiriesQuery(limit: number): QuerySqlToken<typeof memoryRow> {
  return sql.type(memoryRow)`
    select ${memoryColumns} from memories
     where expires_at <= now() and expires_at is not null and deleted_at is null and expired_at is null
     order by expires_at limit ${limit}`;
}

/** Ids of up to `limit` memories the filter covers, newest first: the candidates of a selective semantic search. */
export function matchingIdsQuery(filter: MemoryFilter, limit: number) {
  return sql.type(idRow)`
    select id::text from memories where ${matching(filter)} order by created_at desc, id desc limit ${limit}`;
}
