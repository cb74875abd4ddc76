import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import type { ChainPads } from './chain.js';

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
  /** Events whose hash verified, by the id of the secret whose chain key made it. */
  bySecret: Map<string, bigint>;
  /** The first `maxProblems` problems found, in log order. */
  problems: ChainProblem[];
  /** Every problem found, kept or not. */
  problemCount: number;
}

/** Where verification has got to, after each page. */
export interface ChainProgress {
  /** Events read so far (every event of the log, or of the stream). */
  read: bigint;
  /** The last position (or, for one stream, version) read, and the last there is. */
  at: bigint;
  end: bigint;
}

/** A chain key that may have hashed events: the current secret's first, then the previous ones'. */
export interface ChainKey {
  secretId: string;
  pads: ChainPads;
}

/** How verification runs. */
export interface VerifyOptions {
  /** One stream only; null: the whole log. */
  streamId: string | null;
  /** Events (and streams) read per statement: what bounds the memory it takes. */
  pageSize?: number;
  /** Problems kept for the report; more are counted only. */
  maxProblems?: number;
  onProgress?: (progress: ChainProgress) => void;
}

const eventRow = z.object({
  position: z.bigint(),
  stream_id: z.string(),
  version: z.bigint(),
  // Events before hashing began (event_chain_start) are not checked.
  checked: z.boolean(),
  unhashed: z.boolean(),
  // The index (1-based) of the first chain key under which the hash fits; null: none does.
  key_index: z.number().nullable(),
  // When its stream's previous version is missing: the last version before it that is there.
  before_gap: z.bigint().nullable(),
  // Another event of the stream with the same version, earlier in the log.
  repeated: z.boolean(),
});

const streamRow = z.object({ stream_id: z.string(), version: z.bigint(), last: z.bigint() });

/**
 * Recomputes the log's hash chains (or one stream's) page by page, in log order, with bounded
 * memory, and reports each event that does not fit: its hash is that of its content after its
 * predecessor under none of the chain keys (altered, or inserted with a made-up hash), it has no
 * hash (inserted without the service's key), a version or a position is missing before it
 * (removed), its version repeats (inserted), or its stream says it has more versions than are
 * there (the last removed). The keys are the current secret's and the previous ones' (AUREN_PREVIOUS_SECRETS):
 * events hashed before a rotation still verify.
 */
export async function verifyChains(pool: DatabasePool, keys: readonly ChainKey[], options: VerifyOptions): Promise<ChainReport> {
  const { streamId, pageSize = 10_000, maxProblems = 1000, onProgress } = options;
  const inner = sql.array(
    keys.map((k) => k.pads.inner.toString('hex')),
    'text',
  );
  const outer = sql.array(
    keys.map((k) => k.pads.outer.toString('hex')),
    'text',
  );
  const report: ChainReport = { checked: 0n, bySecret: new Map(), problems: [], problemCount: 0 };
  const found = (problem: ChainProblem) => {
    report.problemCount++;
    if (report.problems.length < maxProblems) report.problems.push(problem);
  };

  const { start } = await pool.one(sql.type(z.object({ start: z.bigint() }))`select after as start from event_chain_start`);
  const end =
    streamId === null
      ? (await pool.one(sql.type(z.object({ last: z.bigint() }))`select last from log_head`)).last
      : ((await pool.maybeOne(sql.type(z.object({ version: z.bigint() }))`select version from streams where stream_id = ${streamId}`))
          ?.version ?? 0n);

  // Keyset pages: by position over the log, by version over one stream.
  let after = 0n;
  let read = 0n;
  for (;;) {
    const where =
      streamId === null
        ? sql.fragment`e.position > ${after} order by e.position`
        : sql.fragment`e.stream_id = ${streamId} and e.version > ${after} order by e.version`;
    const rows = await pool.any(sql.type(eventRow)`
      with chain_keys as (
        select decode(i, 'hex') as i, decode(o, 'hex') as o, n from unnest(${inner}::text[], ${outer}::text[]) with ordinality as k(i, o, n)
      )
      select e.position, e.stream_id, e.version, e.position > ${start} as checked, e.hash is null as unhashed,
             case when e.hash is not null and e.position > ${start} then (
               select k.n::int from chain_keys k
                where e.hash = event_hash(p.hash, k.i, k.o, e.event_id, e.stream_id, e.version, e.type, e.data, e.metadata,
                                          e.correlation_id, e.causation_id, e.position, e.created_at)
                order by k.n limit 1)
             end as key_index,
             case when e.version > 1 and p.found is null then (
               select coalesce(max(b.version), 0) from events b where b.stream_id = e.stream_id and b.version < e.version)
             end as before_gap,
             exists (select 1 from events d where d.stream_id = e.stream_id and d.version = e.version and d.position < e.position)
               as repeated
        from events e
        left join lateral (
          select true as found, p.hash from events p where p.stream_id = e.stream_id and p.version = e.version - 1
           order by p.position limit 1
        ) p on true
       where ${where}
       limit ${pageSize}`);
    for (const row of rows) {
      const at = { streamId: row.stream_id, version: row.version, position: row.position };
      if (streamId === null && row.position !== after + 1n) {
        found({
          kind: 'removed',
          streamId: null,
          version: null,
          position: row.position,
          detail: `positions ${after + 1n} to ${row.position - 1n} are missing before it`,
        });
      }
      if (row.repeated) found({ kind: 'inserted', ...at, detail: 'its version repeats or precedes the one before it' });
      else if (row.before_gap !== null)
        found({
          kind: 'removed',
          ...at,
          detail: `versions ${row.before_gap + 1n} to ${row.version - 1n} of its stream are missing before it`,
        });
      if (row.checked) {
        report.checked++;
        if (row.unhashed) found({ kind: 'unhashed', ...at, detail: "has no hash: written without the service's key" });
        else if (row.key_index === null)
          found({ kind: 'altered', ...at, detail: 'its hash does not match its content and its predecessor' });
        else {
          const secretId = keys[row.key_index - 1]!.secretId;
          report.bySecret.set(secretId, (report.bySecret.get(secretId) ?? 0n) + 1n);
        }
      }
      after = streamId === null ? row.position : row.version;
    }
    read += BigInt(rows.length);
    onProgress?.({ read, at: after, end });
    if (rows.length < pageSize) break;
  }

  // The tail of the log, or of a stream, removed: nothing after it says so but the head.
  if (streamId === null && after !== end)
    found({
      kind: 'removed',
      streamId: null,
      version: null,
      position: null,
      detail: `the log handed out positions up to ${end} but its last event is at ${after}`,
    });
  let stream = '';
  for (;;) {
    const rows = await pool.any(sql.type(streamRow)`
      select s.stream_id, s.version, (select coalesce(max(e.version), 0) from events e where e.stream_id = s.stream_id) as last
        from streams s
       where ${streamId === null ? sql.fragment`s.stream_id > ${stream}` : sql.fragment`s.stream_id = ${streamId}`}
       order by s.stream_id limit ${pageSize}`);
    for (const row of rows) {
      if (row.version !== row.last)
        found({
          kind: 'removed',
          streamId: row.stream_id,
          version: row.version,
          position: null,
          detail: `the stream is at version ${row.version} but its last event is version ${row.last}`,
        });
      stream = row.stream_id;
    }
    if (rows.length < pageSize || streamId !== null) break;
  }
  return report;
}
