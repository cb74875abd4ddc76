import type { DatabasePool } from 'slonik';
import { InvalidArgument } from '../errors.js';
import { newId as serviceId } from '../ids.js';
import { WrongExpectedVersion } from '../events/errors.js';
import type { StreamWriter } from '../events/eventStore.js';
import type { JsonObject } from '../events/types.js';
import { checkWrite } from './access.js';
import { appendChange, expiryData } from './changes.js';
import type { MemoryChange } from './changes.js';
import { MemoryDeleted, MemoryNotFound, WrongMemoryVersion } from './errors.js';
import { MEMORY_EVENTS } from './model.js';
import type { Caller, Memory, MemoryLimits } from './model.js';
import { memoryQuery, toMemory } from './queries.js';
import { checkConfidence, checkDocument, checkEmbedding, checkExpiry, checkMemoryId, checkName, checkType } from './validation.js';
import { checkText, codePoints } from '../events/validation.js';

/** A new memory as a client asked for it; storeMemory checks every field. */
export interface StoreMemoryInput {
  agentId: string;
  /** The person it is about; null: nobody. */
  userId: string | null;
  /** A memory type name (fact, analysis, …). */
  type: string;
  content: unknown;
  /** Absent: an empty object. */
  metadata?: unknown;
  /** Absent: 1. */
  confidence?: number;
  /** Epoch milliseconds, in the future; absent or null: never expires. */
  expiresAt?: number | null;
  /** The content's embedding, computed by the client; absent or empty: the service's embedder's. */
  embedding?: readonly number[];
}

/** A change to a memory: at least one of content, metadata, confidence (each replaces the old value). */
export interface UpdateMemoryInput {
  id: string;
  content?: unknown;
  metadata?: unknown;
  confidence?: number;
  /** When set, the update is refused unless the memory is at this version. */
  expectedVersion?: bigint;
  /** The new content's embedding, computed by the client; only with new content. */
  embedding?: readonly number[];
}

/** The write side of the memory module: each write is one event, and its row changes in the statement that appends it. */
export interface MemoryWrites {
  storeMemory(caller: Caller, input: StoreMemoryInput, signal?: AbortSignal): Promise<Memory>;
  updateMemory(caller: Caller, input: UpdateMemoryInput, signal?: AbortSignal): Promise<Memory>;
  deleteMemory(caller: Caller, id: string, reason: string, signal?: AbortSignal): Promise<Memory>;
}

/** What the write side needs. `newId` makes memory and event ids (tests choose them). */
export interface MemoryWritesOptions {
  pool: DatabasePool;
  /** The writer of the memory streams (claimed by the composition root). */
  writer: StreamWriter;
  limits: MemoryLimits;
  newId?: () => string;
}

/** Longest deletion reason accepted, in characters. */
export const MAX_REASON_LENGTH = 1000;

// A change that lost a race with another writer of the same memory reads it again and retries
// (when its caller named no expected version); past this many rounds the memory is too busy.
const MAX_ATTEMPTS = 10;

/**
 * Creates the write side. A write appends one event to the memory's stream at exactly the
 * version the memory had; the trigger apply_memory_event changes the row in that statement.
 * What a write returns is the row as that event made it.
 */
export function createMemoryWrites({ pool, writer, limits, newId = serviceId }: MemoryWritesOptions): MemoryWrites {
  const maxBytes = limits.contentMaxBytes;

  // Reads the memory, lets `plan` decide the change, appends it at the version read; a change
  // that lost a race is planned again from what the winner left.
  async function change(
    id: string,
    expectedVersion: bigint | undefined,
    plan: (before: Memory) => Pick<MemoryChange, 'type' | 'data'>,
    apply: (before: Memory) => Partial<Memory>,
    caller: Caller,
    signal: AbortSignal | undefined,
  ): Promise<Memory> {
    for (let attempt = 1; ; attempt++) {
      const row = await pool.maybeOne(memoryQuery(id));
      if (!row) throw new MemoryNotFound(id);
      const before = toMemory(row);
      checkWrite(caller, before.agentId, before.userId);
      if (before.deleted) throw new MemoryDeleted(id);
      if (expectedVersion !== undefined && before.version !== expectedVersion)
        throw new WrongMemoryVersion(id, expectedVersion, before.version);
      const eventId = newId();
      try {
        const result = await appendChange(
          writer,
          { memory: before, versionBefore: before.version, eventId, caller, ...plan(before) },
          signal,
        );
        return { ...before, ...apply(before), updatedAt: result.createdAt, version: result.nextExpectedVersion, lastEventId: eventId };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersion)) throw error;
        if (expectedVersion !== undefined) throw new WrongMemoryVersion(id, expectedVersion, error.actualVersion);
        if (attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  return {
    async storeMemory(caller, input, signal) {
      const agentId = checkName('agent_id', input.agentId);
      const userId = input.userId === null ? null : checkName('user_id', input.userId);
      const type = checkType('type', input.type);
      const content = checkDocument('content', input.content, maxBytes);
      const metadata = checkDocument('metadata', input.metadata ?? {}, maxBytes);
      const confidence = checkConfidence('confidence', input.confidence ?? 1);
      const expiresAt = input.expiresAt == null ? null : checkExpiry('expires_at', input.expiresAt);
      const embedding = checkEmbedding('embedding', input.embedding, limits.embeddingDimensions ?? 0);
      checkWrite(caller, agentId, userId);
      const id = newId();
      const eventId = newId();
      const identity = { id, agentId, userId, type };
      const result = await appendChange(
        writer,
        {
          memory: identity,
          versionBefore: 0n,
          eventId,
          type: MEMORY_EVENTS.created,
          caller,
          // The embedding travels in the event: the Chroma projection is rebuilt from the log.
          data: { content, metadata, confidence, expires_at: expiryData(expiresAt), ...(embedding ? { embedding } : {}) },
        },
        signal,
      );
      return {
        ...identity,
        content,
        metadata,
        confidence,
        expiresAt,
        createdAt: result.createdAt,
        updatedAt: result.createdAt,
        version: result.nextExpectedVersion,
        deleted: false,
        expired: false,
        lastEventId: eventId,
      };
    },

    async updateMemory(caller, input, signal) {
      const id = checkMemoryId('id', input.id);
      const changes: JsonObject = {};
      if (input.content !== undefined) changes.content = checkDocument('content', input.content, maxBytes);
      if (input.metadata !== undefined) changes.metadata = checkDocument('metadata', input.metadata, maxBytes);
      if (input.confidence !== undefined) changes.confidence = checkConfidence('confidence', input.confidence);
      const embedding = checkEmbedding('embedding', input.embedding, limits.embeddingDimensions ?? 0);
      if (embedding && changes.content === undefined)
        throw new InvalidArgument('embedding', 'is the embedding of new content: send content too');
      if (Object.keys(changes).length === 0)
        throw new InvalidArgument('content, metadata, confidence', 'nothing to change: set at least one of them');
      return change(
        id,
        input.expectedVersion,
        () => ({ type: MEMORY_EVENTS.updated, data: embedding ? { ...changes, embedding } : changes }),
        () => changes as Partial<Memory>,
        caller,
        signal,
      );
    },

    async deleteMemory(caller, id, reason, signal) {
      const memoryId = checkMemoryId('id', id);
      checkText('reason', reason);
      const characters = codePoints(reason);
      if (characters > MAX_REASON_LENGTH)
        throw new InvalidArgument('reason', `expects at most ${MAX_REASON_LENGTH} characters, got ${characters}`);
      return change(
        memoryId,
        undefined,
        () => ({ type: MEMORY_EVENTS.deleted, data: { reason: reason === '' ? null : reason } }),
        () => ({ deleted: true }),
        caller,
        signal,
      );
    },
  };
}
