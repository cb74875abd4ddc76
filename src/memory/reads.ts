import type { DatabasePool } from 'slonik';
import type { z } from 'zod';
import { InvalidArgument } from '../errors.js';
import type { StreamWriter } from '../events/eventStore.js';
import type { JsonObject } from '../events/types.js';
import { checkPageSize } from '../paging.js';
import type { PageTokens } from '../paging.js';
import { recordCachedListRetrieval, recordCachedRetrieval, recordRetrieval } from './audit.js';
import type { Retrieval } from './audit.js';
import { MemoryNotFound, SearchModeUnavailable } from './errors.js';
import { checkRead, readableFilter } from './access.js';
import { MEMORY_TYPES } from './model.js';
import type { Caller, Memory, MemoryLimits, MemoryType } from './model.js';
import { decodeKeysetToken, encodeKeysetToken } from './pageToken.js';
import type { Keyset } from './pageToken.js';
import { pageFromCache } from './listCache.js';
import type { CachedList, CachedPage } from './listCache.js';
import { wasCut } from '../db/pages.js';
import { sharedReads } from '../db/sharedReads.js';
import { byIdsQuery, getQuery, listQuery, searchQuery, statsQuery, toMemory } from './queries.js';
import type { MemoryFilter, readRow } from './queries.js';
import { checkConfidence, checkEmbedding, checkMemoryId, checkName, checkType } from './validation.js';
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
  /** May be empty for a semantic search with an embedding. */
  text: string;
  /** The query's embedding, computed by the client (semantic and hybrid modes); absent or empty: the service embeds the text. */
  embedding?: readonly number[];
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
  /** The lists it was found in. */
  matchedBy: Array<'full_text' | 'semantic'>;
  /** 1-based rank in each list; absent when not in it. */
  fullTextRank?: number;
  semanticRank?: number;
}

/**
 * The semantic index (the Chroma projection) and the embedder of queries. It may lag the log:
 * its matches are read again from PostgreSQL, so an answer never holds a stale or deleted memory.
 */
export interface SemanticIndex {
  /** The query text's embedding; refuses (FAILED_PRECONDITION) when the service has no embedder. */
  embedQuery(text: string, signal?: AbortSignal): Promise<number[]>;
  /** The ids nearest to `vector` among the memories the filter covers, best first, with cosine similarity. */
  nearest(vector: number[], filter: MemoryFilter, count: number, signal?: AbortSignal): Promise<{ id: string; similarity: number }[]>;
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

/**
 * A read model in front of PostgreSQL for GetMemory and the recent lists (the Redis projection).
 * It may lag: a read is answered from it only when its own audit event proves it current as
 * the event commits. GetMemory: the cached memory's version is the memory's version there (the
 * append watches the memory's stream). A list: no memory of its scope changed after the
 * position the cache was at (the append checks the log in between).
 */
export interface MemoryCache {
  /** The cached memory, or undefined (not cached, or the cache does not answer). */
  lookup(id: string): Promise<Memory | undefined>;
  /** How a cached answer ended: served (current at its audit event), or read from PostgreSQL instead. */
  verified(current: boolean): void;
  /**
   * Up to `count` memories of the list that `filter` names, after the keyset, newest first;
   * undefined when the cache keeps no complete list for that filter or does not answer.
   */
  list(filter: MemoryFilter, after: Keyset | null, count: number): Promise<CachedList | undefined>;
  /** How a list read from the cache ended: served, or read from PostgreSQL instead. */
  listVerified(current: boolean): void;
}

/** What the reads need: the pool, the event store the access log is appended to, its limits. */
export interface MemoryReadsOptions {
  pool: DatabasePool;
  /** The writer of the access streams. */
  writer: StreamWriter;
  limits: MemoryLimits;
  /** Serves GetMemory when it is verifiably current; absent: PostgreSQL answers every read. */
  cache?: MemoryCache;
  /** Semantic and hybrid search; absent: they are FAILED_PRECONDITION. */
  semantic?: SemanticIndex;
  /** The signed page-token codec. */
  tokens: PageTokens;
}

// GetMemory reads that arrive while two of its statements run go together in the next one: the
// pool's other connections stay free for the group commit and the other reads.
const SHARED_GET = { maxBatch: 64, maxInFlight: 2 } as const;

// Reciprocal rank fusion's constant (Cormack et al., 2009): a result scores 1 / (K + rank) per list.
const RRF_K = 60;
// Each list a hybrid search fuses is this many times the requested count, at least HYBRID_MIN_DEPTH.
const HYBRID_DEPTH = 3;
const HYBRID_MIN_DEPTH = 30;
// The semantic index is asked for more than the page: some of its matches may have changed since.
const SEMANTIC_OVERFETCH = 2;

// A cached list is read for this many memories more than a page needs: some may be filtered
// out (confidence, expiry) and the page still be answered from the cache.
const CACHED_LIST_SLACK = 8;

// A cached memory whose expiry is this close to the clock is read from PostgreSQL, whose clock
// decides expiry: the two clocks may disagree by a little.
const EXPIRY_MARGIN_MS = 1_000;

/** Creates the read side over the memories table. */
export function createMemoryReads({ pool, writer, limits, cache, semantic, tokens }: MemoryReadsOptions): MemoryReads {
  // GetMemory's select: concurrent reads share one statement (each is still recorded on its own).
  const readMemory = sharedReads(async (ids) => new Map((await pool.any(getQuery(ids))).map((row) => [row.id, row])), SHARED_GET);

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
      const retrieval: Retrieval = { operation: 'get_memory', query: { id: memoryId, include_expired: includeExpired } };
      const cached = cache && (await cache.lookup(memoryId));
      const served = cached && servable(cached, includeExpired);
      if (cache && served) {
        checkRead(caller, served);
        // The same record as a read from PostgreSQL, committed before the answer, on the
        // condition that the memory is still at the cached version at the record's place in the log.
        const current = await recordCachedRetrieval(writer, caller, served, retrieval, signal);
        cache.verified(current);
        if (current) return served;
        // The cache was behind: nothing was recorded, PostgreSQL answers (and records) below.
      }
      return auditedRead(
        caller,
        async () => {
          const row = await readMemory(memoryId);
          // An expired memory is hidden like a missing one unless asked for: clients that do not
          // know about expiry never see it.
          if (!row || (row.expired_now && !includeExpired)) throw new MemoryNotFound(memoryId);
          const memory = fromRow(row);
          checkRead(caller, memory);
          return { result: memory, memories: [memory] };
        },
        retrieval,
        signal,
      );
    },

    async listMemories(caller, request, signal) {
      const filter = readableFilter(caller, checkFilter(request));
      const pageSize = checkPageSize('page_size', request.pageSize, LIST_PAGE);
      const key = queryKey(filter);
      const after = request.pageToken ? decodeKeysetToken(tokens, 'page_token', request.pageToken, key) : null;
      const retrieval: Retrieval = {
        operation: 'list_memories',
        query: { ...describeFilter(filter), page_size: pageSize, page_token: request.pageToken || null },
      };
      const cached = await cachedPage(filter, after, pageSize, key);
      if (cache && cached) {
        // The same record as a read from PostgreSQL, committed before the answer, on the
        // condition that nothing the list holds changed after what the cache had applied.
        const current = await recordCachedListRetrieval(writer, caller, cached.page.memories, retrieval, cached.list, signal);
        cache.listVerified(current);
        if (current) return cached.page;
      }
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
        retrieval,
        signal,
      );
    },

    async searchMemories(caller, request, signal) {
      const mode = request.mode;
      if (mode !== 'full_text' && mode !== 'semantic' && mode !== 'hybrid')
        throw new InvalidArgument('mode', `unknown search mode '${String(mode)}'`);
      const embedding = checkEmbedding('embedding', request.embedding, limits.embeddingDimensions ?? 0);
      if (embedding && mode === 'full_text') throw new InvalidArgument('embedding', 'is for SEMANTIC and HYBRID searches');
      // A semantic search by the client's vector needs no text.
      const text = mode === 'semantic' && embedding && request.text === '' ? '' : checkQueryText(request.text);
      const filter = readableFilter(caller, checkFilter(request));
      const limit = checkPageSize('limit', request.limit, SEARCH_LIMIT);
      if (mode !== 'full_text' && !semantic) throw new SearchModeUnavailable(mode);
      const recorded: JsonObject = { text, mode, ...describeFilter(filter), limit };
      if (embedding) recorded.embedding_dimensions = embedding.length;
      return auditedRead(
        caller,
        async () => {
          // The best matches that fit in an answer: a search has no next page.
          const results =
            mode === 'full_text'
              ? await fullText(filter, text, limit)
              : withinBytes(await semanticOrHybrid(mode, filter, text, embedding, limit, signal), limits.responseMaxBytes);
          return { result: results, memories: results.map((r) => r.memory) };
        },
        { operation: 'search_memories', query: recorded },
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

  // The page from the cache's list, when it keeps the filter's list and can tell the page for
  // sure; it names at least one person (a read about nobody records nothing, so proves nothing).
  async function cachedPage(
    filter: MemoryFilter,
    after: Keyset | null,
    pageSize: number,
    key: string,
  ): Promise<{ page: CachedPage; list: CachedList } | undefined> {
    if (!cache || filter.includeExpired) return undefined;
    const list = await cache.list(filter, after, pageSize + 1 + CACHED_LIST_SLACK);
    const page = list && pageFromCache(list, filter, pageSize, limits.responseMaxBytes, tokens, key);
    if (!list || !page || !page.memories.some((m) => m.userId !== null)) return undefined;
    return { page, list };
  }

  async function fullText(filter: MemoryFilter, text: string, limit: number): Promise<ScoredMemory[]> {
    const rows = await pool.any(searchQuery(filter, text, limit, limits.responseMaxBytes));
    return rows.map((row, i) => ({ memory: fromRow(row), score: row.score, matchedBy: ['full_text'], fullTextRank: i + 1 }));
  }

  // Semantic matches, read again from PostgreSQL (as they are now, filtered), best first.
  async function semanticMatches(filter: MemoryFilter, vector: number[], count: number, signal?: AbortSignal): Promise<ScoredMemory[]> {
    const hits = await semantic!.nearest(vector, filter, count * SEMANTIC_OVERFETCH, signal);
    if (hits.length === 0) return [];
    const rows = new Map(
      (
        await pool.any(
          byIdsQuery(
            filter,
            hits.map((h) => h.id),
          ),
        )
      ).map((row) => [row.id, row]),
    );
    const found: ScoredMemory[] = [];
    for (const hit of hits) {
      const row = rows.get(hit.id);
      if (row && found.length < count)
        found.push({ memory: fromRow(row), score: hit.similarity, matchedBy: ['semantic'], semanticRank: found.length + 1 });
    }
    return found;
  }

  async function semanticOrHybrid(
    mode: 'semantic' | 'hybrid',
    filter: MemoryFilter,
    text: string,
    embedding: number[] | undefined,
    limit: number,
    signal?: AbortSignal,
  ): Promise<ScoredMemory[]> {
    const vector = embedding ?? (await semantic!.embedQuery(text, signal));
    if (mode === 'semantic') return semanticMatches(filter, vector, limit, signal);
    const depth = Math.max(limit * HYBRID_DEPTH, HYBRID_MIN_DEPTH);
    const [byText, byMeaning] = await Promise.all([fullText(filter, text, depth), semanticMatches(filter, vector, depth, signal)]);
    const fused = new Map<string, ScoredMemory>();
    for (const match of byText) fused.set(match.memory.id, { ...match, score: 1 / (RRF_K + match.fullTextRank!) });
    for (const match of byMeaning) {
      const score = 1 / (RRF_K + match.semanticRank!);
      const both = fused.get(match.memory.id);
      if (both)
        fused.set(match.memory.id, {
          ...both,
          score: both.score + score,
          matchedBy: ['full_text', 'semantic'],
          semanticRank: match.semanticRank,
        });
      else fused.set(match.memory.id, { ...match, score });
    }
    return [...fused.values()]
      .sort((a, b) => b.score - a.score || b.memory.createdAt - a.memory.createdAt || (a.memory.id < b.memory.id ? 1 : -1))
      .slice(0, limit);
  }

  function checkQueryText(text: string): string {
    if (text.trim().length === 0) throw new InvalidArgument('query', 'must not be empty');
    checkText('query', text);
    const bytes = Buffer.byteLength(text);
    const max = limits.queryMaxBytes;
    if (bytes > max) throw new InvalidArgument('query', `takes ${bytes} bytes, over the limit of ${max}`);
    return text;
  }
}

// The cached memory as GetMemory answers it, or undefined when PostgreSQL must answer: not
// about a person (no read record proves the cache current), hidden by expiry, or near it.
function servable(memory: Memory, includeExpired: boolean): (Memory & { userId: string }) | undefined {
  const { userId } = memory;
  if (userId === null) return undefined;
  if (memory.expiresAt === null) return { ...memory, userId };
  const left = memory.expiresAt - Date.now();
  if (Math.abs(left) < EXPIRY_MARGIN_MS) return undefined;
  if (left > 0) return { ...memory, userId };
  return includeExpired ? { ...memory, userId, expired: true } : undefined;
}

// The first results whose documents (content and metadata, as JSON) fit in `maxBytes`, the
// first always: the byte budget of an answer, as searchQuery applies it to full text.
function withinBytes(results: ScoredMemory[], maxBytes: number): ScoredMemory[] {
  let total = 0;
  return results.filter((result, i) => {
    total += Buffer.byteLength(JSON.stringify(result.memory.content)) + Buffer.byteLength(JSON.stringify(result.memory.metadata));
    return i === 0 || total <= maxBytes;
  });
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
