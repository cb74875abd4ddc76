import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrateAtStart } from '../../src/db/migrate.js';
import { connectDatabase } from '../../src/db/pool.js';
import { chainPads } from '../../src/events/chain.js';
import { parseMigrateArgs } from '../../src/importer/command.js';
import { importLegacyFiles } from '../../src/importer/importer.js';
import type { ImportOptions } from '../../src/importer/importer.js';
import type { ImportReport } from '../../src/importer/report.js';
import { createLogger } from '../../src/log.js';
import { writeLegacyFiles } from '../../bench/importer/legacyFiles.js';
import { REPOSITORY, runAuren } from '../support/auren.js';
import type { AurenExit } from '../support/auren.js';
import { createTestDatabase } from '../support/database.js';
import { eventually } from '../support/events.js';
import { TEST_SECRET } from '../support/app.js';

const USER = '3f2b8c1e-5d6a-4f7b-9c0d-1e2f3a4b5c6d';
// The log's hash-chain key of the in-process imports (the commands use the server's secret).
const CHAIN = chainPads(Buffer.alloc(32, 7));
const LIMITS = { contentMaxBytes: 65_536, queryMaxBytes: 4096, readPageSize: 100, responseMaxBytes: 3_145_728 };

// The seed's own example (§3.8, TestMigration), as its test writes it.
const SEED_EXAMPLE = {
  agent_id: 'test_agent',
  memories: [{ type: 'fact', content: { test: 'migration_data' }, confidence: 0.9, timestamp: '2025-06-01T12:00:00+00:00' }],
};

// Every shape, every legacy type, agents and people from data, file names and folders.
const FIXTURES: Record<string, unknown> = {
  'test_agent_memories.json': SEED_EXAMPLE,
  'nutritionist_log.json': [
    { type: 'observation', content: 'skips breakfast', confidence: '0.8', timestamp: '2023-05-01T10:00:00Z' },
    { type: 'pattern', value: { meals: 2 }, confidence: 1.5 },
    { type: 'suggestion', data: { eat: 'oats' }, confidence: -1 },
    { type: 'note', text: 'likes tea' },
    { type: 'chat', message: 'hello there' },
    { type: 'gossip', mood: 'calm', steps: 9000, user_id: 'user_9' },
    { type: 'hypothesis', content: { h: 'low iron' } },
    'not an object',
  ],
  'sleep/week1.json': { memories: [{ content: 'wakes at 3am', created_at: 1_700_000_000 }] },
  [`coach_${USER}.json`]: { data: { data: [{ type: 'decision', content: { plan: 'rest day' } }] } },
  'profile.json': { agent_id: 'custom_agent', user_id: 'user_7', content: { likes: 'running' }, type: 'insight' },
  'misc/unnamed.json': [{ content: 'nobody named me' }],
  // Blank names name nobody: the file's name is tried next.
  'blank/recovery_notes.json': { agent_id: '  ', user_id: ' ', memories: [{ content: 'sore knees' }] },
};
// Files that must be refused whole, with their reasons.
const BAD: Record<string, { content: string | Buffer; reason: RegExp }> = {
  'bad/invalid.json': { content: '[{"content":"a"} {"content":"b"}]', reason: /invalid JSON/ },
  'bad/utf16.json': { content: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[{"content":"a"}]', 'utf16le')]), reason: /UTF-16/ },
  'bad/latin1.json': { content: Buffer.from('[{"content":"caf\xe9"}]', 'latin1'), reason: /not UTF-8/ },
  'bad/empty.json': { content: '', reason: /empty file/ },
  'bad/scalars.json': { content: '[1, 2, 3]', reason: /no memories/ },
  'bad/refused_item.json': {
    content: JSON.stringify([{ content: 'fine' }, { content: { text: 'nul \u0000 char' } }]),
    reason: /item 1: content/,
  },
};
// Memories in FIXTURES (items that are objects).
const GOOD_MEMORIES = 1 + 7 + 1 + 1 + 1 + 1 + 1;

describe('auren migrate', function () {
  this.timeout(120_000);
  let databaseUrl: string;
  let db: pg.Client;
  let root: string;

  before(async () => {
    databaseUrl = await createTestDatabase();
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    root = await mkdtemp(path.join(tmpdir(), 'auren-migrate-'));
  });
  after(async () => {
    await db.end();
    await rm(root, { recursive: true, force: true });
  });

  const writeTree = async (dir: string, files: Record<string, string | Buffer>) => {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content);
    }
  };
  const migrate = (args: string[]) => runAuren(['migrate', ...args], { env: { DATABASE_URL: databaseUrl } });
  const readReport = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as ImportReport;
  const count = async (query: string, params: unknown[] = []) => Number((await db.query(query, params)).rows[0].n);
  const memoryAt = async (file: string, index: number) =>
    (
      await db.query(
        `select m.*, e.event_id::text as event, e.metadata as event_metadata, e.data as event_data
           from memories m join events e on e.stream_id = 'memory-' || m.id
          where m.metadata->>'source_file' = $1 and (m.metadata->>'item_index')::int = $2`,
        [file, index],
      )
    ).rows;

  describe('on the seed’s shapes and rules', () => {
    let dir: string;
    before(async () => {
      dir = path.join(root, 'legacy');
      await writeTree(dir, Object.fromEntries(Object.entries(FIXTURES).map(([name, value]) => [name, JSON.stringify(value)])));
      await writeTree(dir, Object.fromEntries(Object.entries(BAD).map(([name, { content }]) => [name, content])));
    });

    it('--dry-run checks and counts every file, reports the bad ones with their reasons, and writes nothing', async () => {
      const reportFile = path.join(root, 'dry.json');
      const exit = await migrate([dir, '--recursive', '--dry-run', '--report', reportFile]);
      assert.equal(exit.code, 1, exit.stderr);
      assert.match(exit.stdout, /dry run: nothing written/);
      const report = await readReport(reportFile);
      assert.equal(report.files.found, Object.keys(FIXTURES).length + Object.keys(BAD).length);
      assert.equal(report.files.checked, Object.keys(FIXTURES).length);
      assert.equal(report.memories.found, GOOD_MEMORIES);
      assert.equal(report.memories.skipped_items, 1);
      assertBadFilesReported(report, exit);
      // Not even the schema: a dry run does not open the database.
      assert.equal((await db.query(`select to_regclass('events') as t`)).rows[0].t, null);
    });

    it('imports each memory with one memory_created event, its row in the same transaction, and exits 1 for the bad files', async () => {
      const reportFile = path.join(root, 'first.json');
      const exit = await migrate([dir, '--recursive', '--report', reportFile]);
      assert.equal(exit.code, 1, exit.stderr);
      const report = await readReport(reportFile);
      assert.equal(report.memories.imported, GOOD_MEMORIES);
      assert.equal(report.memories.already_imported, 0);
      assert.equal(report.files.imported, Object.keys(FIXTURES).length);
      assertBadFilesReported(report, exit);
      assert.match(exit.stdout, new RegExp(`imported\\s+${Object.keys(FIXTURES).length}\\s+${GOOD_MEMORIES}`));

      assert.equal(await count(`select count(*) as n from memories`), GOOD_MEMORIES);
      assert.equal(await count(`select count(*) as n from events where type = 'memory_created'`), GOOD_MEMORIES);
      // Every row is the one its event made (same statement: the trigger), and names it.
      assert.equal(
        await count(`select count(*) as n from memories m join events e on e.event_id = m.last_event_id and e.version = 1`),
        GOOD_MEMORIES,
      );
      // Nothing of a refused file: not even its good first item.
      assert.equal(await count(`select count(*) as n from memories where metadata->>'source_file' like 'bad/%'`), 0);
    });

    it('keeps the seed example as it was written: agent, content, confidence and original time', async () => {
      const [memory] = await memoryAt('test_agent_memories.json', 0);
      assert.equal(memory.agent_id, 'test_agent');
      assert.equal(memory.user_id, null);
      assert.equal(memory.type, 'fact');
      assert.deepEqual(memory.content, { test: 'migration_data' });
      assert.equal(memory.confidence, 0.9);
      assert.equal(memory.created_at.toISOString(), '2025-06-01T12:00:00.000Z');
      assert.deepEqual(memory.event_metadata, {
        auren: { principal: { name: 'auren.importer', kind: 'service', key_id: null } },
        caller: 'auren.importer',
        source_file: 'test_agent_memories.json',
        item_index: 0,
        file_sha256: memory.event_metadata.file_sha256,
      });
      assert.match(memory.event_metadata.file_sha256, /^[0-9a-f]{64}$/);
      assert.equal(memory.event_data.created_at, '2025-06-01T12:00:00.000Z');
    });

    it('maps every legacy type, takes content from each field, parses and clamps confidences', async () => {
      const expected: [number, string, unknown, number][] = [
        [0, 'fact', { text: 'skips breakfast' }, 0.8],
        [1, 'analysis', { meals: 2 }, 1],
        [2, 'recommendation', { eat: 'oats' }, 0],
        [3, 'insight', { text: 'likes tea' }, 1],
        [4, 'conversation', { text: 'hello there' }, 1],
        [5, 'fact', { mood: 'calm', steps: 9000 }, 1],
        [6, 'hypothesis', { h: 'low iron' }, 1],
      ];
      for (const [index, type, content, confidence] of expected) {
        const [memory] = await memoryAt('nutritionist_log.json', index);
        assert.equal(memory.type, type, `item ${index}`);
        assert.deepEqual(memory.content, content, `item ${index}`);
        assert.equal(memory.confidence, confidence, `item ${index}`);
        assert.equal(memory.agent_id, 'nutritionist', `item ${index}`);
      }
      const [first] = await memoryAt('nutritionist_log.json', 0);
      assert.equal(first.created_at.toISOString(), '2023-05-01T10:00:00.000Z');
      assert.equal(first.metadata.legacy_type, 'observation');
      assert.equal((await memoryAt('nutritionist_log.json', 5))[0].user_id, 'user_9');
      assert.equal((await memoryAt('nutritionist_log.json', 7)).length, 0);
    });

    it('names agents and people from the data, the file name, the folder, else unknown_agent', async () => {
      const cases: [string, string, string | null][] = [
        ['sleep/week1.json', 'sleep_agent', null],
        [`coach_${USER}.json`, 'training_agent', USER],
        ['profile.json', 'custom_agent', 'user_7'],
        ['misc/unnamed.json', 'unknown_agent', null],
        ['blank/recovery_notes.json', 'recovery_agent', null],
      ];
      for (const [file, agent, user] of cases) {
        const [memory] = await memoryAt(file, 0);
        assert.equal(memory.agent_id, agent, file);
        assert.equal(memory.user_id, user, file);
      }
      assert.equal((await memoryAt('sleep/week1.json', 0))[0].created_at.toISOString(), '2023-11-14T22:13:20.000Z');
      assert.equal((await memoryAt(`coach_${USER}.json`, 0))[0].type, 'decision');
    });

    it('a second run imports nothing and says every memory was already imported', async () => {
      const reportFile = path.join(root, 'second.json');
      const exit = await migrate([dir, '--recursive', '--report', reportFile]);
      assert.equal(exit.code, 1, exit.stderr);
      const report = await readReport(reportFile);
      assert.equal(report.memories.imported, 0);
      assert.equal(report.memories.already_imported, GOOD_MEMORIES);
      assert.equal(report.files.already_imported, Object.keys(FIXTURES).length);
      assert.equal(await count(`select count(*) as n from events where type = 'memory_created'`), GOOD_MEMORIES);
    });

    it('refuses a wrong command line with exit code 2, naming what is wrong', async () => {
      const exit = await migrate([dir, '--nope']);
      assert.equal(exit.code, 2, exit.stdout + exit.stderr);
      assert.match(exit.stderr, /auren migrate: .*--nope/);
      for (const args of [[], [dir, 'more'], [dir, '--agent', ''], [dir, '--user', 'a\u0001b']]) {
        const request = parseMigrateArgs(args);
        assert.ok('usageError' in request, args.join(' '));
      }
      assert.ok('options' in parseMigrateArgs([dir, '--recursive', '--agent', 'a', '--user', 'u', '--report', 'r.json']));
    });
  });

  describe('in process', () => {
    let pool: Awaited<ReturnType<typeof connectDatabase>>;
    before(async () => {
      const log = createLogger('silent');
      await migrateAtStart(databaseUrl, log);
      pool = await connectDatabase({ url: databaseUrl, maximumPoolSize: 4 }, 10_000, log);
    });
    after(async () => {
      await pool.end();
    });
    const run = (dir: string, options: Partial<ImportOptions> = {}) =>
      importLegacyFiles(
        {
          dir,
          recursive: true,
          dryRun: false,
          agentId: null,
          userId: null,
          batchSize: 7,
          batchesInFlight: 3,
          streamAbove: 1 << 24,
          ...options,
        },
        { memories: { pool, chain: CHAIN, eventMaxBytes: 1 << 20 }, limits: LIMITS },
      );

    it('without --recursive reads only the folder itself', async () => {
      const report = await run(path.join(root, 'legacy'), { recursive: false, dryRun: true });
      assert.equal(report.files.found, 4);
      assert.equal(report.files.checked, 4);
    });

    it('--agent and --user name the files whose data names nobody, before their names are tried', async () => {
      const dir = path.join(root, 'flags');
      await writeTree(dir, {
        'sleep_notes.json': JSON.stringify([{ content: 'a' }]),
        'named.json': JSON.stringify({ agent_id: 'from_data', user_id: 'u_data', memories: [{ content: 'b' }] }),
      });
      const report = await run(dir, { agentId: 'flag_agent', userId: 'flag_user' });
      assert.equal(report.memories.imported, 2);
      const rows = (
        await db.query(
          `select metadata->>'source_file' as f, agent_id, user_id from memories where metadata->>'source_file' in ('sleep_notes.json', 'named.json') order by 1`,
        )
      ).rows;
      assert.deepEqual(rows, [
        { f: 'named.json', agent_id: 'from_data', user_id: 'u_data' },
        { f: 'sleep_notes.json', agent_id: 'flag_agent', user_id: 'flag_user' },
      ]);
    });

    it('a large file is streamed and gets the same memories as when read whole', async () => {
      const dir = path.join(root, 'large');
      await writeLegacyFiles(dir, 3, 40, 2);
      const streamed = await run(dir, { streamAbove: 0 });
      assert.equal(streamed.memories.imported, 120);
      const whole = await run(dir);
      assert.equal(whole.memories.imported, 0);
      assert.equal(whole.memories.already_imported, 120);
    });

    it('a file with an item whose memory_created event would pass the event size limit is refused whole, naming the item', async () => {
      const dir = path.join(root, 'oversized');
      await writeTree(dir, {
        'big_sleep.json': JSON.stringify([{ content: 'fits' }, { content: 'x'.repeat(3000) }]),
        'small_sleep.json': JSON.stringify([{ content: 'small enough' }]),
      });
      const report = await importLegacyFiles(
        { dir, recursive: true, dryRun: false, agentId: null, userId: null, batchSize: 7, batchesInFlight: 3, streamAbove: 1 << 24 },
        { memories: { pool, chain: CHAIN, eventMaxBytes: 2000 }, limits: LIMITS },
      );
      const big = report.file_results.find((r) => r.file === 'big_sleep.json')!;
      assert.equal(big.status, 'failed');
      assert.match(big.reason!, /^1 of its 2 memories are refused, so none is imported: item 1: data: .* over the limit of 2000/);
      assert.equal(report.memories.imported, 1);
      assert.equal(await count(`select count(*) as n from memories where metadata->>'source_file' = 'big_sleep.json'`), 0);
    });

    it('a copy of a file (the same bytes elsewhere) adds no memory: its items are the first one’s', async () => {
      const dir = path.join(root, 'copies');
      const bytes = JSON.stringify([{ content: 'copied once' }, { content: 'copied twice' }]);
      await writeTree(dir, { 'a/recovery.json': bytes, 'b/recovery.json': bytes });
      const report = await run(dir);
      assert.equal(report.memories.imported, 2);
      assert.equal(report.memories.already_imported, 2);
      assert.equal(await count(`select count(*) as n from memories where content->>'text' like 'copied %'`), 2);
    });

    it('a file whose content changed is imported as new items; the old ones stay', async () => {
      const dir = path.join(root, 'changed');
      await writeTree(dir, { 'diet.json': JSON.stringify([{ content: 'one' }, { content: 'two' }]) });
      assert.equal((await run(dir)).memories.imported, 2);
      await writeTree(dir, { 'diet.json': JSON.stringify([{ content: 'one' }, { content: 'two' }, { content: 'three' }]) });
      const report = await run(dir);
      assert.equal(report.memories.imported, 3);
      assert.equal(await count(`select count(*) as n from memories where metadata->>'source_file' = 'diet.json'`), 5);
    });
  });

  describe('interrupted', () => {
    it('a run killed mid-way, then run again, imports every memory exactly once; a further run imports none; the log verifies', async () => {
      // A database of its own, every run with the same secret: `auren audit verify` checks the whole log.
      const url = await createTestDatabase();
      await migrateAtStart(url, createLogger('silent'));
      const env = { DATABASE_URL: url, AUREN_SECRET: TEST_SECRET };
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const dir = path.join(root, 'interrupted');
      // Ten batches of 1,000: after the first commits, three are in flight at once, and wait.
      const { memories } = await writeLegacyFiles(dir, 100, 100);
      const imported = async () => Number((await client.query(`select count(*) as n from memories`)).rows[0].n);
      try {
        const child = spawn(`${REPOSITORY}/node_modules/.bin/tsx`, ['src/cli.ts', 'migrate', dir, '--recursive'], {
          cwd: REPOSITORY,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
          stdio: 'ignore',
          detached: true, // its own process group: tsx runs node as a child, and both are killed
        });
        const exited = new Promise((resolve) => child.on('close', resolve));
        // After its first commit, hold the log's counter (writing nothing): its next batches
        // write their memories rows, then wait for the counter, and it is killed there.
        await eventually(async () => (await imported()) > 0, 'a first batch committed', 60_000);
        const held = new pg.Client({ connectionString: url });
        await held.connect();
        await held.query('begin');
        await held.query('select last from log_head for update');
        // Asked on another connection: pg_stat_activity is read once per transaction.
        const waiting = async () =>
          Number(
            (
              await client.query(`select count(*) as n from pg_stat_activity
                 where datname = current_database() and wait_event_type = 'Lock'`)
            ).rows[0].n,
          );
        try {
          await eventually(async () => (await waiting()) >= 2, 'two batches waiting for the counter at once', 60_000);
          process.kill(-child.pid!, 'SIGKILL');
          await exited;
          assert.ok((await imported()) < memories, 'killed before the end');
        } finally {
          await held.query('commit');
          await held.end();
        }

        const exit: AurenExit = await runAuren(['migrate', dir, '--recursive', '--report', path.join(root, 'resumed.json')], { env });
        assert.equal(exit.code, 0, exit.stderr);
        const resumed = await readReport(path.join(root, 'resumed.json'));
        assert.equal(resumed.memories.imported + resumed.memories.already_imported, memories);
        assert.ok(resumed.memories.already_imported > 0, 'the killed run’s commits were found');
        assert.equal(await imported(), memories);
        const { rows } = await client.query(
          `select (select count(*)::int from events where type = 'memory_created') as events,
                  (select count(distinct data->>'memory_id')::int from events) as distinct_memories,
                  (select count(*)::int from events) as all_events, (select last::int from log_head) as last`,
        );
        assert.deepEqual(rows[0], { events: memories, distinct_memories: memories, all_events: memories, last: memories });

        const again = await runAuren(['migrate', dir, '--recursive', '--report', path.join(root, 'again.json')], { env });
        assert.equal(again.code, 0, again.stderr);
        const report = await readReport(path.join(root, 'again.json'));
        assert.equal(report.memories.imported, 0);
        assert.equal(report.memories.already_imported, memories);
        assert.equal(await imported(), memories);

        // The hash chains of every event, and the positions without a gap: the killed batches left nothing.
        const verified = await runAuren(['audit', 'verify'], { env });
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      } finally {
        await client.end();
      }
    });
  });
});

function assertBadFilesReported(report: ImportReport, exit: AurenExit): void {
  assert.equal(report.files.failed, Object.keys(BAD).length);
  for (const [file, { reason }] of Object.entries(BAD)) {
    const failed = report.failed.find((f) => f.file === file);
    assert.ok(failed, `${file} reported`);
    assert.match(failed.reason, reason, file);
    assert.match(exit.stdout, new RegExp(`${file}: `), `${file} in the summary`);
  }
}
