import { z } from 'zod';
import { InvalidArgument } from '../errors.js';
import type { DatabasePool } from 'slonik';
import type { EventStore, StreamWriter } from '../events/eventStore.js';
import { START } from '../events/types.js';
import type { Position, RecordedEvent } from '../events/types.js';
import { checkPageSize, tokenInt64 } from '../paging.js';
import type { PageTokens } from '../paging.js';
import { AUDIT_TRAIL_READ, recordPersonAccess, recordRetrieval } from './audit.js';
import { checkRead } from './access.js';
import { PermissionDenied } from '../auth/errors.js';
import { inTenant } from '../auth/principal.js';
import { MemoryNotFound } from './errors.js';
import { memoryStream } from './model.js';
import type { Caller, MemoryLimits } from './model.js';
import { memoryQuery, toMemory } from './queries.js';
import { checkMemoryId, checkName } from './validation.js';

/** One page of a person's audit trail, or of a memory's history. */
export interface AuditTrailPage {
  events: RecordedEvent[];
  /** Empty on the last page. */
  nextPageToken: string;
}

/** One page of a memory's history. */
export type HistoryPage = AuditTrailPage;

/** What the log says about memories and the people they are about. */
export interface MemoryHistory {
  /** The events of one memory, oldest first, a page at a time; the read itself is recorded (HIPAA access log). */
  getMemoryHistory(caller: Caller, id: string, pageSize: number, pageToken: string, signal?: AbortSignal): Promise<HistoryPage>;
  /**
   * Every settled event about one person (writes of their memories and reads of them) created
   * in [from, to) (epoch ms; null is open), in log order, a page at a time.
   */
  listAuditTrail(
    caller: Caller,
    userId: string,
    from: number | null,
    to: number | null,
    pageSize: number,
    pageToken: string,
    signal?: AbortSignal,
  ): Promise<AuditTrailPage>;
}

/** What the history needs. */
export interface MemoryHistoryOptions {
  pool: DatabasePool;
  store: EventStore;
  /** The writer of the access streams. */
  writer: StreamWriter;
  limits: MemoryLimits;
  /** The signed page-token codec. */
  tokens: PageTokens;
}

/** Default and largest audit trail page. */
export const AUDIT_PAGE_SIZE = { default: 100, max: 1000 } as const;
/** Default and largest page of a memory's history. */
export const HISTORY_PAGE_SIZE = { default: 100, max: 1000 } as const;

/** Creates the history reads over the event store. */
export function createMemoryHistory({ pool, store, writer, limits, tokens }: MemoryHistoryOptions): MemoryHistory {
  return {
    async getMemoryHistory(caller, id, pageSize, pageToken, signal) {
      const memoryId = checkMemoryId('id', id);
      const size = checkPageSize('page_size', pageSize, HISTORY_PAGE_SIZE);
      const fromVersion = pageToken === '' ? 1n : decodeVersionToken(tokens, memoryId, pageToken);
      const row = await pool.maybeOne(memoryQuery(memoryId));
      if (!row) throw new MemoryNotFound(memoryId);
      checkRead(caller, toMemory(row));
      const { events, more } = await store.readStreamEvents(memoryStream(memoryId), fromVersion, size, limits.responseMaxBytes);
      const last = events.at(-1);
      const nextPageToken =
        more && last && last.version < row.version ? tokens.encode(memoryId, { version: (last.version + 1n).toString() }) : '';
      // Answered only once the read is recorded: no read goes unrecorded.
      const query = { id: memoryId, page_size: size, page_token: pageToken || null };
      await recordRetrieval(writer, caller, [toMemory(row)], { operation: 'get_memory_history', query }, signal);
      return { events, nextPageToken };
    },

    async listAuditTrail(caller, userId, from, to, pageSize, pageToken, signal) {
      const person = checkName('user_id', userId);
      if (!inTenant(caller, person)) throw new PermissionDenied(`this key may not read the audit trail of '${person}'`, person);
      if (from !== null && to !== null && from >= to) throw new InvalidArgument('to', 'must be later than from');
      const size = checkPageSize('page_size', pageSize, AUDIT_PAGE_SIZE);
      const after = pageToken === '' ? START : decodePositionToken(tokens, person, pageToken);
      // One more than asked: a full page says whether another follows, so the last page is never empty.
      const { events, more } = await store.readAboutPerson(person, from, to, after, size + 1, limits.responseMaxBytes, [AUDIT_TRAIL_READ]);
      const page = events.slice(0, size);
      const last = page.at(-1);
      const cut = more && events.length <= size;
      // Reading the audit trail is itself a read of the person's data: answered once recorded.
      await recordPersonAccess(
        writer,
        caller,
        new Map([[person, { from, to, page_size: size, page_token: pageToken || null, event_ids: page.map((e) => e.eventId) }]]),
        'list_audit_trail',
        signal,
        AUDIT_TRAIL_READ,
      );
      return {
        events: page,
        nextPageToken:
          (events.length > size || cut) && last
            ? tokens.encode(person, { commit: last.position.commit.toString(), prepare: last.position.prepare.toString() })
            : '',
      };
    },
  };
}

// The token is the position of the last event returned (the exclusive start of the next page),
// good only for the person whose trail it was made for.
const positionShape = z.object({ commit: tokenInt64, prepare: tokenInt64 }).strict();

// A history page token is the version the next page starts at, good only for its memory.
const versionShape = z.object({ version: tokenInt64 }).strict();

function decodeVersionToken(tokens: PageTokens, memoryId: string, token: string): bigint {
  const { version } = tokens.decode(
    'page_token',
    token,
    memoryId,
    versionShape,
    "was made for another memory's history; start again without a page token",
  );
  return BigInt(version);
}

function decodePositionToken(tokens: PageTokens, userId: string, token: string): Position {
  return tokens.decode(
    'page_token',
    token,
    userId,
    positionShape,
    "was made for another person's audit trail; start again without a page token",
  );
}
