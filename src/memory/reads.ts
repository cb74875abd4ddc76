import type { DatabasePool } from 'slonik';
import type { z } from 'zod';
import { InvalidArgument } from '../errors.js';
import type { StreamWriter } from '../events/eventStore.js';
import type { JsonObject } from '../events/types.js';
import { checkPageSize } from '../paging.js';
import type { PageTokens } from '../paging.js';
import { recordRetrieval } from './audit.js';
import type { Retrieval } from './audit.js';
import { MemoryNotFound, SearchModeUnavailable } from './errors.js';
import { checkRead, readableFilter } from './access.js';
import { MEMORY_TYPES } from './model.js';
import type { Caller, Memory, MemoryLimits, MemoryType } from './model.js';
import { decodeKeysetToken, encodeKeysetToken } from './pageToken.js';
import { wasCut } from '../db/pages.js';
import { getQuery, listQuery, searchQuery, statsQuery, toMemory } from './queries.js';
import type { MemoryFilter, readRow } from './queries.js';
import { checkConfidence, checkMemoryId, checkName, checkType } from './validation.js';
import { checkText } from '../events/validation.js';

/** Page sizes of ListMemories (memory.proto): 0 asks for the default. */
export const LIST_PAGE = { default: 50, max: 500 } as const;
/** Result counts of SearchMemories (memory.proto): 0 asks for the default. */
export const SEARCH_LIMIT = { default: 10, max: 100 } as const;
/** Longest search text accepted, in UTF-8 bytes, unless an event is smaller (the text is recorded in the access log). */
export const MAX_QUERY_BYTES = 4096;

/** Which memories to list. Absent or empty ids, no types and a confidence of 0 filter nothing. */
export interface ListFilter {
  agentId?: string;
  userId?: string;
  types: MemoryType[];
  minConfidence?: number;
  includeExpired: boolean;
  /** 0: the default (50). */
  pageSize: number;
  /** From the previous page; absent or empty: the first page. */
  pageToken?: string;
}

/** One page of memories, newest first. */
export interface MemoryPage {
  memories: Memory[];
  /** Empty on the last page. */
  nextPageToken: string;
}

/** How a search matches. */
export type SearchMode = 'full_text' | 'semantic' | 'hybrid';

/** A search: text and the same filters as a list. */
export interface SearchQuery {
  text: string;
  agentId?: string;
  userId?: string;
  types: MemoryType[];
  mode: SearchMode;
  /** 0: the default (10). */
  limit: number;
  minConfidence?: number;
  includeExpired: boolean;
}

/** One match; a higher score is a better match. */
export interface ScoredMemory {
  memory: Memory;
  score: number;
}

/** An agent's live memories, counted. */
export interface MemoryStats {
  /** Every type, 0 for those the agent has none of. */
  countByType: Record<MemoryType, number>;
  total: number;
  /** 0 when there are none. */
  averageConfidence: number;
  /** Epoch milliseconds; null when there are none. */
  lastCreatedAt: number | null;
}

/** The read side of MemoryService. Every read of a person's data is recorded in their access log. */
export interface MemoryReads {
  getMemory(caller: Caller, id: string, includeExpired: boolean, signal?: AbortSignal): Promise<Memory>;
  listMemories(caller: Caller, filter: ListFilter, signal?: AbortSignal): Promise<MemoryPage>;
  searchMemories(caller: Caller, query: SearchQuery, signal?: AbortSignal): Promise<ScoredMemory[]>;
  getMemoryStats(caller: Caller, agentId: string): Promise<MemoryStats>;
}

/** What the reads need: the pool, the event store the access log is appended to, its limits. */
export interface MemoryReadsOptions {
  pool: DatabasePool;
  /** The writer of the access streams. */
  writer: StreamWriter;
  limits: MemoryLimits;
  /** The signed page-token codec. */
  tokens: PageTokens;
}

/** Creates the read side over the memories table. */
export function createMemoryReads({ pool, writer, limits, tokens }: MemoryReadsOptions): MemoryReads {
  // A read answers only once its access-log events committed: a read whose record cannot be
  // written fails and returns nothing.
  async function auditedRead<T>(
    caller: Caller,
    read: () => Promise<{ result: T; memories: Memory[] }>,
    retrieval: Retrieval,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const { result, memories } = await read();
    await recordRetrieval(writer, caller, memories, retrieval, signal);
    return result;
  }

  return {
    async getMemory(caller, id, includeExpired, signal) {
      const memoryId = checkMemoryId('id', id);
      return auditedRead(
        caller,
        async () => {
          const row = await pool.maybeOne(getQuery(memoryId));
          // An expired memory is hidden like a missing one unless asked for: clients that do not
          // know about expiry never see it.
          if (!row || (row.expired_now && !includeExpired)) throw new MemoryNotFound(memoryId);
          const memory = fromRow(row);
          checkRead(caller, memory);
          return { result: memory, memories: [memory] };
        },
        { operation: 'get_memory', query: { id: memoryId, include_expired: includeExpired } },
        signal,
      );
    },

    async listMemories(caller, request, signal) {
      const filter = readableFilter(caller, checkFilter(request));
      const pageSize = checkPageSize('page_size', request.pageSize, LIST_PAGE);
      const key = queryKey(filter);
      const after = request.pageToken ? decodeKeysetToken(tokens, 'page_token', request.pageToken, key) : null;
      return auditedRead(
        caller,
        async () => {
          // One row more than the page says whether another page follows.
          const rows = await pool.any(listQuery(filter, after, pageSize + 1, limits.responseMaxBytes));
          const page = rows.slice(0, pageSize);
          const last = page.at(-1);
          const nextPageToken =
            (rows.length > pageSize || wasCut(rows)) && last
              ? encodeKeysetToken(tokens, { createdAtUs: last.created_at_us, id: last.id }, key)
              : '';
          const memories = page.map(fromRow);
          return { result: { memories, nextPageToken }, memories };
        },
        { operation: 'list_memories', query: { ...describeFilter(filter), page_size: pageSize, page_token: request.pageToken || null } },
        signal,
      );
    },

    async searchMemories(caller, request, signal) {
      const text = checkQueryText(request.text);
      const filter = readableFilter(caller, checkFilter(request));
      const limit = checkPageSize('limit', request.limit, SEARCH_LIMIT);
      if (request.mode === 'semantic' || request.mode === 'hybrid') throw new SearchModeUnavailable(request.mode);
      if (request.mode !== 'full_text') throw new InvalidArgument('mode', `unknown search mode '${String(request.mode)}'`);
      return auditedRead(
        caller,
        async () => {
          // The best matches that fit in an answer: a search has no next page.
          const rows = await pool.any(searchQuery(filter, text, limit, limits.responseMaxBytes));
          const results = rows.map((row) => ({ memory: fromRow(row), score: row.score }));
          return { result: results, memories: results.map((r) => r.memory) };
        },
        { operation: 'search_memories', query: { text, mode: request.mode, ...describeFilter(filter), limit } },
        signal,
      );
    },

    // Not recorded in any access log: the answer is counts and an average over every person the
    // agent remembers, with no person's id or data in it, so no person's record would name it.
    async getMemoryStats(caller, agentId) {
      const agent = checkName('agent_id', agentId);
      readableFilter(caller, { agentId: agent, userId: null, types: [], minConfidence: null, includeExpired: false });
      const rows = await pool.any(statsQuery(agent));
      const countByType = Object.fromEntries(MEMORY_TYPES.map((type) => [type, 0])) as Record<MemoryType, number>;
      let total = 0;
      let confidenceSum = 0;
      let lastCreatedAt: number | null = null;
      for (const row of rows) {
        countByType[row.type] = Number(row.count);
        total += Number(row.count);
        confidenceSum += row.confidence_sum;
        lastCreatedAt = Math.max(lastCreatedAt ?? row.last_created_at, row.last_created_at);
      }
      return { countByType, total, averageConfidence: total === 0 ? 0 : confidenceSum / total, lastCreatedAt };
    },
  };

  function checkQueryText(text: string): string {
    if (text.trim().length === 0) throw new InvalidArgument('query', 'must not be empty');
    checkText('query', text);
    const bytes = Buffer.byteLength(text);
    const max = limits.queryMaxBytes;
    if (bytes > max) throw new InvalidArgument('query', `takes ${bytes} bytes, over the limit of ${max}`);
    return text;
  }
}

function fromRow(row: z.infer<typeof readRow>): Memory {
  return { ...toMemory(row), expired: row.expired_now };
}

function checkFilter(request: Pick<ListFilter, 'agentId' | 'userId' | 'types' | 'minConfidence' | 'includeExpired'>): MemoryFilter {
  const types = [...new Set(request.types.map((type, i) => checkType(`types[${i}]`, type)))].sort();
  const minConfidence = request.minConfidence === undefined ? 0 : checkConfidence('min_confidence', request.minConfidence);
  return {
    // Protobuf sends an unset string as '': the same as absent.
    agentId: request.agentId ? checkName('agent_id', request.agentId) : null,
    userId: request.userId ? checkName('user_id', request.userId) : null,
    types,
    // Every confidence is >= 0: a minimum of 0 filters nothing.
    minConfidence: minConfidence === 0 ? null : minConfidence,
    includeExpired: request.includeExpired,
  };
}

function describeFilter(filter: MemoryFilter): JsonObject {
  return {
    agent_id: filter.agentId,
    user_id: filter.userId,
    types: filter.types,
    min_confidence: filter.minConfidence,
    include_expired: filter.includeExpired,
  };
}

// A page token is good only for the filters it was made for (the page size may change).
function queryKey(filter: MemoryFilter): string {
  return JSON.stringify(describeFilter(filter));
}
