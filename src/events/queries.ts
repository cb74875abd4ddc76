import { sql } from 'slonik';
import type { FragmentSqlToken, QuerySqlToken } from 'slonik';
import { z } from 'zod';
import type { CheckedEvent } from './validation.js';
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
  commit: z.string(),
  position: z.bigint(),
  created_at: z.number(),
});

/** The columns matching eventRow. */
export const eventColumns = sql.fragment`
  event_id::text, stream_id, version, type, data, metadata, correlation_id, causation_id,
  transaction_id::text as commit, position, created_at`;

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
    position: { commit: BigInt(row.commit), prepare: row.position },
    createdAt: row.created_at,
  };
}

/** The result row of append_to_stream(). */
export const appendRow = z.object({
  outcome: z.enum(['appended', 'duplicate', 'wrong_expected_version']),
  stream_version: z.bigint(),
  first_commit: z.string().nullable(),
  first_prepare: z.bigint().nullable(),
  last_commit: z.string().nullable(),
  last_prepare: z.bigint().nullable(),
});

/** The oldest transaction still running: every event written by an older one is final. */
export const horizonRow = z.object({ horizon: z.string() });
export const horizonQuery = sql.type(horizonRow)`select pg_snapshot_xmin(pg_current_snapshot())::text as horizon`;

/** A position and nothing else. */
export const positionRow = z.object({ commit: z.string(), position: z.bigint() });

/** Rows at or after `from` whose transaction finished before `horizon`. */
export function settledFrom(from: Position, horizon: string): FragmentSqlToken {
  return sql.fragment`(transaction_id, position) >= (${from.commit.toString()}::xid8, ${from.prepare})
    and transaction_id < ${horizon}::xid8`;
}

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
 * Settled events about one person (metadata.user_id) created in [from, to) (epoch ms; null is
 * open), after an exclusive position, in log order. Written so that the partial index
 * events_user_order serves both the match and the order.
 */
export function aboutPersonQuery(
  userId: string, from: number | null, to: number | null, after: Position, limit: number,
): QuerySqlToken<typeof eventRow> {
  const since = from === null ? sql.fragment`` : sql.fragment`and created_at >= ${new Date(from).toISOString()}::timestamptz`;
  const until = to === null ? sql.fragment`` : sql.fragment`and created_at < ${new Date(to).toISOString()}::timestamptz`;
  return sql.type(eventRow)`
    select ${eventColumns} from events
     where metadata ? 'user_id' and metadata->>'user_id' = ${userId}
       and (transaction_id, position) > (${after.commit.toString()}::xid8, ${after.prepare})
       and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ${since} ${until}
     order by transaction_id, position limit ${limit}`;
}

/** One stream's version and times; no row when it has no events. */
export function streamInfoQuery(streamId: string) {
  return sql.type(z.object({ version: z.bigint(), created_at: z.number(), updated_at: z.number() }))`
    select version, created_at, updated_at from streams where stream_id = ${streamId} and version > 0`;
}

/** The whole write path: append_to_stream() checks the expected version and writes the events (sql/). */
export function appendQuery(streamId: string, expected: ExpectedVersion, events: CheckedEvent[]): QuerySqlToken<typeof appendRow> {
  const version = expected.kind === 'exact' ? expected.version : 0n;
  return sql.type(appendRow)`
    select * from append_to_stream(${streamId}, ${expected.kind}, ${version}, ${JSON.stringify(events)}::jsonb)`;
}

/**
 * A page of one stream from a version (0: its start, or its end backwards), with the stream's
 * version: one statement, so both come from one snapshot.
 */
export function streamPageQuery(streamId: string, fromVersion: bigint, backwards: boolean, limit: number) {
  const page = !backwards
    ? sql.fragment`version >= ${fromVersion === 0n ? 1n : fromVersion} order by version limit ${limit}`
    : fromVersion === 0n
      ? sql.fragment`true order by version desc limit ${limit}`
      : sql.fragment`version <= ${fromVersion} order by version desc limit ${limit}`;
  return sql.type(eventRow.extend({ stream_version: z.bigint() }))`
    select ${eventColumns}, (select version from streams where stream_id = ${streamId}) as stream_version
      from events where stream_id = ${streamId} and ${page}`;
}

/** Events of one stream from an inclusive version, in version order. */
export function streamEventsQuery(streamId: string, fromVersion: bigint, limit: number): QuerySqlToken<typeof eventRow> {
  return sql.type(eventRow)`
    select ${eventColumns} from events where stream_id = ${streamId} and version >= ${fromVersion}
     order by version limit ${limit}`;
}

/** The position of the `window`-th settled event from `settled` on: the end of a filtered read's scan. */
export function scanEndQuery(settled: FragmentSqlToken, window: number): QuerySqlToken<typeof positionRow> {
  return sql.type(positionRow)`
    select transaction_id::text as commit, position from events where ${settled}
     order by transaction_id, position offset ${window - 1} limit 1`;
}

/** Settled events in log order, up to an inclusive scan end, matching a filter. */
export function logPageQuery(settled: FragmentSqlToken, scanEnd: z.infer<typeof positionRow> | null, filter: EventFilter, limit: number) {
  const withinScan = scanEnd
    ? sql.fragment`and (transaction_id, position) <= (${scanEnd.commit}::xid8, ${scanEnd.position})`
    : sql.fragment``;
  return sql.type(eventRow)`
    select ${eventColumns} from events where ${settled} ${withinScan} and ${matches(filter)}
     order by transaction_id, position limit ${limit}`;
}

/** The last settled event's position within `settled`. */
export function lastSettledQuery(settled: FragmentSqlToken): QuerySqlToken<typeof positionRow> {
  return sql.type(positionRow)`
    select transaction_id::text as commit, position from events where ${settled}
     order by transaction_id desc, position desc limit 1`;
}

/** Whether committed events wait at or beyond the horizon (not settled yet). */
export function pendingQuery(horizon: string) {
  return sql.type(z.object({ exists: z.boolean() }))`select 1 from events where transaction_id >= ${horizon}::xid8`;
}

/** The last event whose transaction is older than every one still running. */
export const settledEndQuery = sql.type(positionRow)`
  select transaction_id::text as commit, position from events
   where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
   order by transaction_id desc, position desc limit 1`;

/** One event by id. */
export function eventQuery(eventId: string): QuerySqlToken<typeof eventRow> {
  return sql.type(eventRow)`select ${eventColumns} from events where event_id = ${eventId}::uuid`;
}
