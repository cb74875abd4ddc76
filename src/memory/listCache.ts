import type { JsonValue } from '../events/types.js';
import type { PageTokens } from '../paging.js';
import type { CachedScope } from './audit.js';
import type { Memory } from './model.js';
import { encodeKeysetToken } from './pageToken.js';
import type { Keyset } from './pageToken.js';
import type { MemoryFilter } from './queries.js';

// ListMemories from a cached list (the Redis projection's): the same page, token and byte cut
// as listQuery gives, or nothing when the cache cannot say for sure.

/** A cached list read for a page: the memories after the keyset, newest first, and where the cache was. */
export interface CachedList extends CachedScope {
  /** Newest first, each with its creation time to the microsecond (the keyset's). */
  memories: { memory: Memory; createdAtUs: bigint }[];
  /** No memory of the scope is older than the last one: the list's end is the scope's. */
  ended: boolean;
}

/** A page built from a cached list: what ListMemories answers and the memories it read. */
export interface CachedPage {
  memories: Memory[];
  nextPageToken: string;
}

// A memory whose expiry is this close to the clock is listed by PostgreSQL, whose clock
// decides expiry: the two clocks may disagree by a little.
const EXPIRY_MARGIN_MS = 1_000;

/**
 * The page ListMemories answers for `filter` (a live-memories filter: expired ones are left
 * out), from `list`: undefined when the list cannot tell (too few memories and the list is not
 * the scope's end, an expiry too near the clock, a size it cannot compute).
 */
export function pageFromCache(
  list: CachedList,
  filter: MemoryFilter,
  pageSize: number,
  maxBytes: number,
  tokens: PageTokens,
  queryKey: string,
  now = Date.now(),
): CachedPage | undefined {
  // What listQuery fetches: one row more than the page.
  const fetched: { memory: Memory; createdAtUs: bigint; size: number }[] = [];
  for (const { memory, createdAtUs } of list.memories) {
    if (fetched.length > pageSize) break;
    if (filter.minConfidence !== null && memory.confidence < filter.minConfidence) continue;
    if (memory.expiresAt !== null) {
      const left = memory.expiresAt - now;
      if (Math.abs(left) < EXPIRY_MARGIN_MS) return undefined;
      if (left < 0) continue;
    }
    const size = documentBytes(memory);
    if (size === undefined) return undefined;
    fetched.push({ memory, createdAtUs, size });
  }
  if (fetched.length <= pageSize && !list.ended) return undefined;
  // The byte cut of withinBytes (db/pages.ts): the first row always, then while the sizes add up to maxBytes.
  let running = 0;
  const kept = fetched.filter((row, i) => {
    running += row.size;
    return i === 0 || running <= maxBytes;
  });
  const page = kept.slice(0, pageSize);
  const last = page.at(-1);
  const more = kept.length > pageSize || kept.length < fetched.length;
  const after: Keyset | undefined = last && { createdAtUs: last.createdAtUs, id: last.memory.id };
  return { memories: page.map((row) => row.memory), nextPageToken: more && after ? encodeKeysetToken(tokens, after, queryKey) : '' };
}

/**
 * The size of a memory's documents as the memories table's `size` column has it (sql/004:
 * content and metadata as jsonb text, in bytes); undefined for a number JavaScript writes with
 * an exponent, which PostgreSQL's numeric writes out in full.
 */
export function documentBytes(memory: Pick<Memory, 'content' | 'metadata'>): number | undefined {
  const content = jsonbTextBytes(memory.content);
  const metadata = jsonbTextBytes(memory.metadata);
  return content === undefined || metadata === undefined ? undefined : content + metadata;
}

// jsonb's text: `{"key": value, ...}` and `[a, b]` (a space after each colon and comma),
// strings escaped as JSON.stringify escapes them, numbers as written.
function jsonbTextBytes(value: JsonValue): number | undefined {
  if (value === null) return 4;
  switch (typeof value) {
    case 'boolean':
      return value ? 4 : 5;
    case 'number': {
      const text = String(value);
      return /e/i.test(text) ? undefined : text.length;
    }
    case 'string':
      return Buffer.byteLength(JSON.stringify(value));
  }
  const parts = Array.isArray(value)
    ? value.map(jsonbTextBytes)
    : Object.entries(value).map(([key, item]) => {
        const bytes = jsonbTextBytes(item);
        return bytes === undefined ? undefined : Buffer.byteLength(JSON.stringify(key)) + 2 + bytes;
      });
  let total = 2 + 2 * Math.max(0, parts.length - 1);
  for (const part of parts) {
    if (part === undefined) return undefined;
    total += part;
  }
  return total;
}
