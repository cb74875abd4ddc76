// Where PostgreSQL's time goes when a batch of imported memories is written: the same memories
// (imported for real into a scratch database, their events read back) sent on one connection
// to the service's write path append_batch() and to the importer's append_imported_memories(),
// each case in a transaction rolled back. CPU of the backend from /proc, the least of `REPEAT`
// tries.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { connectDatabase } from '../../src/db/pool.js';
import { chainPads } from '../../src/events/chain.js';
import { importLegacyFiles } from '../../src/importer/importer.js';
import { createLogger } from '../../src/log.js';
import { databaseUrl } from '../databases.js';

const REPEAT = 7;
const SCRATCH = 'auren_import_bench_scratch';
const PADS = chainPads(Buffer.alloc(32, 1));

/** One batch of memories as each write path takes it (JSON text). */
export interface ImportBatch {
  size: number;
  /** For append_batch(): one append per memory, expected version 0 (as StoreMemory sends it). */
  appendBatch: string;
  /** For append_imported_memories(): {event_id, data, metadata} per memory. */
  bulk: string;
}

/** The memories of the files of `dir`, imported into a scratch database and read back as both write paths take them. */
export async function importBatch(adminUrl: string, dir: string): Promise<ImportBatch> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const url = databaseUrl(adminUrl, SCRATCH);
  try {
    await admin.query(`drop database if exists ${SCRATCH} with (force)`);
    await admin.query(`create database ${SCRATCH}`);
    const log = createLogger('silent');
    await migrate(url, log);
    const pool = await connectDatabase({ url, maximumPoolSize: 2 }, 10_000, log);
    try {
      await importLegacyFiles(
        { dir, recursive: true, dryRun: false, agentId: null, userId: null, batchSize: 1000, batchesInFlight: 1, streamAbove: 1 << 30 },
        {
          memories: { pool, chain: PADS, eventMaxBytes: 1 << 20 },
          limits: { contentMaxBytes: 65_536, queryMaxBytes: 4096, readPageSize: 100, responseMaxBytes: 3_145_728 },
        },
      );
    } finally {
      await pool.end();
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client
      .query<{
        event_id: string;
        stream_id: string;
        data: object;
        metadata: object;
      }>(`select event_id::text, stream_id, data, metadata from events where type = 'memory_created' order by position`)
      .finally(() => client.end());
    return {
      size: rows.length,
      appendBatch: JSON.stringify(
        rows.map((r) => ({
          stream_id: r.stream_id,
          expected: 'exact',
          expected_version: '0',
          events: [
            { event_id: r.event_id, type: 'memory_created', data: r.data, metadata: r.metadata, correlation_id: null, causation_id: null },
          ],
        })),
      ),
      bulk: JSON.stringify(rows.map((r) => ({ event_id: r.event_id, data: r.data, metadata: r.metadata }))),
    };
  } finally {
    await admin.query(`drop database if exists ${SCRATCH} with (force)`);
    await admin.end();
  }
}

/** A case: what is taken away first (statements in its transaction), then the statements measured, one after another. */
interface Case {
  name: string;
  setup: string[];
  measured: string[];
}

const APPEND_BATCH = 'select count(*) from append_batch($1::jsonb, $2, $3)';
const IMPORTED = 'select count(*) from append_imported_memories($1::jsonb, $2, $3)';
// The two halves of append_imported_memories(), as it runs them (kept in step with
// sql/functions/append_imported_memories.sql by hand): what it does before it takes the log's
// counter (the JSON parsed, the memories rows and streams written, the events' columns taken
// out), and what it does holding it (the events inserted). The events' columns wait in a
// temporary table here, where the function holds them in arrays.
const BEFORE_COUNTER = `
  with written as (
    insert into memories (id, agent_id, user_id, type, content, metadata, confidence, created_at, updated_at, expires_at, version, last_event_id)
    select (e.data->>'memory_id')::uuid, e.data->>'agent_id', e.data->>'user_id', e.data->>'type', e.data->'content',
           e.data->'metadata', (e.data->>'confidence')::double precision, coalesce((e.data->>'created_at')::timestamptz, now()), now(),
           (e.data->>'expires_at')::timestamptz, 1, (e.event_id)::uuid
      from jsonb_to_recordset($1::jsonb) as e(event_id text, data jsonb) order by 1
        on conflict (id) do nothing returning id)
  insert into streams (stream_id, version) select 'memory-' || id, 1 from written
   where $2::bytea is not null and $3::bytea is not null`;
// The events hashed in their insert, as the function hashes them (no key set: no hash, and the
// trigger event_chain finds no key either). The key's pads and the first position are read once.
const UNDER_COUNTER = [
  'update log_head set last = last + (select count(*) from import_events) where id',
  // Scalar subqueries: joined, log_head (never analyzed) is taken for 1,100 rows, and the
  // insert for millions, which the planner compiles (JIT).
  `insert into events (position, event_id, stream_id, version, type, data, metadata, correlation_id, causation_id, created_at, hash)
   select b.base + k, event_id, stream_id, 1, 'memory_created', data, metadata, null, null, now(),
          case when b.inner_pad is not null then
            event_hash(null, b.inner_pad, b.outer_pad, event_id, stream_id, 1, 'memory_created', data, metadata, null, null, b.base + k, now())
          end
     from import_events,
          (select (select last from log_head) - (select count(*) from import_events) as base,
                  decode(nullif(current_setting('auren.chain_inner', true), ''), 'hex') as inner_pad,
                  decode(nullif(current_setting('auren.chain_outer', true), ''), 'hex') as outer_pad) b
    order by k`,
];
// As the function inserted its events before issue 15's third round: without a hash, which the
// trigger event_chain computed row by row.
const UNDER_COUNTER_BY_TRIGGER = [
  UNDER_COUNTER[0]!,
  `insert into events (position, event_id, stream_id, version, type, data, metadata, correlation_id, causation_id)
   select (select last from log_head) - (select count(*) from import_events) + k, event_id, stream_id, 1, 'memory_created',
          data, metadata, null, null
     from import_events order by k`,
];
const SET_UP_HALVES = [
  `select set_config('auren.memory_rows', 'written', true), set_config('auren.chain_inner', encode($2, 'hex'), true),
          set_config('auren.chain_outer', encode($3, 'hex'), true) where $1::text is not null`,
  `create temporary table import_events on commit drop as
   select x.o as k, (x.e->>'event_id')::uuid as event_id, 'memory-' || (x.e->'data'->>'memory_id') as stream_id,
          x.e->'data' as data, x.e->'metadata' as metadata
     from jsonb_array_elements($1::jsonb) with ordinality as x(e, o) where $2::bytea is not null and $3::bytea is not null`,
  // Without its statistics the planner takes it for 15,000 rows and compiles the insert (JIT).
  'analyze import_events',
];
const WITHOUT_CHAIN = [
  `select set_config('auren.memory_rows', 'written', true) where $1::text is not null and $2::bytea is not null and $3::bytea is not null`,
  SET_UP_HALVES[1]!,
];

/** The case whose work is serialized by the log's counter. */
export const SERIAL_CASE = '… its events, holding the counter';

/** What is measured. */
export const BREAKDOWN_CASES: Case[] = [
  { name: 'append_batch() (the service’s path; holds the counter throughout)', setup: [], measured: [APPEND_BATCH] },
  {
    name: 'append_batch() without the memories trigger (events only)',
    setup: ['alter table events disable trigger memories_from_events'],
    measured: [APPEND_BATCH],
  },
  { name: 'append_imported_memories() (the importer’s path)', setup: [], measured: [IMPORTED] },
  { name: '… its memories rows and streams, before the counter', setup: SET_UP_HALVES.slice(0, 1), measured: [BEFORE_COUNTER] },
  { name: SERIAL_CASE, setup: SET_UP_HALVES, measured: UNDER_COUNTER },
  {
    name: '… its events, hashed by the trigger event_chain row by row (as before)',
    setup: SET_UP_HALVES,
    measured: UNDER_COUNTER_BY_TRIGGER,
  },
  {
    name: '… its events, without events_user_order and events_type_position',
    setup: [...SET_UP_HALVES, 'drop index events_user_order, events_type_position'],
    measured: UNDER_COUNTER,
  },
  { name: '… its events, without the hash chain (no key)', setup: WITHOUT_CHAIN, measured: UNDER_COUNTER },
  {
    name: '… its memories rows, without the search column (tsvector, GIN)',
    setup: [SET_UP_HALVES[0]!, 'alter table memories drop column search'],
    measured: [BEFORE_COUNTER],
  },
];

/** PostgreSQL CPU milliseconds of each case on the batch. */
export async function measureBreakdown(url: string, batch: ImportBatch): Promise<{ name: string; cpuMs: number }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const cpuMs = () => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    };
    const params = (statement: string) => [statement === APPEND_BATCH ? batch.appendBatch : batch.bulk, PADS.inner, PADS.outer];
    const results: { name: string; cpuMs: number }[] = [];
    for (const { name, setup, measured } of BREAKDOWN_CASES) {
      let least = Number.POSITIVE_INFINITY;
      for (let i = 0; i < REPEAT; i++) {
        await client.query('begin');
        for (const statement of setup) await client.query(statement, statement.includes('$1') ? params(statement) : []);
        const before = cpuMs();
        for (const statement of measured) await client.query(statement, statement.includes('$1') ? params(statement) : []);
        least = Math.min(least, cpuMs() - before);
        await client.query('rollback');
      }
      results.push({ name, cpuMs: least });
    }
    return results;
  } finally {
    await client.end();
  }
}
