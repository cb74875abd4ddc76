import { sql } from 'slonik';
import type { FragmentSqlToken, QuerySqlToken } from 'slonik';
import { z } from 'zod';
import type { EventFilter, JsonObject, Position, RecordedEvent } from './types.js';

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
