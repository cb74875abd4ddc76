import { createHash } from 'node:crypto';
import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import type { Limits } from '../config.js';
import { InvalidArgument } from '../errors.js';
import type { EventStore } from '../events/eventStore.js';
import { START } from '../events/types.js';
import type { Position, RecordedEvent } from '../events/types.js';
import { recordRetrieval } from './audit.js';
import { MemoryNotFound } from './errors.js';
import { memoryColumns, memoryRow, memoryStream, toMemory } from './model.js';
import type { Caller } from './model.js';
import { checkMemoryId, checkName } from './validation.js';

/** One page of a person's audit trail. */
export interface AuditTrailPage {
  events: RecordedEvent[];
  /** Empty on the last page. */
  nextPageToken: string;
}

/** What the log says about memories and the people they are about. */
export interface MemoryHistory {
  /** Every event of one memory, oldest first; the read itself is recorded (HIPAA access log). */
  getMemoryHistory(caller: Caller, id: string): Promise<RecordedEvent[]>;
  /**
   * Every settled event about one person (writes of their memories and reads of them) created
   * in [from, to) (epoch ms; null is open), in log order, a page at a time.
   */
  listAuditTrail(userId: string, from: number | null, to: number | null, pageSize: number, pageToken: string): Promise<AuditTrailPage>;
}

/** What the history needs. */
export interface MemoryHistoryOptions {
  pool: DatabasePool;
  store: EventStore;
  limits: Limits;
}

/** Default and largest audit trail page. */
export const AUDIT_PAGE_SIZE = { default: 100, max: 1000 } as const;

/** Creates the history reads over the event store. */
export function createMemoryHistory({ pool, store, limits }: MemoryHistoryOptions): MemoryHistory {
  return {
    async getMemoryHistory(caller, id) {
      const memoryId = checkMemoryId('id', id);
      // The events and the record of reading them commit together: no read goes unrecorded.
      let aboutSomeone = false;
      const events = await pool.transaction(async (tx) => {
        const row = await tx.maybeOne(sql.type(memoryRow)`select ${memoryColumns} from memories where id = ${memoryId}::uuid`);
        if (!row) throw new MemoryNotFound(memoryId);
        aboutSomeone = row.user_id !== null;
        const found: RecordedEvent[] = [];
        for (;;) {
          const page = await store.readStreamEvents(memoryStream(memoryId), BigInt(found.length + 1), limits.readMaxCount, tx);
          found.push(...page);
          if (page.length < limits.readMaxCount) break;
        }
        await recordRetrieval(store, tx, caller, [toMemory(row)], { operation: 'get_memory_history', query: { id: memoryId } });
        return found;
      });
      // Only a read of someone's data appended an access record for the tails to see.
      if (aboutSomeone) store.committed();
      return events;
    },

    async listAuditTrail(userId, from, to, pageSize, pageToken) {
      const person = checkName('user_id', userId);
      if (from !== null && to !== null && from >= to) throw new InvalidArgument('to', 'must be later than from');
      const size = checkPageSize(pageSize);
      const after = pageToken === '' ? START : decodePageToken(person, pageToken);
      // One more than asked: a full page says whether another follows, so the last page is never empty.
      const events = await store.readAboutPerson(person, from, to, after, size + 1);
      const page = events.slice(0, size);
      const last = page.at(-1);
      return { events: page, nextPageToken: events.length > size && last ? encodePageToken(person, last.position) : '' };
    },
  };
}

function checkPageSize(requested: number): number {
  if (requested === 0) return AUDIT_PAGE_SIZE.default;
  if (!Number.isInteger(requested) || requested < 0 || requested > AUDIT_PAGE_SIZE.max) {
    throw new InvalidArgument('page_size', `expects at most ${AUDIT_PAGE_SIZE.max}, got ${requested}`);
  }
  return requested;
}

// The token is the position of the last event returned (the exclusive start of the next page)
// and a check over it and the person: an edited token, or one from another person's trail,
// is refused rather than read as some other position. (The check is not a secret: it catches
// mistakes, it does not authenticate.)
function encodePageToken(userId: string, p: Position): string {
  const text = `${p.commit}.${p.prepare}`;
  return Buffer.from(`${text}.${tokenCheck(userId, text)}`).toString('base64url');
}

function decodePageToken(userId: string, token: string): Position {
  const text = Buffer.from(token, 'base64url').toString();
  // base64url decoding ignores stray characters and trailing bits: only the exact encoding counts.
  const exact = Buffer.from(text).toString('base64url') === token;
  const match = /^(\d{1,20})\.(\d{1,20})\.([0-9a-f]{12})$/.exec(text);
  const position = match ? { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) } : null;
  if (!exact || !match || !position || position.commit > MAX_INT64 || position.prepare > MAX_INT64 || match[3] !== tokenCheck(userId, `${match[1]}.${match[2]}`)) {
    throw new InvalidArgument('page_token', 'is not a page token of this audit trail; pass next_page_token from the previous page unchanged');
  }
  return position;
}

// Positions are PostgreSQL bigints.
const MAX_INT64 = 2n ** 63n - 1n;

function tokenCheck(userId: string, position: string): string {
  return createHash('sha256').update(`audit-trail\0${userId}\0${position}`).digest('hex').slice(0, 12);
}
