import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';

/**
 * The pads of the log's hash-chain key (HMAC-SHA256: the key, zero-padded to 64 bytes, xor
 * 0x36 and 0x5c). append_batch hands them to the trigger event_chain (sql/functions/), which
 * hashes each event over its stream's previous hash and its fields; verification recomputes
 * the same in SQL.
 */
export interface ChainPads {
  inner: Buffer;
  outer: Buffer;
}

/** The pads of a key of at most 64 bytes. */
export function chainPads(key: Buffer): ChainPads {
  if (key.length > 64) throw new Error('a hash-chain key has at most 64 bytes');
  const padded = Buffer.concat([key, Buffer.alloc(64 - key.length)]);
  return { inner: padded.map((b) => b ^ 0x36) as Buffer, outer: padded.map((b) => b ^ 0x5c) as Buffer };
}

/** One thing wrong with the log. */
export interface ChainProblem {
  kind: 'altered' | 'removed' | 'inserted' | 'unhashed';
  streamId: string | null;
  version: bigint | null;
  position: bigint | null;
  detail: string;
}

/** What verification found. */
export interface ChainReport {
  /** Events whose hashes were checked. */
  checked: bigint;
  problems: ChainProblem[];
}

const problemRow = z.object({
  kind: z.enum(['altered', 'removed', 'inserted', 'unhashed']),
  stream_id: z.string().nullable(),
  version: z.bigint().nullable(),
  position: z.bigint().nullable(),
  detail: z.string(),
});

/**
 * Recomputes every chain (or one stream's) and reports each event that does not fit: its hash
 * is not that of its content after its predecessor (altered, or inserted with a made-up hash),
 * it has no hash (inserted without the service's key), a version or a position is missing
 * before it (removed), or its stream says it has more versions than are there (the last removed).
 */
export async function verifyChains(pool: DatabasePool, pads: ChainPads, streamId: string | null, limit = 1000): Promise<ChainReport> {
  const inner = sql.binary(pads.inner);
  const outer = sql.binary(pads.outer);
  const oneStream = streamId === null ? sql.fragment`true` : sql.fragment`stream_id = ${streamId}`;
  const problems = await pool.any(sql.type(problemRow)`
    with chained as (
      select e.*, lag(e.hash) over w as prev_hash, lag(e.version) over w as prev_version
        from events e where ${oneStream}
      window w as (partition by e.stream_id order by e.version)
    ), start as (select after from event_chain_start)
    select 'unhashed' as kind, stream_id, version, position, 'has no hash: written without the service''s key' as detail
      from chained, start where position > start.after and hash is null
    union all
    select 'altered', stream_id, version, position, 'its hash does not match its content and its predecessor'
      from chained, start
     where position > start.after and hash is not null
       and hash <> event_hash(prev_hash, ${inner}, ${outer}, event_id, stream_id, version, type, data, metadata,
                              correlation_id, causation_id, position, created_at)
    union all
    select 'removed', stream_id, version, position,
           'versions ' || (coalesce(prev_version, 0) + 1) || ' to ' || (version - 1) || ' of its stream are missing before it'
      from chained where version <> coalesce(prev_version, 0) + 1 and version > coalesce(prev_version, 0) + 1
    union all
    select 'inserted', stream_id, version, position, 'its version repeats or precedes the one before it'
      from chained where version <= coalesce(prev_version, 0)
    union all
    select 'removed', s.stream_id, s.version, null, 'the stream is at version ' || s.version || ' but its last event is version '
           || coalesce(max(e.version), 0)
      from streams s left join events e on e.stream_id = s.stream_id
     where ${streamId === null ? sql.fragment`true` : sql.fragment`s.stream_id = ${streamId}`}
     group by s.stream_id, s.version having s.version <> coalesce(max(e.version), 0)
    ${
      streamId === null
        ? sql.fragment`
    union all
    select 'removed', null, null, position, 'positions ' || (prev + 1) || ' to ' || (position - 1) || ' are missing before it'
      from (select position, lag(position, 1, 0::bigint) over (order by position) as prev from events) p
     where position > prev + 1
    union all
    select 'removed', null, null, null, 'the log handed out positions up to ' || h.last || ' but its last event is at ' || coalesce(max(e.position), 0)
      from log_head h left join events e on true group by h.last having h.last <> coalesce(max(e.position), 0)`
        : sql.fragment``
    }
    order by position nulls last, stream_id
    limit ${limit}`);
  const { count } = await pool.one(sql.type(z.object({ count: z.bigint() }))`
    select count(*) as count from events, event_chain_start s where position > s.after and ${oneStream}`);
  return {
    checked: count,
    problems: problems.map((p) => ({ kind: p.kind, streamId: p.stream_id, version: p.version, position: p.position, detail: p.detail })),
  };
}
