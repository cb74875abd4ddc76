import type { DatabasePool } from 'slonik';
import { isDatabaseUnavailable, sqlStateOf } from '../db/pool.js';
import { DatabaseUnavailable, InvalidArgument } from '../errors.js';
import type { ChainPads } from '../events/chain.js';
import type { JsonObject } from '../events/types.js';
import { changeAppend, expiryData } from './changes.js';
import { MEMORY_EVENTS } from './model.js';
import { appendImportedMemoriesQuery, existingMemoriesQuery } from './queries.js';
import type { Caller, MemoryLimits, MemoryType } from './model.js';
import { checkConfidence, checkDocument, checkMemoryId, checkName, checkType } from './validation.js';

/** A memory brought from elsewhere (a legacy file), with ids its source chose so that bringing it again writes nothing. */
export interface ImportedMemoryInput {
  /** The memory's id (a UUID): the same source item must always give the same id. */
  id: string;
  /** The id of its memory_created event (a UUID), as fixed as the memory's. */
  eventId: string;
  agentId: string;
  userId: string | null;
  type: string;
  content: unknown;
  metadata: unknown;
  confidence: number;
  /** When it was first recorded (epoch ms), kept as the memory's created_at; null: now. */
  createdAt: number | null;
  /** Facts about where it came from, for its event's metadata (file, item). */
  source: JsonObject;
}

/** An imported memory whose every field passed the memory module's checks. */
export interface ImportedMemory extends Omit<ImportedMemoryInput, 'type' | 'content' | 'metadata'> {
  type: MemoryType;
  content: JsonObject;
  metadata: JsonObject;
}

/** How the import of one memory ended: written now, or there before (an earlier import, a concurrent one, a copy earlier in the batch). */
export interface ImportOutcome {
  status: 'imported' | 'already_imported';
}

/** Checks an imported memory like StoreMemory checks a new one; throws InvalidArgument naming the field. */
export function checkImportedMemory(input: ImportedMemoryInput, limits: MemoryLimits): ImportedMemory {
  return {
    ...input,
    id: checkMemoryId('id', input.id),
    eventId: checkMemoryId('event_id', input.eventId),
    agentId: checkName('agent_id', input.agentId),
    userId: input.userId === null ? null : checkName('user_id', input.userId),
    type: checkType('type', input.type),
    content: checkDocument('content', input.content, limits.contentMaxBytes),
    metadata: checkDocument('metadata', input.metadata, limits.contentMaxBytes),
    confidence: checkConfidence('confidence', input.confidence),
  };
}

/** Where imported memories go: the pool, the log's hash-chain pads, and the event store's size limit. */
export interface ImportTarget {
  pool: DatabasePool;
  /** The pads of the log's hash-chain key (events/chain.ts), as the service's appends use them; absent: no hashes. */
  chain?: ChainPads | undefined;
  /** Most bytes of one event's data and metadata as JSON (the event store's EVENT_MAX_BYTES). */
  eventMaxBytes: number;
}

// Tries of a batch that PostgreSQL aborted as a deadlock: two runs importing the same files at
// once, each waiting for the other's rows (sql/functions/append_imported_memories.sql).
const DEADLOCK_TRIES = 5;

/**
 * Imports memories in one commit: each is one memory_created event, version 1 of a new stream,
 * with its row in memories, exactly as StoreMemory writes one (the event built by the same
 * changeAppend, the row by the trigger's expressions), through the bulk write path
 * append_imported_memories() (sql/functions/), which holds the log's counter only while it
 * inserts the events, so several batches run at once. A memory whose row exists is not sent
 * again (a row never exists without its event); one imported meanwhile by another run is found
 * there by the function and written no second time either.
 */
export async function importMemories(target: ImportTarget, caller: Caller, memories: readonly ImportedMemory[]): Promise<ImportOutcome[]> {
  try {
    return await importBatch(target, caller, memories);
  } catch (error) {
    // The database went away: what committed stays, and the importer says to run it again.
    if (isDatabaseUnavailable(error)) throw new DatabaseUnavailable(error);
    throw error;
  }
}

async function importBatch(
  { pool, chain, eventMaxBytes }: ImportTarget,
  caller: Caller,
  memories: readonly ImportedMemory[],
): Promise<ImportOutcome[]> {
  const existing = new Set((await pool.any(existingMemoriesQuery(memories.map((m) => m.id)))).map((row) => row.id));
  const fresh = new Map<string, string>();
  for (const memory of memories) {
    if (!existing.has(memory.id) && !fresh.has(memory.id)) fresh.set(memory.id, createdEvent(memory, caller, eventMaxBytes));
  }
  const written = new Set<string>();
  if (fresh.size > 0) {
    const payload = `[${[...fresh.values()].join(',')}]`;
    for (let attempt = 1; ; attempt++) {
      try {
        for (const row of await pool.any(appendImportedMemoriesQuery(payload, chain))) written.add(row.memory_id);
        break;
      } catch (error) {
        if (sqlStateOf(error) !== DEADLOCK_DETECTED || attempt >= DEADLOCK_TRIES) throw error;
      }
    }
  }
  // A memory sent twice in the batch (two copies of a file) is imported at its first place only.
  return memories.map((m) => {
    const now = written.delete(m.id);
    return { status: now ? 'imported' : 'already_imported' };
  });
}

const DEADLOCK_DETECTED = '40P01';

// One memory's memory_created event as the bulk path takes it ({event_id, data, metadata}, JSON
// text): what changeAppend makes of it for StoreMemory, checked against the event size limit as
// the event store checks every append.
function createdEvent(memory: ImportedMemory, caller: Caller, eventMaxBytes: number): string {
  const [event] = changeAppend({
    memory,
    versionBefore: 0n,
    eventId: memory.eventId,
    type: MEMORY_EVENTS.created,
    caller,
    data: {
      content: memory.content,
      metadata: memory.metadata,
      confidence: memory.confidence,
      expires_at: expiryData(null),
      ...(memory.createdAt === null ? {} : { created_at: new Date(memory.createdAt).toISOString() }),
    },
    metadata: memory.source,
  }).events;
  const data = JSON.stringify(event!.data);
  const metadata = JSON.stringify(event!.metadata);
  const size = Buffer.byteLength(data) + Buffer.byteLength(metadata);
  if (size > eventMaxBytes) {
    throw new InvalidArgument(
      'data',
      `the memory_created event of ${memory.id} takes ${size} bytes as JSON, over the limit of ${eventMaxBytes}`,
    );
  }
  return `{"event_id":${JSON.stringify(memory.eventId)},"data":${data},"metadata":${metadata}}`;
}
