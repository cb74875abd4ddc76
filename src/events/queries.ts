import { sql } from 'slonik';
import type { FragmentSqlToken, QuerySqlToken } from 'slonik';
import { z } from 'zod';
import { cutColumns, withinBytes } from '../db/pages.js';
import type { CheckedEvent } from './validation.js';
import type { ChainPads } from './chain.js';
import type { EventFilter, ExpectedVersion, JsonObject, Position, RecordedEvent } from './types.js';

// Every statement of the event store, and the rows they return.

const jsonObject = z.custom<JsonObject>((value) => typeof value === 'object' && value !== null && !Array.isArray(value));

/** One row of the events table, as every read selects it. */
export const eventRow = z.object({
  event_id: z.string(),
  stream_id: z.string(),
  version: z.bigint(),
  type: z.string(),
  data: jsonObject,
  metadata: jsonObject,
  correlation_id: z.string().nullable(),
  causation_id: z.string().nullable(),
  position: z.bigint(),
  created_at: z.number(),
  size: z.number(),
});

/** An events row of a page cut by bytes (see withinBytes). */
export const pageRow = eventRow.extend(cutColumns);

/** The columns matching eventRow. */
export const eventColumns = sql.fragment`
  event_id::text, stream_id, version, type, data, metadata, correlation_id, causation_id,
  position, created_at, size`;

/** Turns an events row into the domain's RecordedEvent. */
export function toRecordedEvent(row: z.infer<typeof eventRow>): RecordedEvent {
  return {
    eventId: row.event_id,
    streamId: row.stream_id,
    version: row.version,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    position: { commit: row.position, prepare: row.position },
    createdAt: row.created_at,
    size: row.size,
  };
}

/** One result row of append_batch(), per append. */
export const appendOutcomeRow = z.object({
  ord: z.number(),
  outcome: z.enum(['appended', 'duplicate', 'wrong_expected_version', 'duplicate_id_conflict', 'watch_mismatch']),
  stream_version: z.bigint(),
  first_position: z.bigint().nullable(),
  last_position: z.bigint().nullable(),
  created_at: z.number().nullable(),
  conflicting_ids: z.string().nullable(),
  /** The watched stream's version, when the append had a condition on one. */
  watched_version: z.bigint().nullable(),
});

/** One append of a batch, as append_batch() reads it. */
export interface BatchAppend {
  stream_id: string;
  expected: ExpectedVersion['kind'];
  expected_version: string;
  events: CheckedEvent[];
  /** Written only if this stream is at this version at the append's place in the log (sql/functions/append_batch.sql). */
  watch?: { stream_id: string; version: string };
  /** Written only if no event after `after` on a stream starting with `stream_prefix` has data containing `data` (sql/functions/append_batch.sql). */
  unchanged?: { after: string; stream_prefix: string; data: JsonObject; max_scan: number };
}

/**
 * The whole write path: every append of a batch, in one statement (sql/functions/append_batch.sql).
 * `batchId` is written into the statement's text, so that pg_stat_activity shows which batch
 * runs (see batchTagPattern).
 */
export function appendBatchQuery(
  appends: BatchAppend[],
  batchId = '0',
  pads?: ChainPads,
  notify?: Notification,
): QuerySqlToken<typeof appendOutcomeRow> {
  const chain = pads ? sql.fragment`, ${sql.binary(pads.inner)}, ${sql.binary(pads.outer)}` : sql.fragment``;
  const tag = sql.fragment`/* auren append batch ${sql.identifier([batchId])} */`;
  const batch = sql.fragment`select * from append_batch(${JSON.stringify(appends)}::jsonb${chain})`;
  if (!notify) return sql.type(appendOutcomeRow)`${tag} ${batch}`;
  // PostgreSQL delivers a NOTIFY when its transaction commits, and not if it fails.
  return sql.type(appendOutcomeRow)`${tag} with appended as (${batch})
    select appended.* from appended cross join (select pg_notify(${notify.channel}, ${notify.payload})) as notified`;
}

/** A NOTIFY sent by the transaction that sends it, at its commit. */
export interface Notification {
  channel: string;
  payload: string;
}

/** A LIKE pattern matching the text of the batch statement `batchId` in pg_stat_activity. */
export const batchTagPattern = (batchId: string): string => `/* auren append batch "${batchId}" */%`;

/** A position and nothing else. */
export const positionRow = z.object({ position: z.bigint() });

/** The filter as a condition; `true` when it matches everything. */
export function matches(filter: EventFilter): FragmentSqlToken {
  const conditions: FragmentSqlToken[] = [];
  if (filter.eventTypes.length > 0) conditions.push(sql.fragment`type = any(${sql.array(filter.eventTypes, 'text')})`);
  if (filter.streamIdPrefixes.length > 0) {
    const patterns = filter.streamIdPrefixes.map((prefix) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`);
    conditions.push(sql.fragment`stream_id like any(${sql.array(patterns, 'text')})`);
  }
  return conditions.length === 0 ? sql.fragment`true` : sql.fragment`${sql.join(conditions, sql.fragment` and `)}`;
}

/**
 * Events about one person (metadata.user_id) created in [from, to) (epoch ms; null is
 * open), after an exclusive position, in log order. Written so that the partial index
 * events_user_order serves both the match and the order.
 */
export function aboutPersonQuery(
  userId: string,
  from: number | null,
  to: number | null,
  after: Position,
  limit: number,
  maxBytes: number,
  streamPrefixes: readonly string[],
  exceptTypes: readonly string[] = [],
): QuerySqlToken<typeof pageRow> {
  const except = exceptTypes.length === 0 ? sql.fragment`` : sql.fragment`and type <> all(${sql.array([...exceptTypes], 'text')})`;
  const patterns = streamPrefixes.map((prefix) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`);
  const since = from === null ? sql.fragment`` : sql.fragment`and created_at >= ${new Date(from).toISOString()}::timestamptz`;
  const until = to === null ? sql.fragment`` : sql.fragment`and created_at < ${new Date(to).toISOString()}::timestamptz`;
  const source = sql.fragment`
    select * from events
     where metadata ? 'user_id' and metadata->>'user_id' = ${userId}
       and position > ${after.prepare}
       and stream_id like any(${sql.array(patterns, 'text')})
       ${since} ${until} ${except}
     order by position limit ${limit}`;
  return sql.type(pageRow)`${withinBytes(eventColumns, source, sql.fragment`position`, maxBytes)}`;
}

// Row types are made once: a zod schema costs more to build than to check a row with.
const streamInfoRow = z.object({ version: z.bigint(), created_at: z.number(), updated_at: z.number() });
const streamPageRow = pageRow.extend({ stream_version: z.bigint() });

/** One stream's version and times; no row when it has no events. */
export function streamInfoQuery(streamId: string) {
  return sql.type(streamInfoRow)`
    select version, created_at, updated_at from streams where stream_id = ${streamId} and version > 0`;
}

/**
 * A page of one stream from a version (0: its start, or its end backwards), with the stream's
 * version: one statement, so both come from one snapshot.
 */
export function streamPageQuery(streamId: string, fromVersion: bigint, backwards: boolean, limit: number, maxBytes: number) {
  const page = !backwards
    ? sql.fragment`version >= ${fromVersion === 0n ? 1n : fromVersion} order by version limit ${limit}`
    : fromVersion === 0n
      ? sql.fragment`true order by version desc limit ${limit}`
      : sql.fragment`version <= ${fromVersion} order by version desc limit ${limit}`;
  const source = sql.fragment`
    select *, (select version from streams where stream_id = ${streamId}) as stream_version
      from events where stream_id = ${streamId} and ${page}`;
  const columns = sql.fragment`${eventColumns}, stream_version`;
  const order = backwards ? sql.fragment`version desc` : sql.fragment`version`;
  return sql.type(streamPageRow)`${withinBytes(columns, source, order, maxBytes)}`;
}

/** Events of one stream from an inclusive version, in version order. */
export function streamEventsQuery(streamId: string, fromVersion: bigint, limit: number, maxBytes: number): QuerySqlToken<typeof pageRow> {
  const source = sql.fragment`
    select * from events where stream_id = ${streamId} and version >= ${fromVersion}
     order by version limit ${limit}`;
  return sql.type(pageRow)`${withinBytes(eventColumns, source, sql.fragment`version`, maxBytes)}`;
}

/** The position of the `window`-th event from an inclusive position on: the end of a filtered read's scan. */
export function scanEndQuery(from: bigint, window: number): QuerySqlToken<typeof positionRow> {
  return sql.type(positionRow)`select position from events where position >= ${from} order by position offset ${window - 1} limit 1`;
}

/** Events in log order from an inclusive position, up to an inclusive scan end, matching a filter. */
export function logPageQuery(
  from: bigint,
  scanEnd: bigint | null,
  filter: EventFilter,
  limit: number,
  maxBytes: number,
): QuerySqlToken<typeof pageRow> {
  const withinScan = scanEnd === null ? sql.fragment`` : sql.fragment`and position <= ${scanEnd}`;
  const source = sql.fragment`
    select * from events where position >= ${from} ${withinScan} and ${matches(filter)}
     order by position limit ${limit}`;
  return sql.type(pageRow)`${withinBytes(eventColumns, source, sql.fragment`position`, maxBytes)}`;
}

/** The last position handed out: every event up to it is committed (0: the log is empty). */
export const logEndQuery = sql.type(z.object({ last: z.bigint() }))`select last from log_head`;

/** One event by id. */
export function eventQuery(eventId: string): QuerySqlToken<typeof eventRow> {
  return sql.type(eventRow)`select ${eventColumns} from events where event_id = ${eventId}::uuid`;
}
