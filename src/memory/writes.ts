import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import type { FragmentSqlToken } from 'slonik';
import { InvalidArgument } from '../errors.js';
import type { EventStore, StoreTransaction } from '../events/eventStore.js';
import type { JsonObject } from '../events/types.js';
import { appendChange, changeRow, expiryData } from './changes.js';
import { MemoryDeleted, MemoryNotFound, WrongMemoryVersion } from './errors.js';
import { MEMORY_EVENTS } from './model.js';
import type { Caller, Memory, MemoryLimits } from './model.js';
import { insertMemoryQuery, lockMemoryQuery, toMemory } from './queries.js';
import { checkConfidence, checkDocument, checkExpiry, checkMemoryId, checkName, checkType } from './validation.js';
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
}

/** A change to a memory: at least one of content, metadata, confidence (each replaces the old value). */
export interface UpdateMemoryInput {
  id: string;
  content?: unknown;
  metadata?: unknown;
  confidence?: number;
  /** When set, the update is refused unless the memory is at this version. */
  expectedVersion?: bigint;
}

/** The write side of the memory module: each write changes the row and appends its event in one transaction. */
export interface MemoryWrites {
  storeMemory(caller: Caller, input: StoreMemoryInput): Promise<Memory>;
  updateMemory(caller: Caller, input: UpdateMemoryInput): Promise<Memory>;
  deleteMemory(caller: Caller, id: string, reason: string): Promise<Memory>;
}

/** What the write side needs. `newId` makes memory and event ids (tests choose them). */
export interface MemoryWritesOptions {
  store: EventStore;
  limits: MemoryLimits;
  newId?: () => string;
}

/** Longest deletion reason accepted, in characters. */
export const MAX_REASON_LENGTH = 1000;

/**
 * Creates the write side. Every write locks or inserts the memory row, changes it, and appends
 * its event to the memory's stream at the row's version before the change, all in one
 * transaction: a memory never exists without its event, nor an event without its row.
 */
export function createMemoryWrites({ store, limits, newId = randomUUID }: MemoryWritesOptions): MemoryWrites {
  const maxBytes = limits.contentMaxBytes;
  const write = (work: (tx: StoreTransaction) => Promise<Memory>): Promise<Memory> => store.transaction(work);

  return {
    async storeMemory(caller, input) {
      const agentId = checkName('agent_id', input.agentId);
      const userId = input.userId === null ? null : checkName('user_id', input.userId);
      const type = checkType('type', input.type);
      const content = checkDocument('content', input.content, maxBytes);
      const metadata = checkDocument('metadata', input.metadata ?? {}, maxBytes);
      const confidence = checkConfidence('confidence', input.confidence ?? 1);
      const expiresAt = input.expiresAt == null ? null : checkExpiry('expires_at', input.expiresAt);
      const id = newId();
      const eventId = newId();
      return write(async (tx) => {
        const memory = toMemory(await tx.db.one(insertMemoryQuery({ id, agentId, userId, type, content, metadata, confidence, expiresAt, eventId })));
        await appendChange(tx, {
          memory, versionBefore: 0n, eventId, type: MEMORY_EVENTS.created, caller,
          data: { content, metadata, confidence, expires_at: expiryData(memory.expiresAt) },
        });
        return memory;
      });
    },

    async updateMemory(caller, input) {
      const id = checkMemoryId('id', input.id);
      const changes: JsonObject = {};
      const sets: FragmentSqlToken[] = [];
      if (input.content !== undefined) {
        const content = checkDocument('content', input.content, maxBytes);
        changes.content = content;
        sets.push(sql.fragment`content = ${sql.jsonb(content)}`);
      }
      if (input.metadata !== undefined) {
        const metadata = checkDocument('metadata', input.metadata, maxBytes);
        changes.metadata = metadata;
        sets.push(sql.fragment`metadata = ${sql.jsonb(metadata)}`);
      }
      if (input.confidence !== undefined) {
        const confidence = checkConfidence('confidence', input.confidence);
        changes.confidence = confidence;
        sets.push(sql.fragment`confidence = ${confidence}`);
      }
      if (sets.length === 0) throw new InvalidArgument('content, metadata, confidence', 'nothing to change: set at least one of them');
      const eventId = newId();
      return write(async (tx) => {
        const before = await lockLiveMemory(tx, id);
        if (input.expectedVersion !== undefined && before.version !== input.expectedVersion) {
          throw new WrongMemoryVersion(id, input.expectedVersion, before.version);
        }
        const memory = await changeRow(tx, id, eventId, sets);
        await appendChange(tx, { memory, versionBefore: before.version, eventId, type: MEMORY_EVENTS.updated, caller, data: changes });
        return memory;
      });
    },

    async deleteMemory(caller, id, reason) {
      const memoryId = checkMemoryId('id', id);
      checkText('reason', reason);
      const characters = codePoints(reason);
      if (characters > MAX_REASON_LENGTH) throw new InvalidArgument('reason', `expects at most ${MAX_REASON_LENGTH} characters, got ${characters}`);
      const eventId = newId();
      return write(async (tx) => {
        const before = await lockLiveMemory(tx, memoryId);
        const memory = await changeRow(tx, memoryId, eventId, [sql.fragment`deleted_at = now()`]);
        await appendChange(tx, {
          memory, versionBefore: before.version, eventId, type: MEMORY_EVENTS.deleted, caller, data: { reason: reason === '' ? null : reason },
        });
        return memory;
      });
    },
  };
}

// A deleted memory is kept as it is, never changed.
async function lockLiveMemory(tx: StoreTransaction, id: string): Promise<Memory> {
  const row = await tx.db.maybeOne(lockMemoryQuery(id));
  if (!row) throw new MemoryNotFound(id);
  const memory = toMemory(row);
  if (memory.deleted) throw new MemoryDeleted(id);
  return memory;
}
