import type { ChromaClient } from 'chromadb';
import type { Collection } from 'chromadb';
import type { Logger } from '../../log.js';

/** The Chroma collection the projection writes and semantic search reads. */
export interface ChromaCollectionOptions {
  url: string;
  name: string;
  /** The embedder's name and dimension, kept in the collection's metadata. */
  embedder: string;
  dimensions: number;
  log: Logger;
}

/**
 * Opens (or creates) the collection: cosine distance, vectors always given by us (no embedding
 * function of Chroma's). Once a collection holds one embedder's vectors, another's cannot be
 * mixed in: that is a rebuild (`auren projections rebuild chroma`), said in the log.
 */
export async function openCollection({ url, name, embedder, dimensions, log }: ChromaCollectionOptions): Promise<Collection> {
  const client = await chromaClient(url);
  const collection = await client.getOrCreateCollection({
    name,
    embeddingFunction: null,
    configuration: { hnsw: { space: 'cosine' } },
    metadata: { embedder, dimensions },
  });
  const stored = collection.metadata as { embedder?: unknown; dimensions?: unknown } | undefined;
  if (stored?.embedder !== embedder || stored?.dimensions !== dimensions) {
    log.warn(
      { collection: name, stored: stored?.embedder, configured: embedder },
      'the Chroma collection holds another embedder\'s vectors: run "auren projections rebuild chroma"',
    );
  }
  return collection;
}

/** Deletes the collection (a rebuild); the projection creates it again when it next writes. */
export async function dropCollection(url: string, name: string): Promise<void> {
  await (await chromaClient(url)).deleteCollection({ name }).catch((error: unknown) => {
    if (!/not found|does not exist/i.test(String((error as Error).message))) throw error;
  });
}

// Loaded when a projection uses Chroma: a server with CHROMA_URL=off does not hold its client.
async function chromaClient(url: string): Promise<ChromaClient> {
  const { ChromaClient } = await import('chromadb');
  const parsed = new URL(url);
  return new ChromaClient({
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80,
    ssl: parsed.protocol === 'https:',
  });
}
