import type { DatabasePool } from 'slonik';
import type { Logger } from '../log.js';
import { InvalidArgument } from '../errors.js';
import { DuplicateEventId, EventNotFound, StreamNotFound, WrongExpectedVersion } from './errors.js';
import { createGroupCommit } from './groupCommit.js';
import { chainPads } from './chain.js';
import type { AppendOutcome, GroupCommitStats } from './groupCommit.js';
import type { z } from 'zod';
import { wasCut } from '../db/pages.js';
import type { BatchAppend, Notification, pageRow } from './queries.js';
import {
  aboutPersonQuery,
  eventQuery,
  logEndQuery,
  logPageQuery,
  scanEndQuery,
  streamEventsQuery,
  streamInfoQuery,
  streamPageQuery,
  toRecordedEvent,
} from './queries.js';
import { committedEvents } from './committed.js';
import { logPosition, positionAfter, positionAt } from './types.js';
import type {
  AppendResult,
  EventFilter,
  EventPage,
  ExpectedVersion,
  JsonObject,
  LogSlice,
  Position,
  ProposedEvent,
  RecordedEvent,
  StreamInfo,
  StreamSlice,
} from './types.js';
import { checkEventId, checkFilter, checkLimit, checkProposedEvents, checkStreamId } from './validation.js';

/** The metadata key the service stamps the appending principal under, and clients may not use. */
export const STAMP_KEY = 'auren';

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
  /** Most events one commit of concurrent appends takes (at least one whole append). */
  batchMaxEvents: number;
  /** Most bytes of events (data and metadata as JSON) a ReadStream or ReadAll page holds; at least one event. */
  responseMaxBytes: number;
}

/** What the event store is built from. */
export interface EventStoreOptions {
  pool: DatabasePool;
  limits: EventStoreLimits;
  log: Logger;
  /**
   * Runs after every commit that appended (it feeds and wakes the live tails, counts the
   * events), with the appends written and, built when asked for, their events as stored.
   */
  afterCommit?: (appended: readonly BatchAppend[], events: () => RecordedEvent[], notified: boolean) => void;
  /** Asked before each commit: a NOTIFY the commit sends (to wake other processes' tails), or none. */
  notify?: () => Notification | undefined;
  /** The log's hash-chain key (events/chain.ts); absent: events are appended without hashes. */
  chainKey?: Buffer;
}

/** Appends to the streams a module of this process owns (see EventStore.claimStreams). */
export interface StreamWriter {
  /** Appends like appendToStream, to a stream with one of the claimed prefixes only. */
  append(streamId: string, expected: ExpectedVersion, events: ProposedEvent[], signal?: AbortSignal): Promise<AppendResult>;
  /**
   * Appends to several claimed streams, whatever their versions, in one commit. Their events
   * get new ids, so no append can be refused on its own: they commit together or not at all.
   */
  appendEach(appends: { streamId: string; events: ProposedEvent[] }[], signal?: AbortSignal): Promise<AppendResult[]>;
  /**
   * Appends to a claimed stream (its events get new ids) only if the stream `watch.streamId` is
   * at `watch.version` (0: does not exist) at the append's own place in the log, checked and
   * committed in one transaction that no other append can come between. Resolves to the
   * result, or to 'changed' (nothing written) when the watched stream was at another version.
   */
  appendIfStreamAt(
    streamId: string,
    events: ProposedEvent[],
    watch: { streamId: string; version: bigint },
    signal?: AbortSignal,
  ): Promise<AppendResult | 'changed'>;
  /**
   * Appends to several claimed streams in one commit (like appendEach) only if, at the appends'
   * place in the log, no event after `since.after` is on a stream starting with
   * `since.streamPrefix` with data containing `since.data`, and at most `since.maxScan` events
   * follow it. Resolves to the results, or to 'changed' (nothing written).
   */
  appendEachIfUnchanged(
    appends: { streamId: string; events: ProposedEvent[] }[],
    since: UnchangedSince,
    signal?: AbortSignal,
  ): Promise<AppendResult[] | 'changed'>;
}

/** A part of the log that must not have changed since a position (StreamWriter.appendEachIfUnchanged). */
export interface UnchangedSince {
  after: Position;
  streamPrefix: string;
  data: JsonObject;
  /** Most events that may follow `after`: a bound on the check's cost. */
  maxScan: number;
}

/** One append to a stream: its expected version and events. */
export interface StreamAppend {
  streamId: string;
  expected: ExpectedVersion;
  events: ProposedEvent[];
}

/** The event store's operations. */
export interface EventStore {
  /**
   * Appends events atomically after checking the expected version, committed together with
   * the appends that arrive meanwhile. A stream with a claimed prefix is refused. When
   * `signal` aborts (the caller's client left, its deadline passed) before the append
   * committed, nothing is written and the append fails with the signal's reason. `stamp` (who
   * appends: the authenticated principal) is written into each event's metadata under the
   * reserved key `auren`, which a client's metadata may not hold: what is there comes from the
   * service alone.
   */
  appendToStream(
    streamId: string,
    expected: ExpectedVersion,
    events: ProposedEvent[],
    signal?: AbortSignal,
    stamp?: JsonObject,
  ): Promise<AppendResult>;
  /** The stream-id prefixes claimed by modules of this process (their streams are written by the service only). */
  claimedPrefixes(): readonly string[];
  /**
   * Claims the streams whose ids start with these prefixes for a module of this process (it
   * keeps their versions in rows of its own): clients may no longer append to them, and the
   * returned writer is the one way to.
   */
  claimStreams(prefixes: readonly string[]): StreamWriter;
  readStream(streamId: string, fromVersion: bigint, direction: Direction, limit: number): Promise<StreamSlice>;
  readAll(from: Position, limit: number, filter: EventFilter): Promise<LogSlice>;
  getStreamInfo(streamId: string): Promise<StreamInfo>;
  getEvent(eventId: string): Promise<RecordedEvent>;
  /** Events from an inclusive position, unfiltered, in log order, up to `limit` events and `maxBytes`. For tails and consumers. */
  readLog(from: Position, limit: number, maxBytes: number): Promise<EventPage>;
  /** Events of one stream from an inclusive version, in version order, up to `limit` events and `maxBytes`; none when it does not exist. */
  readStreamEvents(streamId: string, fromVersion: bigint, limit: number, maxBytes: number): Promise<EventPage>;
  /**
   * Events about one person (metadata.user_id: writes of their data and reads of it) created
   * in [from, to) (epoch ms; null is open), after the exclusive position `after`, in log order,
   * up to `limit` events and `maxBytes`.
   */
  readAboutPerson(
    userId: string,
    from: number | null,
    to: number | null,
    after: Position,
    limit: number,
    maxBytes: number,
    exceptTypes?: readonly string[],
  ): Promise<EventPage>;
  /** The position after the last event: where a tail "from the end" starts. */
  logEnd(): Promise<Position>;
  /** Commits what is queued, then refuses appends. */
  stop(): Promise<void>;
  /** What the group commit has done so far. */
  stats(): GroupCommitStats;
}

/** Creates the event store over a PostgreSQL pool. */
export function createEventStore({ pool, limits, log, afterCommit = () => {}, notify, chainKey }: EventStoreOptions): EventStore {
  const claimed: string[] = [];
  const chain = chainKey ? chainPads(chainKey) : undefined;
  const commits = createGroupCommit({
    pool,
    log,
    maxBatchEvents: limits.batchMaxEvents,
    chain,
    notify,
    afterCommit: (appends, outcomes, notified) =>
      afterCommit(
        appends.filter((_, i) => outcomes[i]?.outcome === 'appended'),
        () => committedEvents(appends, outcomes),
        notified,
      ),
  });

  function batchAppend(streamId: string, expected: ExpectedVersion, events: ProposedEvent[]): BatchAppend {
    checkStreamId('stream_id', streamId);
    return {
      stream_id: streamId,
      expected: expected.kind,
      expected_version: (expected.kind === 'exact' ? expected.version : 0n).toString(),
      events: checkProposedEvents(events, limits),
    };
  }

  async function append(streamId: string, expected: ExpectedVersion, events: ProposedEvent[], signal?: AbortSignal): Promise<AppendResult> {
    const batched = batchAppend(streamId, expected, events);
    const [outcome] = await commits.submit({ appends: [batched], signal });
    return resultOf(batched, expected, outcome!);
  }

  function resultOf(batched: BatchAppend, expected: ExpectedVersion, outcome: AppendOutcome): AppendResult {
    const streamId = batched.stream_id;
    switch (outcome.outcome) {
      case 'wrong_expected_version':
        throw new WrongExpectedVersion(streamId, describeExpected(expected), outcome.stream_version);
      case 'duplicate_id_conflict':
        throw new DuplicateEventId(outcome.conflicting_ids?.split(',') ?? batched.events.map((e) => e.event_id));
      case 'watch_mismatch':
        // Only appendIfStreamAt sets a condition, and it reads this outcome itself.
        throw new Error(`append to ${streamId}: its condition on ${batched.watch?.stream_id} did not hold`);
      default:
        return {
          nextExpectedVersion: outcome.stream_version,
          firstPosition: positionAt(outcome.first_position!),
          lastPosition: positionAt(outcome.last_position!),
          createdAt: outcome.created_at!,
        };
    }
  }

  async function getStreamInfo(streamId: string): Promise<StreamInfo> {
    checkStreamId('stream_id', streamId);
    const row = await pool.maybeOne(streamInfoQuery(streamId));
    return row
      ? { exists: true, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at }
      : { exists: false, version: 0n, createdAt: null, updatedAt: null };
  }

  return {
    appendToStream(streamId, expected, events, signal, stamp) {
      const prefix = claimed.find((p) => streamId.startsWith(p));
      if (prefix) throw new InvalidArgument('stream_id', `streams starting with '${prefix}' are written by this service only`);
      events.forEach((event, i) => {
        if (event.metadata !== null && typeof event.metadata === 'object' && Object.hasOwn(event.metadata, STAMP_KEY))
          throw new InvalidArgument(`events[${i}].metadata.${STAMP_KEY}`, 'is written by this service only');
      });
      const stamped =
        stamp === undefined ? events : events.map((event) => ({ ...event, metadata: { ...event.metadata, [STAMP_KEY]: stamp } }));
      return append(streamId, expected, stamped, signal);
    },

    claimedPrefixes: () => claimed,

    claimStreams(prefixes) {
      claimed.push(...prefixes);
      const own = (streamId: string) => {
        if (!prefixes.some((p) => streamId.startsWith(p)))
          throw new Error(`stream '${streamId}' is not one of the claimed ${prefixes.join(', ')}`);
      };
      return {
        append(streamId, expected, events, signal) {
          own(streamId);
          return append(streamId, expected, events, signal);
        },
        async appendEach(appends, signal) {
          const batched = appends.map(({ streamId, events }) => {
            own(streamId);
            return batchAppend(
              streamId,
              { kind: 'any' },
              events.map((event) => ({ ...event, eventId: undefined })),
            );
          });
          const outcomes = await commits.submit({ appends: batched, signal });
          return batched.map((b, i) => resultOf(b, { kind: 'any' }, outcomes[i]!));
        },
        async appendIfStreamAt(streamId, events, watch, signal) {
          own(streamId);
          const batched: BatchAppend = {
            ...batchAppend(
              streamId,
              { kind: 'any' },
              events.map((event) => ({ ...event, eventId: undefined })),
            ),
            watch: { stream_id: watch.streamId, version: watch.version.toString() },
          };
          const [outcome] = await commits.submit({ appends: [batched], signal });
          return outcome!.outcome === 'watch_mismatch' ? 'changed' : resultOf(batched, { kind: 'any' }, outcome!);
        },
        async appendEachIfUnchanged(appends, since, signal) {
          const unchanged = {
            after: logPosition(since.after).toString(),
            stream_prefix: since.streamPrefix,
            data: since.data,
            max_scan: since.maxScan,
          };
          const batched: BatchAppend[] = appends.map(({ streamId, events }) => {
            own(streamId);
            const append = batchAppend(
              streamId,
              { kind: 'any' },
              events.map((event) => ({ ...event, eventId: undefined })),
            );
            return { ...append, unchanged };
          });
          // Every append carries the same condition and they are sent together, one after
          // another, writing nothing it watches: the condition holds for all of them or for none.
          const outcomes = await commits.submit({ appends: batched, signal });
          const changed = outcomes.filter((o) => o.outcome === 'watch_mismatch').length;
          if (changed === outcomes.length) return 'changed';
          if (changed > 0) throw new Error('a condition held for some appends of one group and not for others');
          return batched.map((b, i) => resultOf(b, { kind: 'any' }, outcomes[i]!));
        },
      };
    },

    async readStream(streamId, fromVersion, direction, limit) {
      checkStreamId('stream_id', streamId);
      const count = checkLimit('limit', limit, limits);
      const rows = await pool.any(streamPageQuery(streamId, fromVersion, direction === 'backwards', count, limits.responseMaxBytes));
      const streamVersion = rows[0]?.stream_version ?? (await getStreamInfo(streamId)).version;
      if (streamVersion === 0n) throw new StreamNotFound(streamId);
      const events = rows.map(toRecordedEvent);
      const last = events.at(-1);
      const full = events.length === count || wasCut(rows);
      const endOfStream = !full || !last || (direction === 'forwards' ? last.version >= streamVersion : last.version <= 1n);
      return { events, streamVersion, endOfStream };
    },

    async readAll(from, limit, filter) {
      const count = checkLimit('limit', limit, limits);
      checkFilter(filter);
      const start = logPosition(from);
      const filtered = filter.eventTypes.length > 0 || filter.streamIdPrefixes.length > 0;
      // Read first: every event up to it is committed, so a filtered read that ends may continue after it.
      const end = filtered ? (await pool.one(logEndQuery)).last : 0n;
      // A filtered read scans a bounded window, then answers with where it got to: a filter
      // that matches nothing costs a bounded amount per call.
      const scanEnd = filtered ? ((await pool.maybeOne(scanEndQuery(start, limits.filterScanWindow)))?.position ?? null) : null;
      const rows = await pool.any(logPageQuery(start, scanEnd, filter, count, limits.responseMaxBytes));
      const events = rows.map(toRecordedEvent);
      const last = events.at(-1);
      if ((events.length === count || wasCut(rows)) && last) return { events, nextPosition: positionAfter(last.position), endOfLog: false };
      if (scanEnd !== null) return { events, nextPosition: positionAt(scanEnd + 1n), endOfLog: false };
      if (!filtered) return { events, nextPosition: last ? positionAfter(last.position) : from, endOfLog: true };
      // Filtered and nothing more matched: continue after what was scanned, at least up to the
      // end read before the page (any match after it was in the page, which was not full).
      const after = last && logPosition(last.position) > end ? logPosition(last.position) : end;
      return { events, nextPosition: after + 1n > start ? positionAt(after + 1n) : from, endOfLog: true };
    },

    getStreamInfo,

    async readLog(from, limit, maxBytes) {
      return pageOf(await pool.any(logPageQuery(logPosition(from), null, NO_FILTER, limit, maxBytes)), limit);
    },

    async readStreamEvents(streamId, fromVersion, limit, maxBytes) {
      return pageOf(await pool.any(streamEventsQuery(streamId, fromVersion, limit, maxBytes)), limit);
    },

    async readAboutPerson(userId, from, to, after, limit, maxBytes, exceptTypes = []) {
      // Only the service's own streams: an event a client appended with metadata.user_id is no audit record.
      return pageOf(await pool.any(aboutPersonQuery(userId, from, to, after, limit, maxBytes, claimed, exceptTypes)), limit);
    },

    async logEnd() {
      return positionAt((await pool.one(logEndQuery)).last + 1n);
    },

    async getEvent(eventId) {
      const id = checkEventId('event_id', eventId);
      const row = await pool.maybeOne(eventQuery(id));
      if (!row) throw new EventNotFound(id);
      return toRecordedEvent(row);
    },

    stop: () => commits.stop(),
    stats: () => commits.stats(),
  };
}

function pageOf(rows: readonly z.infer<typeof pageRow>[], limit: number): EventPage {
  return { events: rows.map(toRecordedEvent), more: rows.length === limit || wasCut(rows) };
}

function describeExpected(expected: ExpectedVersion): string {
  switch (expected.kind) {
    case 'any':
      return 'any version';
    case 'no_stream':
      return 'no stream (version 0)';
    case 'stream_exists':
      return 'an existing stream';
    case 'exact':
      return `version ${expected.version}`;
  }
}
