import type { Config } from '../config.js';
import type { MemoryLimits } from './model.js';
import { MAX_QUERY_BYTES } from './reads.js';

/** The memory module's limits, from the configuration and the event store's. */
export function memoryLimits(config: Config): MemoryLimits {
  return {
    contentMaxBytes: config.memoryContentMaxBytes,
    queryMaxBytes: Math.min(MAX_QUERY_BYTES, config.events.eventMaxBytes),
    readPageSize: config.events.readMaxCount,
    embeddingDimensions: config.embeddings.dimensions,
    responseMaxBytes: config.responseMaxBytes,
  };
}
