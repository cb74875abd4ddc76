import path from 'node:path';
import type { Collection } from 'chromadb';
import type { Config } from '../../config.js';
import type { Consumer, ConsumerDefinition } from '../../consumers/consumer.js';
import type { DatabasePool } from '../../db/pool.js';
import { createEmbedder, embeddingsCacheDir } from '../../embeddings/createEmbedder.js';
import type { Logger } from '../../log.js';
import type { SemanticIndex } from '../../memory/reads.js';
import { semanticCandidates } from '../../memory/semanticCandidates.js';
import { chromaProjection } from './chromaProjection.js';
import { openCollection } from './collection.js';
import { adoptCollection } from './collectionGeneration.js';
import { startEmbeddedChroma } from './embeddedChroma.js';
import type { EmbeddedChroma } from './embeddedChroma.js';
import { createChromaSemanticIndex } from './semanticIndex.js';

/** The Chroma projection running in this process. */
export interface RunningChromaProjection {
  /** The Chroma server's URL (the embedded one's when CHROMA_URL is unset). */
  url: string;
  consumer: Consumer;
  index: SemanticIndex;
  stop(): Promise<void>;
}

/** What starting the Chroma projection needs from the composition root. */
export interface ChromaProjectionParts {
  config: Config;
  log: Logger;
  pool: DatabasePool;
  startConsumer(definition: ConsumerDefinition): Consumer;
}

// Most new memories one upsert takes (a rebuild of 100,000 memories is 100 upserts).
const CHROMA_BATCH_MAX = 1_000;
// A semantic query waits this long for the local embedder's first load before it is UNAVAILABLE.
const EMBEDDER_WAIT_MS = 10_000;

/**
 * Starts the embedded Chroma when no CHROMA_URL is set, the embedder (loaded at its first use),
 * the projection's consumer and the semantic index. Chroma being down is no reason not to
 * start: the consumer retries until it answers, and semantic searches are UNAVAILABLE meanwhile.
 */
export async function startChromaProjection({
  config,
  log,
  pool,
  startConsumer,
}: ChromaProjectionParts): Promise<RunningChromaProjection | undefined> {
  const chroma = config.chroma;
  if (chroma.kind === 'off') return undefined;
  const projectionLog = log.child({ projection: 'chroma' });
  let embedded: EmbeddedChroma | undefined;
  if (chroma.kind === 'embedded') {
    try {
      embedded = await startEmbeddedChroma(path.join(config.dataDir, 'chroma'), chroma.port, projectionLog);
    } catch (error) {
      // The service is still of use without semantic search; the log says why it is off.
      projectionLog.error({ err: error }, 'the embedded Chroma did not start: semantic and hybrid search are off');
      return undefined;
    }
  }
  const url = chroma.kind === 'url' ? chroma.url : embedded!.url;
  const embedder = createEmbedder(config.embeddings, embeddingsCacheDir(config.dataDir));
  // Opened on first use and again after any failure: Chroma may restart, a rebuild drops the
  // collection. Each opening checks it is the collection the checkpoint describes.
  let opened: Promise<Collection> | undefined;
  const open = async () => {
    const opening = await openCollection({
      url,
      name: chroma.collection,
      embedder: embedder.name,
      dimensions: embedder.dimensions,
      log: projectionLog,
    });
    await adoptCollection(pool, opening, projectionLog);
    return opening;
  };
  const collection = async () => {
    opened ??= open();
    try {
      return await opened;
    } catch (error) {
      opened = undefined;
      throw error;
    }
  };
  const reopenOnFailure = async <T>(action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      opened = undefined;
      throw error;
    }
  };
  const definition = chromaProjection({ collection, embedder: embedder.ready, dimensions: embedder.dimensions });
  const consumer = startConsumer({
    ...definition,
    handle: (event) => reopenOnFailure(async () => definition.handle(event)),
    handleBatch: (events) => reopenOnFailure(() => definition.handleBatch!(events)),
    retry: { maxMs: config.projectionRetryMaxMs },
    // Memories are a small part of the log: its position moves past the rest at least this often,
    // so its lag counts what it has to do, not what it skipped.
    checkpointInterval: 100,
    // Chroma's upsert costs ~35 ms a call plus ~0.7 ms a record (more under load): a replay or a
    // backlog goes in large batches.
    batchMax: CHROMA_BATCH_MAX,
  });
  const index = createChromaSemanticIndex({
    collection,
    embedder: embedder.ready,
    embedderWaitMs: EMBEDDER_WAIT_MS,
    candidates: (filter, cap) => semanticCandidates(pool, filter, cap),
  });
  return {
    url,
    consumer,
    index: {
      embedQuery: (text, signal) => index.embedQuery(text, signal),
      nearest: (vector, filter, count, signal) => reopenOnFailure(() => index.nearest(vector, filter, count, signal)),
    },
    async stop() {
      await consumer.stop();
      await embedded?.stop();
    },
  };
}
