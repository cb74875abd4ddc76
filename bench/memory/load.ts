import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { databaseUrl } from '../databases.js';
import { serverArgs } from '../server.js';
import { AGENTS_PER_USER, EXPIRING_SHARE, HISTORY_DAYS, MEMORY_DATABASE } from './config.js';
import type { MemoryConfig } from './config.js';
import { WORDS } from './words.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOAD_CONNECTIONS = 2;
/** Memory for the index builds of the load session (the server's settings are not changed). */
const BUILD_MEMORY = '512MB';

/** One timed step of the load. */
export interface LoadStep {
  name: string;
  seconds: number;
}

/** What the bulk load did. */
export interface MemoryLoadResult {
  memories: number;
  /** Memories with an expiry (in the future). */
  expiring: number;
  seconds: number;
  steps: LoadStep[];
  /** Table sizes with their indexes and TOAST, bytes. */
  bytes: { memories: number; events: number; streams: number };
}

/** Drops and creates the memory bench database and applies the schema with `auren db migrate`. */
export async function createMemoryDatabase(adminUrl: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${MEMORY_DATABASE} with (force)`);
    await admin.query(`create database ${MEMORY_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(adminUrl, MEMORY_DATABASE);
  await promisify(execFile)(process.execPath, [...serverArgs(), 'db', 'migrate'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' },
  });
  return url;
}

// One slice of the memories: every random choice is made once per row in `r` (OFFSET 0 keeps the
// planner from folding it into the outer query, which would draw them again per use).
//  - person: uniform over the users; agent: one of the AGENTS_PER_USER agents that advise that
//    person (agent_id and user_id correlated, as the statistics of sql/003_memories.sql expect);
//  - text: 6–20 words drawn from WORDS with a skew (index = n·u^1.5: the first words are common,
//    about 1 in 4 memories has the most common one; the median word is in about 2%);
//  - type uniform over the 7 types, confidence uniform in [0, 1], created_at uniform over the
//    last HISTORY_DAYS days, EXPIRING_SHARE with an expiry 1–181 days ahead.
const INSERT_MEMORIES = `
  insert into memories (id, agent_id, user_id, type, content, metadata, confidence,
                        created_at, updated_at, expires_at, version, last_event_id)
  select r.id, 'agent-' || lpad(((r.u * 37 + r.k * 11) % $4)::text, 3, '0'), 'user_' || r.u, r.type,
         jsonb_build_object('text', t.text, 'channel', r.channel),
         jsonb_build_object('source', 'bench-load', 'session', 'session-' || (r.g / 7)),
         r.confidence, r.created_at, r.created_at, r.expires_at, 1, r.event_id
    from (select g, gen_random_uuid() as id, gen_random_uuid() as event_id,
                 floor(random() * $3)::int as u,
                 floor(random() * ${AGENTS_PER_USER})::int as k,
                 (array['fact', 'analysis', 'recommendation', 'hypothesis', 'insight', 'conversation', 'decision'])[1 + floor(random() * 7)::int] as type,
                 (array['chat', 'email', 'call', 'note', 'crm'])[1 + floor(random() * 5)::int] as channel,
                 random() as confidence,
                 now() - random() * interval '${HISTORY_DAYS} days' as created_at,
                 -- In milliseconds, as an expiry travels in event data (ISO 8601).
                 case when random() < ${EXPIRING_SHARE} then date_trunc('milliseconds', now() + interval '1 day' + random() * interval '180 days') end as expires_at,
                 6 + floor(random() * 15)::int as words
            from generate_series($1::int, $2::int) g
          offset 0) r
   cross join lateral (
     select string_agg(($5::text[])[1 + floor(power(random(), 1.5) * cardinality($5::text[]))::int], ' ') as text
       from generate_series(1, r.words) w) t`;

// The memory_created event of each memory, as StoreMemory appends it (src/memory/changes.ts):
// event id = last_event_id, stream memory-<id> at version 1, metadata {user_id, caller}; its
// position $3 + its rank by creation time in [$1, $2) (the caller reserves the positions in
// log_head first, so they follow created_at with no gap).
const INSERT_EVENTS = `
  insert into events (position, event_id, stream_id, version, type, data, metadata, created_at)
  select $3::bigint + row_number() over (order by m.created_at, m.id), m.last_event_id, 'memory-' || m.id, 1, 'memory_created',
         jsonb_build_object('memory_id', m.id::text, 'agent_id', m.agent_id, 'user_id', m.user_id, 'type', m.type,
                            'content', m.content, 'metadata', m.metadata, 'confidence', m.confidence,
                            'expires_at', to_char(m.expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
         jsonb_build_object('user_id', m.user_id, 'caller', m.agent_id),
         m.created_at
    from memories m
   where m.created_at >= $1::timestamptz and m.created_at < $2::timestamptz
   order by m.created_at, m.id`;

// Positions 1..n for the loaded events: the counter append_batch() takes them from.
const RESERVE_POSITIONS = `update log_head set last = last + $1 where id returning (last - $1)::text as base`;

// The trigger that builds a memory row from its memory_created event (sql/functions/
// apply_memory_event.sql): off for the load, which writes the rows itself, set-wise.
const MEMORY_TRIGGER = 'memories_from_events';

const INSERT_STREAMS = `
  insert into streams (stream_id, version, created_at, updated_at)
  select 'memory-' || id, 1, created_at, created_at from memories`;

// Every index of the three tables, with the primary key or unique constraint it backs: dropped
// for the load and built again from the same definitions afterwards, sorted in one pass each,
// which is several times faster than maintaining them row by row (the random UUID keys touch a
// random page per row, and each page again after every checkpoint).
const INDEXES = `
  select c.relname as table, ic.relname as name, pg_get_indexdef(i.indexrelid) as definition, am.amname as method,
         k.conname as constraint, k.contype as kind, pg_get_constraintdef(k.oid) as constraint_definition
    from pg_index i
    join pg_class c on c.oid = i.indrelid
    join pg_class ic on ic.oid = i.indexrelid
    join pg_am am on am.oid = ic.relam
    left join pg_constraint k on k.conindid = i.indexrelid and k.conrelid = i.indrelid and k.contype in ('p', 'u')
   where c.relnamespace = 'public'::regnamespace and c.relname in ('memories', 'events', 'streams')
   order by c.relname, ic.relname`;

interface IndexDef {
  table: string;
  name: string;
  definition: string;
  method: string;
  constraint: string | null;
  kind: 'p' | 'u' | null;
  constraint_definition: string | null;
}

async function dropIndexes(pool: pg.Pool, indexes: IndexDef[]): Promise<void> {
  for (const index of indexes) {
    await pool.query(index.constraint ? `alter table ${index.table} drop constraint ${index.constraint}` : `drop index ${index.name}`);
  }
}

// One queue over the connections, GIN first (the longest build); CREATE INDEX takes a lock that
// lets other builds on the same table run. Constraints are attached to their index at the end.
async function buildIndexes(pool: pg.Pool, indexes: IndexDef[]): Promise<void> {
  const queue = [...indexes].sort(
    (a, b) => Number(b.method === 'gin') - Number(a.method === 'gin') || Number(b.table === 'memories') - Number(a.table === 'memories'),
  );
  await Promise.all(
    Array.from({ length: LOAD_CONNECTIONS }, async () => {
      for (let index = queue.shift(); index; index = queue.shift()) await pool.query(index.definition);
    }),
  );
  for (const index of indexes) {
    if (!index.constraint) continue;
    await pool.query(
      `alter table ${index.table} add constraint ${index.constraint} ${index.kind === 'p' ? 'primary key' : 'unique'} using index ${index.name}`,
    );
  }
}

/**
 * Loads `config.memories` memories and their memory_created events straight into the database
 * with a few INSERT … SELECT … FROM generate_series statements on two connections, then VACUUM
 * ANALYZE. The trigger that would write each memory row from its event is disabled for the load
 * (set-wise inserts are several times faster than a trigger call per event) and enabled again
 * at the end, failure or not. Checks afterwards that every memory has exactly its event and
 * stream, as the trigger would have written it, and that log_head is at the last position.
 */
export async function loadMemories(url: string, config: MemoryConfig, log: (line: string) => void): Promise<MemoryLoadResult> {
  const pool = new pg.Pool({
    connectionString: url,
    max: LOAD_CONNECTIONS,
    options: `-c maintenance_work_mem=${BUILD_MEMORY} -c work_mem=256MB -c synchronous_commit=off`,
  });
  const steps: LoadStep[] = [];
  const started = performance.now();
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await work();
    const seconds = (performance.now() - t0) / 1000;
    steps.push({ name, seconds });
    log(`  ${name}: ${seconds.toFixed(1)} s`);
    return result;
  };
  let triggerOff = false;
  try {
    await pool.query(`alter table events disable trigger ${MEMORY_TRIGGER}`);
    triggerOff = true;
    const indexes = (await pool.query<IndexDef>(INDEXES)).rows;
    await step(`drop ${indexes.length} indexes`, () => dropIndexes(pool, indexes));

    const n = config.memories;
    const half = Math.ceil(n / LOAD_CONNECTIONS);
    await step('insert memories', () =>
      Promise.all(
        Array.from({ length: LOAD_CONNECTIONS }, (_, i) =>
          pool.query(INSERT_MEMORIES, [i * half + 1, Math.min(n, (i + 1) * half), config.users, config.agents, WORDS]),
        ),
      ),
    );

    // Events in creation order (positions follow created_at within each half), streams beside them.
    // As text: a JavaScript Date would round the microseconds away.
    const { median, first, last, before } = (
      await pool.query<{ median: string; first: string; last: string; before: string }>(
        `select m.median::text, m.first::text, m.last::text, (select count(*) from memories where created_at < m.median)::text as before
         from (select percentile_disc(0.5) within group (order by created_at) as median, min(created_at) as first,
                      max(created_at) + interval '1 microsecond' as last from memories) m`,
      )
    ).rows[0]!;
    await step('insert events and streams', async () => {
      const base = BigInt((await pool.query<{ base: string }>(RESERVE_POSITIONS, [n])).rows[0]!.base);
      await Promise.all([
        pool.query(INSERT_EVENTS, [first, median, String(base)]).then(() => pool.query(INSERT_STREAMS)),
        pool.query(INSERT_EVENTS, [median, last, String(base + BigInt(before))]),
      ]);
    });

    await step(`build ${indexes.length} indexes`, async () => {
      await buildIndexes(pool, indexes);
      const rebuilt = (await pool.query<IndexDef>(INDEXES)).rows;
      if (JSON.stringify(rebuilt) !== JSON.stringify(indexes)) throw new Error('the indexes were not rebuilt as the schema defines them');
    });

    await step('vacuum analyze', async () => {
      await Promise.all([
        pool.query('vacuum analyze memories'),
        pool.query('vacuum analyze events').then(() => pool.query('vacuum analyze streams')),
      ]);
    });

    // Each row as apply_memory_event() would have written it from its event.
    const check = (
      await pool.query<{
        memories: string;
        events: string;
        streams: string;
        joined: string;
        expiring: string;
        head: string;
        positions: string;
      }>(`
      select (select count(*) from memories) as memories,
             (select count(*) from events) as events,
             (select count(*) from streams) as streams,
             (select count(*) from memories m
                join events e on e.event_id = m.last_event_id and e.stream_id = 'memory-' || m.id and e.version = 1
                join streams s on s.stream_id = e.stream_id and s.version = 1
               where e.type = 'memory_created' and e.metadata->>'user_id' = m.user_id and e.metadata->>'caller' = m.agent_id
                 and e.data->>'memory_id' = m.id::text and e.data->>'agent_id' = m.agent_id and e.data->>'user_id' = m.user_id
                 and e.data->>'type' = m.type and e.data->'content' = m.content and e.data->'metadata' = m.metadata
                 and (e.data->>'confidence')::double precision = m.confidence
                 and (e.data->>'expires_at')::timestamptz is not distinct from m.expires_at
                 and e.created_at = m.created_at and m.updated_at = m.created_at and m.version = 1) as joined,
             (select count(*) from memories where expires_at is not null) as expiring,
             (select last from log_head) as head,
             (select count(distinct position) filter (where position between 1 and ${n}) from events) as positions`)
    ).rows[0]!;
    if (![check.memories, check.events, check.streams, check.joined, check.head, check.positions].every((c) => Number(c) === n)) {
      throw new Error(`bulk load inconsistent: ${JSON.stringify(check)}, expected ${n} of each`);
    }
    const seconds = (performance.now() - started) / 1000;
    const bytes = (
      await pool.query<{ memories: string; events: string; streams: string }>(
        `select pg_total_relation_size('memories') as memories, pg_total_relation_size('events') as events,
              pg_total_relation_size('streams') as streams`,
      )
    ).rows[0]!;
    return {
      memories: n,
      expiring: Number(check.expiring),
      seconds,
      steps,
      bytes: { memories: Number(bytes.memories), events: Number(bytes.events), streams: Number(bytes.streams) },
    };
  } finally {
    try {
      if (triggerOff) await pool.query(`alter table events enable trigger ${MEMORY_TRIGGER}`);
    } finally {
      await pool.end();
    }
  }
}
