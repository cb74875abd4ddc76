import { UniqueIntegrityConstraintViolationError } from 'slonik';
import type { CommonQueryMethods, DatabasePool } from 'slonik';
import { z } from 'zod';
import { DuplicateEventId, EventNotFound, StreamNotFound, WrongExpectedVersion } from './errors.js';
import {
  aboutPersonQuery, appendQuery, appendRow, eventQuery, horizonQuery, lastSettledQuery, logPageQuery, pendingQuery, scanEndQuery,
  settledEndQuery, settledFrom, streamEventsQuery, streamInfoQuery, streamPageQuery, toRecordedEvent,
} from './queries.js';
import { positionAfter, START } from './types.js';
import type {
  AppendResult, EventFilter, ExpectedVersion, LogSlice, Position, ProposedEvent, RecordedEvent, StreamInfo, StreamSlice,
} from './types.js';
import { checkEventId, checkFilter, checkLimit, checkProposedEvents, checkStreamId } from './validation.js';
import { InvalidArgument } from '../errors.js';

const NO_FILTER: EventFilter = { eventTypes: [], streamIdPrefixes: [] };

/** Direction of a stream read. */
export type Direction = 'forwards' | 'backwards';

/** Input limits of the event store. */
export interface EventStoreLimits {
  /** Most events in one append. */
  appendMaxEvents: number;
  /** Most bytes of one event's data and metadata as JSON. */
  eventMaxBytes: number;
  /** Largest page a read may ask for (the default page is 100, or this when smaller). */
  readMaxCount: number;
  /** Most events a filtered ReadAll scans before it answers with a resume position. */
  filterScanWindow: number;
}

/** What the event store is built from. */
export interface EventStoreOptions {
  pool: DatabasePool;
  limits: EventStoreLimits;
  /**
   * Stream-id prefixes that modules of this process own (they keep the streams' versions in
   * rows of their own): appendToStream refuses them; the owners append inside transaction().
   */
  reservedPrefixes?: readonly string[];
  /** Runs after every committed transaction that appended (it wakes the live tails). */
  afterCommit?: () => void;
}

/** A transaction of the event store, for a module that changes its own rows and appends their events atomically. */
export interface StoreTransaction {
  /** The transaction's connection, for the module's own statements. */
  db: CommonQueryMethods;
  /** Appends inside the transaction, to any stream (reserved ones included), with the same checks as appendToStream. */
  append(streamId: string, expected: ExpectedVersion, events: ProposedEvent[]): Promise<AppendResult>;
  /** Events of one stream from an inclusive version, as this transaction sees them. */
  readStreamEvents(streamId: string, fromVersion: bigint, limit: number): Promise<RecordedEvent[]>;
}

/** The event store's operations. */
export interface EventStore {
  /** Appends events atomically after checking the expected version; a stream with a reserved prefix is refused. */
  appendToStream(streamId: string, expected: ExpectedVersion, events: ProposedEvent[]): Promise<AppendResult>;
  /**
   * Runs `work` in one transaction and commits it; when it appended anything, the live tails
   * are woken once it committed. The one way to append together with other writes.
   */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  readStream(streamId: string, fromVersion: bigint, direction: Direction, limit: number): Promise<StreamSlice>;
  readAll(from: Position, limit: number, filter: EventFilter): Promise<LogSlice>;
  getStreamInfo(streamId: string): Promise<StreamInfo>;
  getEvent(eventId: string): Promise<RecordedEvent>;
  /**
   * Reads settled events (whose transaction is older than every one still running) from an
   * inclusive position, unfiltered; says whether committed events already wait beyond the
   * horizon, so a tail knows to look again soon. For tails and consumers.
   */
  readSettled(from: Position, limit: number): Promise<SettledSlice>;
  /** Events of one stream from an inclusive version, in version order; none when it does not exist. */
  readStreamEvents(streamId: string, fromVersion: bigint, limit: number): Promise<RecordedEvent[]>;
  /**
   * Settled events about one person (metadata.user_id: writes of their data and reads of it)
   * created in [from, to) (epoch ms; null is open), after the exclusive position `after`, in
   * log order.
   */
  readAboutPerson(userId: string, from: number | null, to: number | null, after: Position, limit: number): Promise<RecordedEvent[]>;
  /** The position after the last settled event: where a tail "from the end" starts. */
  settledEnd(): Promise<Position>;
}

/** A page of settled events. */
export interface SettledSlice {
  events: RecordedEvent[];
  /** Committed events exist that are not settled yet. */
  pending: boolean;
}

/** Creates the event store over a PostgreSQL pool. */
export function createEventStore({ pool, limits, reservedPrefixes = [], afterCommit = () => {} }: EventStoreOptions): EventStore {
  // Appends in `db` (the pool, or a transaction); true when the events were written (not a retry's replay).
  async function append(db: CommonQueryMethods, streamId: string, expected: ExpectedVersion, events: ProposedEvent[]) {
    checkStreamId('stream_id', streamId);
    const checked = checkProposedEvents(events, limits);
    let row: z.infer<typeof appendRow>;
    try {
      row = await db.one(appendQuery(streamId, expected, checked));
    } catch (error) {
      throw translateAppendError(error, checked.map((e) => e.event_id));
    }
    if (row.outcome === 'wrong_expected_version') {
      throw new WrongExpectedVersion(streamId, describeExpected(expected), row.stream_version);
    }
    const result: AppendResult = {
      nextExpectedVersion: row.stream_version,
      firstPosition: { commit: BigInt(row.first_commit!), prepare: row.first_prepare! },
      lastPosition: { commit: BigInt(row.last_commit!), prepare: row.last_prepare! },
    };
    return { result, written: row.outcome === 'appended' };
  }

  async function readStreamEvents(db: CommonQueryMethods, streamId: string, fromVersion: bigint, limit: number): Promise<RecordedEvent[]> {
    const rows = await db.any(streamEventsQuery(streamId, fromVersion, limit));
    return rows.map(toRecordedEvent);
  }

  async function getStreamInfo(streamId: string): Promise<StreamInfo> {
    checkStreamId('stream_id', streamId);
    const row = await pool.maybeOne(streamInfoQuery(streamId));
    return row
      ? { exists: true, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at }
      : { exists: false, version: 0n, createdAt: null, updatedAt: null };
  }

  return {
    async appendToStream(streamId, expected, events) {
      const reserved = reservedPrefixes.find((prefix) => streamId.startsWith(prefix));
      if (reserved) throw new InvalidArgument('stream_id', `streams starting with '${reserved}' are written by this service only`);
      // One statement, committed on its own.
      const { result, written } = await append(pool, streamId, expected, events);
      if (written) afterCommit();
      return result;
    },

    async transaction(work) {
      let appended = false;
      const result = await pool.transaction((db) => work({
        db,
        async append(streamId, expected, events) {
          const { result, written } = await append(db, streamId, expected, events);
          appended ||= written;
          return result;
        },
        readStreamEvents: (streamId, fromVersion, limit) => readStreamEvents(db, streamId, fromVersion, limit),
      }));
      if (appended) afterCommit();
      return result;
    },

    async readStream(streamId, fromVersion, direction, limit) {
      checkStreamId('stream_id', streamId);
      const count = checkLimit('limit', limit, limits);
      const rows = await pool.any(streamPageQuery(streamId, fromVersion, direction === 'backwards', count));
      const streamVersion = rows[0]?.stream_version ?? (await getStreamInfo(streamId)).version;
      if (streamVersion === 0n) throw new StreamNotFound(streamId);
      const events = rows.map(toRecordedEvent);
      const last = events.at(-1);
      const endOfStream = events.length < count || !last
        || (direction === 'forwards' ? last.version >= streamVersion : last.version <= 1n);
      return { events, streamVersion, endOfStream };
    },

    async readAll(from, limit, filter) {
      const count = checkLimit('limit', limit, limits);
      checkFilter(filter);
      const { horizon } = await pool.one(horizonQuery);
      const settled = settledFrom(from, horizon);
      const filtered = filter.eventTypes.length > 0 || filter.streamIdPrefixes.length > 0;
      // A filtered read scans a bounded window, then answers with where it got to: a filter
      // that matches nothing costs a bounded amount per call.
      const scanEnd = filtered ? await pool.maybeOne(scanEndQuery(settled, limits.filterScanWindow)) : null;
      const rows = await pool.any(logPageQuery(settled, scanEnd, filter, count));
      const events = rows.map(toRecordedEvent);
      const last = events.at(-1);
      if (events.length === count && last) return { events, nextPosition: positionAfter(last.position), endOfLog: false };
      if (scanEnd) return { events, nextPosition: positionAfter({ commit: BigInt(scanEnd.commit), prepare: scanEnd.position }), endOfLog: false };
      if (!filtered) return { events, nextPosition: last ? positionAfter(last.position) : from, endOfLog: true };
      // Filtered and nothing more matched: continue after the last settled event scanned.
      const end = await pool.maybeOne(lastSettledQuery(settled));
      return { events, nextPosition: end ? positionAfter({ commit: BigInt(end.commit), prepare: end.position }) : from, endOfLog: true };
    },

    getStreamInfo,

    async readSettled(from, limit) {
      const { horizon } = await pool.one(horizonQuery);
      const rows = await pool.any(logPageQuery(settledFrom(from, horizon), null, NO_FILTER, limit));
      const pending = rows.length < limit && (await pool.exists(pendingQuery(horizon)));
      return { events: rows.map(toRecordedEvent), pending };
    },

    readStreamEvents: (streamId, fromVersion, limit) => readStreamEvents(pool, streamId, fromVersion, limit),

    async readAboutPerson(userId, from, to, after, limit) {
      const rows = await pool.any(aboutPersonQuery(userId, from, to, after, limit));
      return rows.map(toRecordedEvent);
    },

    async settledEnd() {
      const end = await pool.maybeOne(settledEndQuery);
      return end ? positionAfter({ commit: BigInt(end.commit), prepare: end.position }) : START;
    },

    async getEvent(eventId) {
      const id = checkEventId('event_id', eventId);
      const row = await pool.maybeOne(eventQuery(id));
      if (!row) throw new EventNotFound(id);
      return toRecordedEvent(row);
    },
  };
}

function describeExpected(expected: ExpectedVersion): string {
  switch (expected.kind) {
    case 'any': return 'any version';
    case 'no_stream': return 'no stream (version 0)';
    case 'stream_exists': return 'an existing stream';
    case 'exact': return `version ${expected.version}`;
  }
}

function translateAppendError(error: unknown, eventIds: string[]): unknown {
  if (error instanceof UniqueIntegrityConstraintViolationError && error.constraint === 'events_event_id_key') {
    return new DuplicateEventId(eventIds);
  }
  if (sqlState(error) === 'AU409') {
    const detail = findCause(error, (e) => typeof (e as { detail?: unknown }).detail === 'string') as { detail?: string } | undefined;
    return new DuplicateEventId(detail?.detail?.split(',') ?? eventIds);
  }
  return error;
}

function sqlState(error: unknown): string | undefined {
  const found = findCause(error, (e) => typeof (e as { code?: unknown }).code === 'string' && /^[0-9A-Z]{5}$/.test((e as { code: string }).code));
  return (found as { code?: string } | undefined)?.code;
}

function findCause(error: unknown, test: (e: object) => boolean): object | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (test(e)) return e;
  }
  return undefined;
}
