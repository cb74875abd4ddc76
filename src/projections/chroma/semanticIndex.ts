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
}

/** Semantic search over the Chroma projection, with the list filters pushed down as a `where` clause. */
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

    async nearest(vector, filter, count) {
      let result;
      try {
        const collection = await options.collection();
        result = await collection.query({ queryEmbeddings: [vector], nResults: count, where: where(filter), include: ['distances'] });
      } catch (error) {
        throw new DependencyUnavailable('ChromaDB', (error as Error).message);
      }
      const ids = result.ids[0] ?? [];
      const distances = result.distances[0] ?? [];
      // Cosine distance is 1 - cosine similarity.
      return ids.map((id, i) => ({ id, similarity: 1 - (distances[i] ?? 1) }));
    },
  };
}

/** The filter as Chroma's `where`; undefined when it filters nothing. Deleted memories are not in the index. */
export function where(filter: MemoryFilter, now = Date.now()): Where | undefined {
  const conditions: Where[] = [];
  if (filter.agentId !== null) conditions.push({ agent_id: { $eq: filter.agentId } });
  if (filter.userId !== null) conditions.push({ user_id: { $eq: filter.userId } });
  if (filter.types.length > 0) conditions.push({ type: { $in: filter.types } });
  if (filter.minConfidence !== null) conditions.push({ confidence: { $gte: filter.minConfidence } });
  if (!filter.includeExpired) conditions.push({ $or: [{ expires_at: { $eq: 0 } }, { expires_at: { $gt: now } }] });
  if (conditions.length === 0) return undefined;
  return conditions.length === 1 ? conditions[0] : { $and: conditions };
}
