import type { DatabasePool } from 'slonik';
import { DomainError } from '../errors.js';
import type { SettledAppend, StreamWriter } from '../events/eventStore.js';
import type { JsonObject } from '../events/types.js';
import { changeAppend, expiryData } from './changes.js';
import { MEMORY_EVENTS } from './model.js';
import { existingMemoriesQuery } from './queries.js';
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

/** How the import of one memory ended: written now, written by an earlier import, or refused (its id is taken otherwise). */
export type ImportOutcome = { status: 'imported' | 'already_imported' } | { status: 'refused'; error: DomainError };

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

/** Where imported memories go: the memory streams' writer, and the pool to find those already there. */
export interface ImportTarget {
  pool: DatabasePool;
  writer: StreamWriter;
}

/**
 * Imports memories in one commit: each is one memory_created event on a new stream, its row
 * written by the trigger in the same statement, exactly as StoreMemory writes one. A memory
 * whose row exists is not sent again (a row never exists without its event); and since its
 * event id is fixed by its source, one imported meanwhile by another run is found by that id
 * and written no second time either (append_batch answers 'duplicate').
 */
export async function importMemories(
  { pool, writer }: ImportTarget,
  caller: Caller,
  memories: readonly ImportedMemory[],
  signal?: AbortSignal,
): Promise<ImportOutcome[]> {
  const existing = new Set((await pool.any(existingMemoriesQuery(memories.map((m) => m.id)))).map((row) => row.id));
  const fresh = memories.filter((m) => !existing.has(m.id));
  const outcomes = fresh.length === 0 ? [] : await appendCreated(writer, caller, fresh, signal);
  let next = 0;
  return memories.map((m) => (existing.has(m.id) ? { status: 'already_imported' } : outcomes[next++]!));
}

async function appendCreated(
  writer: StreamWriter,
  caller: Caller,
  memories: readonly ImportedMemory[],
  signal: AbortSignal | undefined,
): Promise<ImportOutcome[]> {
  const appends = memories.map((memory) =>
    changeAppend({
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
    }),
  );
  const settled = await writer.appendSettled(appends, signal);
  return settled.map(outcomeOf);
}

function outcomeOf(settled: SettledAppend): ImportOutcome {
  if (settled.status === 'refused') return { status: 'refused', error: settled.error };
  return { status: settled.status === 'appended' ? 'imported' : 'already_imported' };
}
