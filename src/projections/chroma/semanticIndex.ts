import type { Collection, Where } from 'chromadb';
import type { Embedder } from '../../embeddings/embedder.js';
import type { MemoryFilter } from '../../memory/queries.js';
import { InvalidArgument } from '../../errors.js';
import type { SemanticIndex } from '../../memory/reads.js';
import { DependencyUnavailable } from '../errors.js';

/** What semantic search reads: the projection's collection and the query embedder. */
export interface ChromaSemanticIndexOptions {
  collection(): Promise<Collection>;
  embedder(): Promise<Embedder | undefined>;
  /** How long a query waits for the local embedder to finish loading. */
  embedderWaitMs: number;
  /** Every memory id the filter covers when fewer than `cap` (PostgreSQL's indexes), else undefined. */
  candidates(filter: MemoryFilter, cap: number): Promise<string[] | undefined>;
  /** A filter covering at most this many memories is ranked from their vectors; default 1,000. */
  candidatesMax?: number;
}

/** Semantic search over the Chroma projection, with the same filters as a list (see `nearest`). */
export function createChromaSemanticIndex(options: ChromaSemanticIndexOptions): SemanticIndex {
  return {
    async embedQuery(text, signal) {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, options.embedderWaitMs, 'late')));
      const embedder = await Promise.race([options.embedder(), waited]).finally(() => clearTimeout(timer));
      if (embedder === 'late') throw new DependencyUnavailable('embedder', 'the local embedder is still loading its word vectors');
      if (!embedder) throw new InvalidArgument('embedding', 'is required: this service embeds nothing itself (EMBEDDINGS=client)');
      return (await embedder.embed([text], signal))[0]!;
    },

    // Chroma 1.0 evaluates a `where` in SQLite before it searches, and that costs more than the
    // search: at 100,000 memories 0.15 s for a person's 50 memories, 0.7–4 s for a clause that
    // matches most (bench/projections/chromaProfile.ts), against a few ms for an unfiltered
    // search. So: (1) the nearest memories of the whole collection, filtered here — when enough
    // pass, they are the filtered answer (an unselective filter); (2) else the filter is
    // selective: PostgreSQL lists the memories it covers, Chroma gives their vectors by id, and
    // they are ranked here; (3) only a filter between the two is sent to Chroma as a `where`.
    async nearest(vector, filter, count) {
      if (filter.userIds != null && filter.userIds.length === 0) return [];
      const collection = await fromChroma(() => options.collection());
      const now = Date.now();
      const wanted = Math.max(count * UNFILTERED_FACTOR, UNFILTERED_MIN);
      const wide = await fromChroma(() =>
        collection.query({ queryEmbeddings: [vector], nResults: wanted, include: ['distances', 'metadatas'] }),
      );
      const passed = hits(wide).filter((_, i) => matches(wide.metadatas[0]?.[i] ?? null, filter, now));
      if (passed.length >= count || (wide.ids[0]?.length ?? 0) < wanted) return passed.slice(0, count);
      const ids = await options.candidates(filter, options.candidatesMax ?? CANDIDATES_MAX);
      if (ids?.length === 0) return [];
      if (ids) return rank(vector, await fromChroma(() => collection.get({ ids, include: ['embeddings'] })), count);
      const narrow = await fromChroma(() =>
        collection.query({ queryEmbeddings: [vector], nResults: count, where: where(filter, now), include: ['distances'] }),
      );
      return hits(narrow);
    },
  };
}

// A failure of Chroma is UNAVAILABLE, named.
async function fromChroma<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new DependencyUnavailable('ChromaDB', (error as Error).message);
  }
}

// A filter covering at most this many memories is ranked here from their vectors (read by id
// from Chroma at ~0.1–0.2 ms each).
const CANDIDATES_MAX = 1_000;

// The records nearest to `vector` by cosine similarity, best first.
function rank(vector: number[], records: { ids: string[]; embeddings: (number[] | null)[] }, count: number) {
  const norm = Math.hypot(...vector);
  const scored = records.ids.flatMap((id, i) => {
    const other = records.embeddings[i];
    if (!other) return [];
    let dot = 0;
    for (let k = 0; k < vector.length; k++) dot += vector[k]! * other[k]!;
    const length = norm * Math.hypot(...other);
    return [{ id, similarity: length === 0 ? 0 : dot / length }];
  });
  return scored.sort((a, b) => b.similarity - a.similarity || (a.id < b.id ? -1 : 1)).slice(0, count);
}

// The unfiltered first query asks for this many times the count wanted, at least UNFILTERED_MIN.
const UNFILTERED_FACTOR = 4;
const UNFILTERED_MIN = 100;

// Cosine distance is 1 - cosine similarity.
function hits(result: { ids: string[][]; distances: (number | null)[][] }): { id: string; similarity: number }[] {
  const distances = result.distances[0] ?? [];
  return (result.ids[0] ?? []).map((id, i) => ({ id, similarity: 1 - (distances[i] ?? 1) }));
}

/** Whether a record's metadata passes the filter: `where` evaluated here. */
export function matches(metadata: Record<string, unknown> | null, filter: MemoryFilter, now = Date.now()): boolean {
  if (!metadata) return false;
  if (filter.agentId !== null && metadata.agent_id !== filter.agentId) return false;
  if (filter.userId !== null && metadata.user_id !== filter.userId) return false;
  if (filter.userIds != null && !filter.userIds.includes(metadata.user_id as string)) return false;
  if (filter.types.length > 0 && !filter.types.includes(metadata.type as never)) return false;
  if (filter.minConfidence !== null && !((metadata.confidence as number) >= filter.minConfidence)) return false;
  const expires = metadata.expires_at as number;
  if (!filter.includeExpired && !(expires === 0 || expires > now)) return false;
  return true;
}

/** The filter as Chroma's `where`; undefined when it filters nothing. Deleted memories are not in the index. */
export function where(filter: MemoryFilter, now = Date.now()): Where | undefined {
  const conditions: Where[] = [];
  if (filter.agentId !== null) conditions.push({ agent_id: { $eq: filter.agentId } });
  if (filter.userId !== null) conditions.push({ user_id: { $eq: filter.userId } });
  if (filter.userIds != null) conditions.push({ user_id: { $in: filter.userIds } });
  if (filter.types.length > 0) conditions.push({ type: { $in: filter.types } });
  if (filter.minConfidence !== null) conditions.push({ confidence: { $gte: filter.minConfidence } });
  if (!filter.includeExpired) conditions.push({ $or: [{ expires_at: { $eq: 0 } }, { expires_at: { $gt: now } }] });
  if (conditions.length === 0) return undefined;
  return conditions.length === 1 ? conditions[0] : { $and: conditions };
}
