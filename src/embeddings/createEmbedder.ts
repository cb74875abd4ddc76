import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { EmbeddingsConfig } from '../config.js';
import type { Embedder } from './embedder.js';
import { createLocalEmbedder } from './localEmbedder.js';
import { createOpenAiEmbedder } from './openAiEmbedder.js';
import { loadWordVectors, WORD_VECTORS_PACKAGE } from './wordVectors.js';

/** The configured embedder, loaded at its first use; none when clients send every vector. */
export interface ConfiguredEmbedder {
  /** Names the vectors (a Chroma collection holds one kind). */
  name: string;
  dimensions: number;
  /** Resolves once usable (the local one loads its word vectors the first time); undefined in client mode. */
  ready(): Promise<Embedder | undefined>;
}

/**
 * Builds the embedder the configuration names. The local one's compact word-vector file is
 * kept in `cacheDir` (made at the first use, ~5 s; read in ~0.3 s after).
 */
export function createEmbedder(config: EmbeddingsConfig, cacheDir: string): ConfiguredEmbedder {
  if (config.kind === 'client') return { name: `client:${config.dimensions}`, dimensions: config.dimensions, ready: async () => undefined };
  if (config.kind === 'openai') {
    const embedder = createOpenAiEmbedder(config);
    return { name: embedder.name, dimensions: config.dimensions, ready: async () => embedder };
  }
  // Loaded when first needed: a service that never stores or searches a memory never reads the
  // 307 MB package file. A failed load is tried again at the next use.
  let loading: Promise<Embedder> | undefined;
  const ready = () => {
    loading ??= mkdir(cacheDir, { recursive: true })
      .then(() => loadWordVectors(cacheDir, config.words))
      .then(createLocalEmbedder);
    loading.catch(() => (loading = undefined));
    return loading;
  };
  return { name: `local:${WORD_VECTORS_PACKAGE}:${config.words}`, dimensions: config.dimensions, ready };
}

/** Where the local embedder keeps its word-vector file: beside the other data of the service. */
export function embeddingsCacheDir(dataDir: string): string {
  return path.join(dataDir, 'embeddings');
}
