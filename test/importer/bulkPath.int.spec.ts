import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrateAtStart } from '../../src/db/migrate.js';
import { connectDatabase } from '../../src/db/pool.js';
import type { DatabasePool } from '../../src/db/pool.js';
import { DatabaseUnavailable } from '../../src/errors.js';
import { chainPads } from '../../src/events/chain.js';
import { verifyChains } from '../../src/events/verifyChains.js';
import { importLegacyFiles, IMPORTER } from '../../src/importer/importer.js';
import { importedIds } from '../../src/importer/memoryIds.js';
import { checkImportedMemory, importMemories } from '../../src/memory/imports.js';
import type { ImportOptions } from '../../src/importer/importer.js';
import { createLogger } from '../../src/log.js';
import { writeLegacyFiles } from '../../bench/importer/legacyFiles.js';
import { createTestDatabase } from '../support/database.js';
import { eventually } from '../support/events.js';

const CHAIN = chainPads(Buffer.alloc(32, 9));
const LIMITS = { contentMaxBytes: 65_536, queryMaxBytes: 4096, readPageSize: 100, responseMaxBytes: 3_145_728 };
// Every column of a memories row but updated_at (the time of its event's transaction); created_at
// is the original time when the event carries one.
const ROW = `id::text, agent_id, user_id, type, content, metadata, confidence, search::text as search, created_at, expires_at,
             deleted_at, expired_at, version, last_event_id::text, size`;

interface Database {
  url: string;
  pool: DatabasePool;
  client: pg.Client;
}

async function freshDatabase(): Promise<Database> {
  const url = await createTestDatabase();
  const log = createLogger('silent');
  await migrateAtStart(url, log);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return { url, pool: await connectDatabase({ url, maximumPoolSize: 8 }, 10_000, log), client };
}

async function close(database: Database): Promise<void> {
  await database.pool.end();
  await database.client.end();
}

describe('auren migrate’s bulk write path (append_imported_memories)', function () {
  this.timeout(120_000);
  let root: string;
  let dir: string;
  let memories: number;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'auren-bulk-'));
    dir = path.join(root, 'legacy');
    ({ memories } = await writeLegacyFiles(dir, 12, 25, 3));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const run = (pool: DatabasePool, options: Partial<ImportOptions> = {}) =>
    importLegacyFiles(
      {
        dir,
        recursive: true,
        dryRun: false,
        agentId: null,
        userId: null,
        batchSize: 40,
        batchesInFlight: 3,
        streamAbove: 1 << 24,
        ...options,
      },
      { memories: { pool, chain: CHAIN, eventMaxBytes: 1 << 20 }, limits: LIMITS },
    );

  it('writes each memory’s row as the memories trigger writes it from the same event, and its stream at version 1', async () => {
    const imported = await freshDatabase();
    const appended = await freshDatabase();
    try {
      assert.equal((await run(imported.pool)).memories.imported, memories);
      // The same events through the service's write path, where the trigger writes the rows.
      const { rows: events } = await imported.client.query(
        `select event_id::text, stream_id, type, data, metadata from events order by position`,
      );
      assert.equal(events.length, memories);
      const appends = events.map((e) => ({
        stream_id: e.stream_id,
        expected: 'exact',
        expected_version: '0',
        events: [{ event_id: e.event_id, type: e.type, data: e.data, metadata: e.metadata, correlation_id: null, causation_id: null }],
      }));
      const outcomes = await appended.client.query(`select outcome from append_batch($1::jsonb, $2, $3)`, [
        JSON.stringify(appends),
        CHAIN.inner,
        CHAIN.outer,
      ]);
      assert.ok(outcomes.rows.every((r) => r.outcome === 'appended'));

      const rows = async (db: Database) => (await db.client.query(`select ${ROW} from memories order by id`)).rows;
      assert.deepEqual(await rows(imported), await rows(appended));
      // updated_at, like the trigger's, is its event's time; so is created_at when the file had none.
      for (const db of [imported, appended]) {
        const { rows: off } = await db.client.query(
          `select m.id from memories m join events e on e.event_id = m.last_event_id
            where m.updated_at <> e.created_at or m.created_at <> coalesce((e.data->>'created_at')::timestamptz, e.created_at)
               or e.stream_id <> 'memory-' || m.id or e.version <> 1`,
        );
        assert.deepEqual(off, []);
        const { rows: streams } = await db.client.query(
          `select count(*)::int as n from streams s join events e on e.stream_id = s.stream_id
            where s.version = 1 and s.created_at = e.created_at and s.updated_at = e.created_at`,
        );
        assert.equal(streams[0].n, memories);
      }
      // The same events, hashed alike: the whole log verifies, positions without gaps.
      const report = await verifyChains(imported.pool, [{ secretId: 'test', pads: CHAIN }], { streamId: null });
      assert.equal(report.checked, BigInt(memories));
      assert.deepEqual(report.problems, []);
    } finally {
      await close(imported);
      await close(appended);
    }
  });

  it('two runs of the same files at once import each memory once, and the log verifies', async () => {
    const db = await freshDatabase();
    try {
      // Small batches, three in flight each: the runs overlap on the same memories.
      const [a, b] = await Promise.all([run(db.pool, { batchSize: 15 }), run(db.pool, { batchSize: 15 })]);
      assert.equal(a.memories.imported + b.memories.imported, memories);
      assert.equal(a.memories.imported + a.memories.already_imported, memories);
      assert.equal(b.memories.imported + b.memories.already_imported, memories);
      const { rows } = await db.client.query(
        `select (select count(*)::int from memories) as rows, (select count(*)::int from events where type = 'memory_created') as events,
                (select count(distinct data->>'memory_id')::int from events) as distinct_memories, (select last::int from log_head) as last`,
      );
      assert.deepEqual(rows[0], { rows: memories, events: memories, distinct_memories: memories, last: memories });
      const report = await verifyChains(db.pool, [{ secretId: 'test', pads: CHAIN }], { streamId: null });
      assert.deepEqual(report.problems, []);
      assert.equal((await run(db.pool)).memories.imported, 0);
    } finally {
      await close(db);
    }
  });

  it('a batch sent without looking its ids up writes only the memories not there, each once, and the log verifies', async () => {
    const db = await freshDatabase();
    try {
      const memory = (index: number) => {
        const ids = importedIds('cd'.repeat(32), index);
        return checkImportedMemory(
          {
            id: ids.memoryId,
            eventId: ids.eventId,
            agentId: 'sleep_agent',
            userId: `user-${index % 3}`,
            type: 'fact',
            content: { text: `slept ${index} hours` },
            metadata: { migrated_from: 'json_file' },
            confidence: 0.5,
            createdAt: null,
            source: { source_file: 'a.json', item_index: index, file_sha256: 'cd'.repeat(32) },
          },
          LIMITS,
        );
      };
      const target = { pool: db.pool, chain: CHAIN, eventMaxBytes: 1 << 20 };
      const first = await importMemories(target, IMPORTER, [memory(0), memory(1)], { lookUpFirst: false });
      assert.deepEqual(first, [{ status: 'imported' }, { status: 'imported' }]);
      // 1 is there already, 2 is sent twice: the function finds 1 and writes 2 at its first place.
      const mixed = await importMemories(target, IMPORTER, [memory(1), memory(2), memory(3), memory(2)], { lookUpFirst: false });
      assert.deepEqual(
        mixed.map((o) => o.status),
        ['already_imported', 'imported', 'imported', 'already_imported'],
      );
      const { rows } = await db.client.query(
        `select (select count(*)::int from memories) as rows, (select count(*)::int from streams) as streams,
                (select string_agg(data->>'memory_id', ',' order by position) from events) as order, (select last::int from log_head) as last`,
      );
      assert.deepEqual(rows[0], {
        rows: 4,
        streams: 4,
        order: [0, 1, 2, 3].map((i) => memory(i).id).join(','),
        last: 4,
      });
      assert.deepEqual((await verifyChains(db.pool, [{ secretId: 'test', pads: CHAIN }], { streamId: null })).problems, []);
    } finally {
      await close(db);
    }
  });

  it('hashes its events in its own insert (the trigger event_chain is not called), and not at all while the chain is off', async () => {
    const db = await freshDatabase();
    try {
      // A trigger function that refuses every event: only events that come hashed pass it by.
      await db.client.query(`create or replace function event_chain() returns trigger language plpgsql as $$
                               begin raise exception 'event_chain called for %', new.event_id; end $$`);
      const first = await run(db.pool, { batchSize: 100 });
      assert.equal(first.memories.imported, memories);
      assert.deepEqual((await verifyChains(db.pool, [{ secretId: 'test', pads: CHAIN }], { streamId: null })).problems, []);

      // Chain off (trigger disabled): like append_batch(), no hash, even with the key.
      await db.client.query('alter table events disable trigger events_chain');
      const other = path.join(root, 'other');
      await writeLegacyFiles(other, 2, 10, 4);
      const second = await run(db.pool, { dir: other });
      assert.equal(second.memories.imported, 20);
      const { rows } = await db.client.query(
        `select count(*) filter (where hash is null)::int as unhashed, count(*)::int as events from events`,
      );
      assert.deepEqual(rows[0], { unhashed: 20, events: memories + 20 });
    } finally {
      await close(db);
    }
  });

  it('a memory_created event the service appends after it, in the same transaction, still gets its row from the trigger', async () => {
    const db = await freshDatabase();
    try {
      const created = (id: string) => ({
        memory_id: id,
        agent_id: 'a',
        user_id: null,
        type: 'fact',
        content: { text: id },
        metadata: {},
        confidence: 1,
        expires_at: null,
      });
      const [first, second] = ['0f0e0d0c-0b0a-4908-8706-050403020100', '0f0e0d0c-0b0a-4908-8706-050403020101'];
      // Both in one transaction: the setting the bulk path uses ends with its own insert.
      await db.client.query('begin');
      const bulk = await db.client.query(`select memory_id::text from append_imported_memories($1::jsonb, $2, $3)`, [
        JSON.stringify([{ event_id: '1f0e0d0c-0b0a-4908-8706-050403020100', data: created(first), metadata: {} }]),
        CHAIN.inner,
        CHAIN.outer,
      ]);
      assert.deepEqual(bulk.rows, [{ memory_id: first }]);
      const appended = await db.client.query(`select outcome from append_batch($1::jsonb, $2, $3)`, [
        JSON.stringify([
          {
            stream_id: `memory-${second}`,
            expected: 'exact',
            expected_version: '0',
            events: [
              {
                event_id: '1f0e0d0c-0b0a-4908-8706-050403020101',
                type: 'memory_created',
                data: created(second),
                metadata: {},
                correlation_id: null,
                causation_id: null,
              },
            ],
          },
        ]),
        CHAIN.inner,
        CHAIN.outer,
      ]);
      assert.equal(appended.rows[0].outcome, 'appended');
      await db.client.query('commit');
      const { rows } = await db.client.query(`select id::text, version, last_event_id::text from memories order by id`);
      assert.deepEqual(rows, [
        { id: first, version: '1', last_event_id: '1f0e0d0c-0b0a-4908-8706-050403020100' },
        { id: second, version: '1', last_event_id: '1f0e0d0c-0b0a-4908-8706-050403020101' },
      ]);
      assert.deepEqual((await verifyChains(db.pool, [{ secretId: 'test', pads: CHAIN }], { streamId: null })).problems, []);
    } finally {
      await close(db);
    }
  });

  it('a batch whose connection is lost fails the run as the database unavailable; a run again imports the rest once', async () => {
    const db = await freshDatabase();
    const held = new pg.Client({ connectionString: db.url });
    await held.connect();
    try {
      await held.query('begin');
      await held.query('select last from log_head for update');
      const stopped = run(db.pool).then(
        () => assert.fail('the run ended'),
        (error: unknown) => error,
      );
      const waiting = `select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
      await eventually(async () => (await db.client.query(waiting)).rows.length > 0, 'a batch waiting for the counter');
      // Every batch in flight is ended, also one that reached the counter after the first was:
      // the run waits for all of them, and they would wait for `held`.
      let ended = false;
      void stopped.then(() => (ended = true));
      await eventually(async () => {
        await db.client.query(`select pg_terminate_backend(pid) from (${waiting}) w`);
        return ended;
      }, 'the run ended once its waiting batches lost their connections');
      assert.ok((await stopped) instanceof DatabaseUnavailable);
      await held.query('commit');

      const again = await run(db.pool);
      assert.equal(again.memories.imported + again.memories.already_imported, memories);
      const { rows } = await db.client.query(
        `select (select count(*)::int from memories) as rows, (select count(*)::int from events) as events`,
      );
      assert.deepEqual(rows[0], { rows: memories, events: memories });
      assert.deepEqual((await verifyChains(db.pool, [{ secretId: 'test', pads: CHAIN }], { streamId: null })).problems, []);
    } finally {
      await held.end();
      await close(db);
    }
  });
});
