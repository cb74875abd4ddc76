import type { DatabasePool } from 'slonik';
import { principalStamp, RESERVED_METADATA_KEY } from '../auth/principal.js';
import { isDatabaseUnavailable, sqlStateOf } from '../db/pool.js';
import { DatabaseUnavailable, InvalidArgument } from '../errors.js';
import type { ChainPads } from '../events/chain.js';
import type { JsonObject, JsonValue } from '../events/types.js';
import { checkJsonValue } from '../events/validation.js';
import { expiryData } from './changes.js';
import { appendImportedMemoriesQuery, existingMemoriesQuery } from './queries.js';
import type { Caller, MemoryLimits, MemoryType } from './model.js';
import { checkConfidence, checkMemoryId, checkName, checkType, MAX_DOCUMENT_DEPTH } from './validation.js';

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
  /** Content and metadata as the JSON text their size was checked on: its event is written from it, not stringified again. */
  json: { content: string; metadata: string; bytes: number };
}

/** How the import of one memory ended: written now, or there before (an earlier import, a concurrent one, a copy earlier in the batch). */
export interface ImportOutcome {
  status: 'imported' | 'already_imported';
}

/** Checks an imported memory like StoreMemory checks a new one; throws InvalidArgument naming the field. */
export function checkImportedMemory(input: ImportedMemoryInput, limits: MemoryLimits): ImportedMemory {
  const id = checkMemoryId('id', input.id);
  const eventId = checkMemoryId('event_id', input.eventId);
  const agentId = checkName('agent_id', input.agentId);
  const userId = input.userId === null ? null : checkName('user_id', input.userId);
  const type = checkType('type', input.type);
  const content = checkDocumentJson('content', input.content, limits.contentMaxBytes);
  const metadata = checkDocumentJson('metadata', input.metadata, limits.contentMaxBytes);
  return {
    ...input,
    id,
    eventId,
    agentId,
    userId,
    type,
    content: content.value,
    metadata: metadata.value,
    confidence: checkConfidence('confidence', input.confidence),
    json: { content: content.json, metadata: metadata.json, bytes: content.bytes + metadata.bytes },
  };
}

// checkDocument (./validation.ts), keeping the JSON text it measured: the import writes that
// text instead of stringifying each document a second time for its event (BENCHMARKS.md).
function checkDocumentJson(field: string, value: unknown, maxBytes: number): { value: JsonObject; json: string; bytes: number } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgument(field, 'expects a JSON object');
  checkJsonValue(field, value as JsonValue, MAX_DOCUMENT_DEPTH);
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) throw new InvalidArgument(field, `takes ${bytes} bytes as JSON, over the limit of ${maxBytes}`);
  return { value: value as JsonObject, json, bytes };
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

/** How importMemories writes one batch. */
export interface ImportBatchOptions {
  /**
   * Look the batch's ids up first and send only the memories not there (the default). Without
   * it every memory is sent and the function passes over those there: cheaper while they are
   * all new (a first import: one indexed read of every id less), dearer when most were
   * imported before (a second run: their JSON is sent and parsed for nothing).
   */
  lookUpFirst?: boolean;
}

/**
 * Imports memories in one commit: each is one memory_created event, version 1 of a new stream,
 * with its row in memories, exactly as StoreMemory writes one (the event as changeAppend makes
 * it, the row by the trigger's expressions), through the bulk write path
 * append_imported_memories() (sql/functions/), which holds the log's counter only while it
 * inserts the events, so several batches run at once. A memory whose row exists is not written
 * again (a row never exists without its event): looked up first and not sent, or found there by
 * the function, as one imported meanwhile by another run is.
 */
export async function importMemories(
  target: ImportTarget,
  caller: Caller,
  memories: readonly ImportedMemory[],
  options: ImportBatchOptions = {},
): Promise<ImportOutcome[]> {
  const callerJson = callerMetadata(caller);
  return importPrepared(
    target,
    memories.map((memory) => prepareImport(memory, callerJson, target.eventMaxBytes)),
    options,
  );
}

/** An imported memory ready for the bulk path: its id and its memory_created event as JSON in UTF-8 (createdEvent). */
export interface PreparedImport {
  id: string;
  event: Buffer;
}

/**
 * A checked memory as its memory_created event, checked against the event size limit (throws
 * InvalidArgument): what importPrepared sends. The importer prepares each memory as it reads it
 * and holds only these bytes until its batch commits, not the memory's documents: outside the
 * JavaScript heap, where the event's text (a tree of the strings it was joined from) was copied
 * by every garbage collection while it waited (BENCHMARKS.md "JSON import").
 */
export function prepareImport(memory: ImportedMemory, callerJson: string, eventMaxBytes: number): PreparedImport {
  return { id: memory.id, event: Buffer.from(createdEvent(memory, callerJson, eventMaxBytes)) };
}

/** importMemories for memories prepared already (prepareImport), with the caller they were prepared for. */
export async function importPrepared(
  target: ImportTarget,
  memories: readonly PreparedImport[],
  options: ImportBatchOptions = {},
): Promise<ImportOutcome[]> {
  try {
    return await importBatch(target, memories, options.lookUpFirst ?? true);
  } catch (error) {
    // The database went away: what committed stays, and the importer says to run it again.
    if (isDatabaseUnavailable(error)) throw new DatabaseUnavailable(error);
    throw error;
  }
}

async function importBatch(
  { pool, chain }: ImportTarget,
  memories: readonly PreparedImport[],
  lookUpFirst: boolean,
): Promise<ImportOutcome[]> {
  const existing = lookUpFirst
    ? new Set((await pool.any(existingMemoriesQuery(memories.map((m) => m.id)))).map((row) => row.id))
    : new Set<string>();
  const fresh = new Set<string>();
  const events: Buffer[] = [];
  for (const memory of memories) {
    if (existing.has(memory.id) || fresh.has(memory.id)) continue;
    fresh.add(memory.id);
    events.push(memory.event);
  }
  const written = new Set<string>();
  if (events.length > 0) {
    const payload = jsonbArray(events);
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

// JSON texts in UTF-8 as one jsonb array in PostgreSQL's binary format for jsonb (a version
// byte, 1, then the text): sent as they are, with no string joined or encoded again.
function jsonbArray(items: readonly Buffer[]): Buffer {
  let size = 2 + items.length;
  for (const item of items) size += item.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = JSONB_VERSION;
  out[1] = OPEN_BRACKET;
  let at = 2;
  items.forEach((item, i) => {
    if (i > 0) out[at++] = COMMA;
    at += item.copy(out, at);
  });
  out[at] = CLOSE_BRACKET;
  return out;
}

const JSONB_VERSION = 1;
const [OPEN_BRACKET, COMMA, CLOSE_BRACKET] = [0x5b, 0x2c, 0x5d];

/** The caller's part of every imported event's metadata, as changeAppend (./changes.ts) writes it: its name and its stamp under the reserved key, as JSON members. */
export function callerMetadata(caller: Caller): string {
  const json = JSON.stringify({ caller: caller.name, [RESERVED_METADATA_KEY]: { principal: principalStamp(caller) } });
  return json.slice(1, -1);
}

const CONTENT_KEY = '{"content":';
const METADATA_KEY = ',"metadata":';

/**
 * One memory's memory_created event as the bulk path takes it ({event_id, data, metadata}, JSON
 * text), checked against the event size limit as the event store checks every append: the
 * event changeAppend (./changes.ts) makes for StoreMemory, as JSON built from the content and
 * metadata texts checked already (jsonb keeps no key order). test/importer/legacyRules.spec.ts
 * holds it equal to changeAppend's.
 */
export function createdEvent(memory: ImportedMemory, callerJson: string, eventMaxBytes: number): string {
  const rest = JSON.stringify({
    memory_id: memory.id,
    agent_id: memory.agentId,
    user_id: memory.userId,
    type: memory.type,
    confidence: memory.confidence,
    expires_at: expiryData(null),
    ...(memory.createdAt === null ? {} : { created_at: new Date(memory.createdAt).toISOString() }),
  });
  // changeAppend's metadata: the person first, then the source, then the caller (a later key wins).
  const source = JSON.stringify(memory.userId === null ? memory.source : { user_id: memory.userId, ...memory.source });
  const metadata = source === '{}' ? `{${callerJson}}` : `${source.slice(0, -1)},${callerJson}}`;
  // rest's members follow the documents' (its "{" becomes their ",").
  const data = `${CONTENT_KEY}${memory.json.content}${METADATA_KEY}${memory.json.metadata},${rest.slice(1)}`;
  const size = CONTENT_KEY.length + METADATA_KEY.length + memory.json.bytes + Buffer.byteLength(rest) + Buffer.byteLength(metadata);
  if (size > eventMaxBytes) {
    throw new InvalidArgument(
      'data',
      `the memory_created event of ${memory.id} takes ${size} bytes as JSON, over the limit of ${eventMaxBytes}`,
    );
  }
  return `{"event_id":"${memory.eventId}","data":${data},"metadata":${metadata}}`;
}
