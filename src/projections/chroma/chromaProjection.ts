import type { Collection, Metadata } from 'chromadb';
import type { ConsumerDefinition } from '../../consumers/consumer.js';
import { contentText } from '../../embeddings/embedder.js';
import type { Embedder } from '../../embeddings/embedder.js';
import type { RecordedEvent } from '../../events/types.js';
import { MEMORY_EVENTS } from '../../memory/model.js';
import { PROJECTIONS } from '../admin.js';

/** Name of the Chroma projection's consumer (its checkpoint and lock). */
export const CHROMA_PROJECTION = PROJECTIONS.chroma;

/** What the Chroma projection writes with. */
export interface ChromaProjectionOptions {
  /** The collection, opened again after a failure (Chroma restarted, the collection rebuilt). */
  collection(): Promise<Collection>;
  /** Resolves to the service's embedder; undefined when clients send every vector. */
  embedder(): Promise<Embedder | undefined>;
  dimensions: number;
}

/** A memory's metadata in Chroma: what semantic search filters on, and the version it shows. */
export interface ChromaMemoryMetadata extends Metadata {
  agent_id: string;
  type: string;
  confidence: number;
  created_at: number;
  updated_at: number;
  /** Epoch ms; 0: never expires. */
  expires_at: number;
  version: number;
}

/**
 * The Chroma projection as a durable consumer of the memory streams: a memory is a record of its
 * vector (of the text values of its content) and its metadata, upserted by id; an update that
 * changes the content embeds it again; a delete or an expiry removes it. The text itself is not
 * copied into Chroma: search reads the matches from PostgreSQL, so one less store holds a
 * person's health data, and Chroma's upsert costs 15–40 % less without documents. Replayed in
 * log order, the events leave the same collection.
 */
export function chromaProjection(options: ChromaProjectionOptions): ConsumerDefinition {
  return {
    name: CHROMA_PROJECTION,
    filter: { streamIdPrefixes: ['memory-'] },
    async handle(event) {
      await handleOne(await options.collection(), event);
    },
    // New memories, the bulk of the log, go in together: one call to the embedder, one upsert.
    // Other changes are applied one by one, in order.
    async handleBatch(events) {
      const collection = await options.collection();
      let run: RecordedEvent[] = [];
      const flush = async () => {
        if (run.length > 0) await createdMany(collection, run);
        run = [];
      };
      for (const event of events) {
        if (event.type === MEMORY_EVENTS.created) {
          run.push(event);
          continue;
        }
        await flush();
        await handleOne(collection, event);
      }
      await flush();
    },
  };

  async function handleOne(collection: Collection, event: RecordedEvent): Promise<void> {
    const id = String(event.data.memory_id);
    switch (event.type) {
      case MEMORY_EVENTS.created:
        return createdMany(collection, [event]);
      case MEMORY_EVENTS.updated:
        return updated(collection, id, event);
      case MEMORY_EVENTS.deleted:
      case MEMORY_EVENTS.expired:
        await collection.delete({ ids: [id] });
        return;
    }
  }

  // No read of what is there first: the log is applied in order, so a created event handled
  // again (a re-delivery after a crash, a replay) is followed by every later event of its memory
  // again, and the collection ends where it was. (Checking versions first would not guard
  // against a replica that lost its lock either: Chroma has no compare-and-set.)
  async function createdMany(collection: Collection, fresh: RecordedEvent[]): Promise<void> {
    const texts = fresh.map((event) => contentText(event.data.content));
    const sent = fresh.map((event) => event.data.embedding);
    const toEmbed = fresh.flatMap((_, i) => (validVector(sent[i]) || texts[i]!.trim() === '' ? [] : [i]));
    const embedder = toEmbed.length > 0 ? await options.embedder() : undefined;
    const embedded = embedder ? await embedder.embed(toEmbed.map((i) => texts[i]!)) : [];
    const vectors: (number[] | undefined)[] = sent.map((vector) => (validVector(vector) ? (vector as number[]) : undefined));
    toEmbed.forEach((i, k) => (vectors[i] = embedded[k]));
    const upsert = {
      ids: [] as string[],
      embeddings: [] as number[][],
      metadatas: [] as ChromaMemoryMetadata[],
    };
    const unsearchable: string[] = [];
    fresh.forEach((event, i) => {
      const id = String(event.data.memory_id);
      const vector = vectors[i];
      if (!vector || vector.every((x) => x === 0)) return void unsearchable.push(id);
      upsert.ids.push(id);
      upsert.embeddings.push(vector);
      upsert.metadatas.push(metadataOf(event));
    });
    if (unsearchable.length > 0) await collection.delete({ ids: unsearchable });
    if (upsert.ids.length > 0) await collection.upsert(upsert);
  }

  function validVector(value: unknown): boolean {
    return Array.isArray(value) && value.length === options.dimensions;
  }

  function metadataOf(event: RecordedEvent): ChromaMemoryMetadata {
    const data = event.data;
    const metadata: ChromaMemoryMetadata = {
      agent_id: String(data.agent_id),
      type: String(data.type),
      confidence: Number(data.confidence),
      created_at: event.createdAt,
      updated_at: event.createdAt,
      expires_at: typeof data.expires_at === 'string' ? Date.parse(data.expires_at) : 0,
      version: Number(event.version),
    };
    if (typeof data.user_id === 'string') metadata.user_id = data.user_id;
    return metadata;
  }

  async function updated(collection: Collection, id: string, event: RecordedEvent): Promise<void> {
    const existing = await collection.get({ ids: [id], include: ['metadatas'] });
    const stored = existing.metadatas[0] as ChromaMemoryMetadata | null | undefined;
    // Not indexed (no text, or no vector in client mode) or already newer.
    if (!stored || stored.version >= Number(event.version)) return;
    const data = event.data;
    const metadata: ChromaMemoryMetadata = { ...stored, updated_at: event.createdAt, version: Number(event.version) };
    if (data.confidence !== undefined) metadata.confidence = Number(data.confidence);
    if (data.content === undefined) {
      await collection.update({ ids: [id], metadatas: [metadata] });
      return;
    }
    await write(collection, id, contentText(data.content), data.embedding, metadata);
  }

  // Upserts the memory with its vector: the client's, or the embedder's of the text. A memory
  // with no text, or no vector to be had, is not searchable by meaning: it leaves the index.
  async function write(collection: Collection, id: string, text: string, sent: unknown, metadata: ChromaMemoryMetadata): Promise<void> {
    let vector = Array.isArray(sent) && sent.length === options.dimensions ? (sent as number[]) : undefined;
    if (!vector && text.trim() !== '') {
      const embedder = await options.embedder();
      vector = embedder ? (await embedder.embed([text]))[0] : undefined;
    }
    if (!vector || vector.every((x) => x === 0)) {
      await collection.delete({ ids: [id] });
      return;
    }
    await collection.upsert({ ids: [id], embeddings: [vector], metadatas: [metadata] });
  }
}
