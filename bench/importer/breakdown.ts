// Where PostgreSQL's time goes when 1,000 imported memories are appended in one append_batch():
// the same batch (as the importer builds it) sent on one connection, in a transaction rolled back
// each time, with parts of the memory schema taken away inside that transaction. CPU of the
// backend from /proc, the least of `REPEAT` tries.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { importLegacyFiles } from '../../src/importer/importer.js';
import type { SettledAppend, StreamAppend, StreamWriter } from '../../src/events/eventStore.js';
import type { BatchAppend } from '../../src/events/queries.js';

const REPEAT = 7;

/** What is taken away in each case, as statements run inside its transaction. */
export const BREAKDOWN_CASES: [string, string[]][] = [
  ['as it is', []],
  ['without the memories trigger (events only)', ['alter table events disable trigger memories_from_events']],
  ['without memories_search (GIN)', ['drop index memories_search']],
  ['without the search column (tsvector, GIN)', ['alter table memories drop column search']],
  [
    'without search and the 5 other memories indexes',
    [
      'alter table memories drop column search',
      'drop index memories_agent_user_newest, memories_user_newest, memories_newest, memories_expiring, memories_agent_newest',
    ],
  ],
];

/** One batch of `size` memories from the files of `dir`, as append_batch() takes it. */
export async function importBatch(dir: string, size: number): Promise<string> {
  let captured: StreamAppend[] = [];
  const writer: StreamWriter = {
    append: () => Promise.reject(new Error('not used')),
    appendEach: () => Promise.reject(new Error('not used')),
    appendIfStreamAt: () => Promise.reject(new Error('not used')),
    appendSettled(appends: StreamAppend[]): Promise<SettledAppend[]> {
      if (captured.length === 0) captured = appends;
      return Promise.resolve(
        appends.map(() => ({
          status: 'appended',
          result: {
            nextExpectedVersion: 1n,
            firstPosition: { commit: 1n, prepare: 1n },
            lastPosition: { commit: 1n, prepare: 1n },
            createdAt: 0,
          },
        })),
      );
    },
  };
  // A pool that finds no memory there, so every one is sent.
  const pool = { any: () => Promise.resolve([]) } as never;
  await importLegacyFiles(
    { dir, recursive: true, dryRun: false, agentId: null, userId: null, batchSize: size, streamAbove: Number.MAX_SAFE_INTEGER },
    {
      memories: { pool, writer },
      limits: { contentMaxBytes: 65_536, queryMaxBytes: 4096, readPageSize: 100, responseMaxBytes: 3_145_728 },
    },
  );
  const batch: BatchAppend[] = captured.map((a) => ({
    stream_id: a.streamId,
    expected: 'exact',
    expected_version: '0',
    events: a.events.map((e) => ({
      event_id: e.eventId!,
      type: e.type,
      data: e.data,
      metadata: e.metadata,
      correlation_id: null,
      causation_id: null,
    })),
  }));
  return JSON.stringify(batch);
}

/** PostgreSQL CPU milliseconds of one append_batch() of the batch, in each case. */
export async function measureBreakdown(url: string, payload: string): Promise<{ name: string; cpuMs: number }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const cpuMs = () => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    };
    const results: { name: string; cpuMs: number }[] = [];
    for (const [name, setup] of BREAKDOWN_CASES) {
      let least = Number.POSITIVE_INFINITY;
      for (let i = 0; i < REPEAT; i++) {
        await client.query('begin');
        for (const statement of setup) await client.query(statement);
        const before = cpuMs();
        await client.query('select count(*) from append_batch($1::jsonb)', [payload]);
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
