// `npm run bench:import`: `auren migrate` on 100,000 memories in 1,000 legacy files (the seed's
// shapes in turn), run as the real command against a fresh database on BENCH_DATABASE_URL's
// server: a first import, the same folder again (every memory already there), and a dry run.
// Rewrites its section of BENCHMARKS.md (BENCH_WRITE=0: print only). IMPORT_FILES and
// IMPORT_PER_FILE change the size.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { ImportReport } from '../../src/importer/report.js';
import { cpuMeter, isLocalHost } from '../cpu.js';
import type { CpuSnapshot } from '../cpu.js';
import { databaseUrl, machineFacts } from '../databases.js';
import { int, loadCells, markdownTable, textTable, writeSection } from '../tables.js';
import { writeLegacyFiles } from './legacyFiles.js';
import { samplePostgresCpu } from './postgresCpu.js';
import { importBatch, measureBreakdown, SERIAL_CASE } from './breakdown.js';

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const REPORT = path.join(REPOSITORY, 'BENCHMARKS.md');
const DATABASE = 'auren_import_bench';
const GOAL_PER_SECOND = 20_000;
const BREAKDOWN_SIZE = 2000;
export const IMPORT_SECTION_TITLE = '## JSON import (auren migrate)';

interface Run {
  name: string;
  report: ImportReport;
  wallSeconds: number;
  cpu: CpuSnapshot;
  loadBefore: number;
}

async function main(): Promise<void> {
  const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const files = Number(process.env.IMPORT_FILES ?? 1000);
  const perFile = Number(process.env.IMPORT_PER_FILE ?? 100);
  const write = process.env.BENCH_WRITE !== '0';
  const facts = await machineFacts(adminUrl);
  const url = await recreateDatabase(adminUrl);
  const dir = await mkdtemp(path.join(tmpdir(), 'auren-import-bench-'));
  const reportDir = await mkdtemp(path.join(tmpdir(), 'auren-import-report-'));
  const log = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const set = await writeLegacyFiles(dir, files, perFile);
    log(`${int(set.files)} files, ${int(set.memories)} memories, ${(set.bytes / 2 ** 20).toFixed(1)} MiB of JSON in ${dir}`);
    await auren(['db', 'migrate'], url);
    const postgresIsLocal = isLocalHost(new URL(adminUrl).hostname);
    const runs: Run[] = [];
    for (const [name, args] of [
      ['first import', []],
      ['again (all imported before)', []],
      ['--dry-run', ['--dry-run']],
    ] as const) {
      const reportFile = path.join(reportDir, 'report.json');
      const loadBefore = loadavg()[0]!;
      // PostgreSQL is sampled while the command runs (its backends live only then); the rest of
      // the machine's busy time is the other load.
      const meter = cpuMeter({ postgresIsLocal: false });
      const postgres = postgresIsLocal ? await samplePostgresCpu(adminUrl, DATABASE) : null;
      const started = Date.now();
      const busy0 = machineBusyMs();
      meter.start();
      await auren(['migrate', dir, '--recursive', '--report', reportFile, ...args], url);
      const measured = meter.stop();
      const postgresMs = postgres ? await postgres.stop() : null;
      const busy = machineBusyMs() - busy0;
      const cpu: CpuSnapshot = {
        ...measured,
        postgres: postgresMs,
        other: postgresMs === null ? null : Math.max(0, busy - measured.bench - measured.children - postgresMs),
      };
      const run: Run = {
        name,
        report: JSON.parse(await readFile(reportFile, 'utf8')) as ImportReport,
        wallSeconds: (Date.now() - started) / 1000,
        cpu,
        loadBefore,
      };
      runs.push(run);
      log(`${name}: ${int(run.report.memories_per_second)} memories/s, peak RSS ${run.report.peak_rss_mib} MiB`);
    }
    const { head, body } = table(runs);
    log(`\n${textTable(head, body)}`);
    // Other files (other bytes, so new ids) than those imported above, into the same database.
    const other = path.join(reportDir, 'breakdown');
    await writeLegacyFiles(other, BREAKDOWN_SIZE / 100, 100, 2);
    const breakdown = await measureBreakdown(url, await importBatch(adminUrl, other));
    const parts = breakdownTable(breakdown);
    log(`\n${textTable(parts.head, parts.body)}`);
    if (write) {
      writeSection(REPORT, section(runs, set, facts, head, body, parts), IMPORT_SECTION_TITLE);
      log(`\nwrote ${REPORT}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(reportDir, { recursive: true, force: true });
  }
}

function table(runs: Run[]): { head: string[]; body: string[][] } {
  const head = [
    'target',
    'memories',
    'import s',
    'memories/s',
    'command s',
    'peak RSS MiB',
    'auren CPU s',
    'PostgreSQL CPU s',
    'cores busy',
    'other load',
    'steal',
    'load avg before',
  ];
  const body = runs.map((r) => [
    r.name,
    int(r.report.memories.found),
    r.report.seconds.toFixed(1),
    int(r.report.memories_per_second),
    r.wallSeconds.toFixed(1),
    String(r.report.peak_rss_mib),
    (r.cpu.children / 1000).toFixed(1),
    r.cpu.postgres === null ? 'n/a' : (r.cpu.postgres / 1000).toFixed(1),
    ...loadCells(r.cpu, r.wallSeconds),
    r.loadBefore.toFixed(2),
  ]);
  return { head, body };
}

const perMemory = (cpuMs: number | null, memories: number) =>
  cpuMs === null || memories === 0 ? 'n/a' : ((cpuMs * 1000) / memories).toFixed(0);

function breakdownTable(breakdown: { name: string; cpuMs: number }[]): { head: string[]; body: string[][]; serialUs: number } {
  const all = breakdown[0]!.cpuMs;
  const serial = breakdown.find((b) => b.name === SERIAL_CASE);
  return {
    head: ['setup', 'PostgreSQL CPU ms', 'µs per memory', 'share of append_batch()'],
    body: breakdown.map((b) => [
      b.name,
      String(b.cpuMs),
      ((b.cpuMs * 1000) / BREAKDOWN_SIZE).toFixed(0),
      b === breakdown[0] ? '100%' : `${((b.cpuMs / all) * 100).toFixed(0)}%`,
    ]),
    serialUs: serial ? (serial.cpuMs * 1000) / BREAKDOWN_SIZE : Number.NaN,
  };
}

function section(
  runs: Run[],
  set: { files: number; memories: number; bytes: number },
  facts: Awaited<ReturnType<typeof machineFacts>>,
  head: string[],
  body: string[][],
  parts: { head: string[]; body: string[][]; serialUs: number },
): string {
  const first = runs[0]!;
  const met = first.report.memories_per_second >= GOAL_PER_SECOND;
  const memories = first.report.memories.found;
  const postgresUs = perMemory(first.cpu.postgres, memories);
  const importerUs = perMemory(first.cpu.children, memories);
  const cpuBound = (facts.cores * 1e6) / ((((first.cpu.postgres ?? Number.NaN) + first.cpu.children) * 1000) / memories);
  const serialUs = parts.serialUs.toFixed(0);
  const serialBound = 1e6 / parts.serialUs;
  return `${IMPORT_SECTION_TITLE}

\`npm run bench:import\`, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: \`auren migrate DIR --recursive\` as the
real command (tsx) on ${int(set.memories)} memories in ${int(set.files)} files (${(set.bytes / 2 ** 20).toFixed(1)} MiB of JSON; the seed's
four shapes in turn, six agent folders, a person's UUID in each file name; \`bench/importer/legacyFiles.ts\`), into a fresh
database on ${facts.postgresHost} (${facts.postgres.split(' on ')[0]}, fsync=${facts.settings.fsync}, synchronous_commit=${facts.settings.synchronous_commit}),
${facts.cores} cores, Node ${facts.node}. "import s" and memories/s are the importer's own (files read to last commit, from
its report); "command s" adds the process start and the database connection. CPU is of the command's processes and of the
PostgreSQL backends serving its database (sampled every 100 ms); "cores busy" is ours over the command's wall time; "other load" is the rest of the machine
(other sessions' tests and benchmarks) over the same time: **read the rates with it**.

Goal: ≥ ${int(GOAL_PER_SECOND)} memories/s on the first import — **${met ? 'met' : 'not met'}** (${int(first.report.memories_per_second)}/s, machine
load average ${first.loadBefore.toFixed(2)} on ${facts.cores} cores as it started). PostgreSQL spent ${postgresUs} µs of CPU per memory in it and the
importer ${importerUs} µs (process start included). Two bounds follow, for this machine with nothing else running: the CPU of
both on ${facts.cores} cores, ${int(cpuBound)} memories/s; and the part that cannot run in parallel, the events inserted while the log's
counter is held (${serialUs} µs per memory, below), ${int(serialBound)} memories/s. Before issue 15's rework (BENCHMARKS.md of 0f2a829:
every memory through \`append_batch()\`, its row by the trigger, the counter held throughout): 2,505 memories/s at load 7.19,
PostgreSQL 170 µs and the importer 107 µs per memory, peak RSS 230 MiB. A second run looks each batch's ids up (one indexed
read; a first import stops looking once a batch found none there) and writes nothing; a dry run only reads, hashes and checks the files. The process alone (\`auren migrate\` of an empty
folder: tsx and the service's modules) peaks near 175 MiB.

${markdownTable(head, body)}

${PROFILES}

### Where PostgreSQL's time goes

The importer writes each batch with \`append_imported_memories()\` (sql/functions/): the memories rows (with the trigger's
expressions over the same event data) and the streams first, set-wise, then the log's counter, held to commit while the
events alone are inserted; three batches are in flight on their own connections, so one batch's rows are written while
another holds the counter. The service's path, \`append_batch()\`, holds the counter for all of it. Below, the same
${int(BREAKDOWN_SIZE)} new memories (other files than above, imported into a scratch database and read back) sent to each, on one
connection, into the database above, each case in a transaction rolled back (the least of 7; the backend's CPU from
/proc, 10 ms ticks; rows that differ by less than ~15% do not differ). The halves are the function's statements run one
by one (\`bench/importer/breakdown.ts\`); the JSON parameter's parsing (~15 µs per memory) is in the first half.

${markdownTable(parts.head, parts.body)}
`;
}

// Profiles of both sides (issue 15), taken by hand on this machine; the bench does not rerun them.
const PROFILES = `### Where the CPU goes (profiles, 2026-12-01 22:50–23:50 UTC, load average 9–20 on 2 cores)

Taken while three other sessions ran their suites, so only the shares are worth reading, not the times.
**The importer** (\`node --cpu-prof\` on \`auren migrate\` of the 100,000 memories, before the changes below): of its
busy samples, 12% starting the process (tsx compiling and loading every module of the service: \`src/cli.ts\` imports
\`src/app.ts\` and its grpc, Connect, OpenTelemetry and Chroma clients before it reads its command: loading \`src/app.ts\`
took 3.3 s of CPU, \`src/importer/importer.ts\` alone 1.2 s), 20% garbage collection, 12% building
each memory_created event (\`changeAppend\` and a second \`JSON.stringify\` of content and metadata), 9% the pg driver
(\`Buffer.byteLength\` and the copy of each batch's JSON), 5% two SHA-256 ids per memory, 5% opening each file twice, 4%
checks, 2% \`JSON.parse\`. Step by step (\`process.cpuUsage\` over 5,000 items, µs per memory at load ~15): legacy rules 1,
ids 7.6 (3.3–3.7 alone at load 8: 1.7–2.2 with one hash for both), checks 7, event JSON 9, batch join 2.7, byte length 2. **PostgreSQL** (\`perf record -g\`
on the import's three backends, 3,368 samples): index inserts 34% (13 B-trees per memory: 9 on memories, 4 on events and
streams, 29%; the GIN of the search column 4%), heap inserts 16% (half of it extending the tables' files a page at a time),
the hash chain's trigger 10% (\`event_hash()\`: the event as a JSON array, as text, two SHA-256), the generated columns 8%
(the search tsvector 6%, the two \`size\` columns the rest), parsing the batch's JSON 6%, the rest the executor, PL/pgSQL and
WAL. So the schema's per-row work, not the importer's SQL, is most of PostgreSQL's ~120 µs per memory.

Changed in issue 15's second round (the table above): each memory's content and metadata are stringified once, the event's JSON built from that
text (\`test/importer/legacyRules.spec.ts\` holds it equal to \`changeAppend\`'s) as the file is read, and only that text
waits for its batch; one SHA-256 gives both ids (the memory's id unchanged); a file listed small is opened once; ids are
looked up before a batch only while the last batch found memories imported before; \`append_imported_memories()\` reads
its JSON once; an item whose event is over the event size limit is refused with its file (the run went on no further
before). The same 100,000 memories, the code before and after in turn (\`.scratch\` A/B, fresh database each, 23:45
UTC, load 9–12): importer 99 and 98 µs per memory before, 89 and 96 after (process start, ~35–40 µs of it, included);
PostgreSQL 131 and 133 before, 124 and 131 after; 4,331 and 3,652/s before, 4,696 and 4,044/s after: ~5–10%, not the
2.2× that 20,000/s needs. What it would take, from the shares above: PostgreSQL at ≤ ~60 µs needs fewer indexes per
memory (memories carries nine), no second stored copy's work (the search column and both \`size\` columns parse the
documents again) and a cheaper chain (the security helper's \`event_chain.sql\`), none of which is the importer's to
change; the importer at ≤ ~40 µs needs its process start out of \`src/cli.ts\`'s eager imports (lazy \`import()\` per
command) and less garbage (\`checkJsonValue\` builds a field path string per key before any error). A second run now
builds every memory's event before it learns the memory is there (~9 µs per memory more on a run that writes nothing).

**Third round (2026-12-02 02:00–03:00 UTC, load average 5–8 on 2 cores: other sessions' suites and benchmarks).**
PostgreSQL again (\`perf record -g\` on the three backends of a first import, 2,682 samples): index inserts 35% (B-trees 31%),
heap inserts 14% (finding a page 12%, half of it extending the file a page at a time), the generated columns 13% (the search
tsvector 8%, the two \`size\` columns 5%), the chain trigger 10%, parsing the batch's JSON 7%. Changed:
- The importer's events are hashed in the function's insert (\`event_hash()\`, as \`append_batch()\` hashes an append's first
  event: an imported event chains to nothing), so the trigger \`event_chain\` is no longer called per event (test:
  \`test/importer/bulkPath.int.spec.ts\`). Its gain is below what this machine can show: 5,000 memories into a database of
  100,000, fresh ids each call, 12 calls each interleaved (load 6.5): 750–860 ms with it, 730–900 ms with the trigger.
  The trigger's samples were mostly the hash itself, which stays.
- One B-tree less per memory written (\`sql/070\`: \`memories_user_agent_newest\` replaces \`memories_agent_user_newest\` and
  \`memories_user_agents\`): the same 100,000 rows' keys inserted into a table with the two old indexes and into one with the
  new one, interleaved, three rounds (load 6): 1,167/856/840 ms against 915/800/642 ms (heap alone ~385 ms): ~1.5–2.5 µs
  less per memory.
- The importer holds each event as UTF-8 bytes (a Buffer, outside the JavaScript heap) until its batch commits, and sends
  the batch as one Buffer in jsonb's binary format (a version byte, then the text): no join, no second encoding. The events'
  text had lived through the ~100 ms a batch waits for PostgreSQL, so garbage collections copied and promoted it: with a
  pool that answers after 150 ms (in process, \`.scratch\`) the importer took 44 µs per memory against 32 when it answered at
  once; with the change 30–34. The command, A/B interleaved (load 6–8): 75/87 µs per memory before, 65/69 after (process
  start, ~17 µs, included).
All three together against the code before them (3a622bf), the same 100,000 memories, fresh database each, interleaved
(\`.scratch\` A/B, 02:57–03:00 UTC, load average 5.4–6.9): 4,969, 6,259 and 7,455 memories/s before, 6,522, 8,095 and
6,763 after; PostgreSQL 122, 130 and 141 µs per memory before, 124, 136 and 134 after (no difference the load lets
through); the importer 78, 82 and 81 µs before, 67, 72 and 77 after.
Tried and left: a larger young generation (\`--max-semi-space-size=32\`: 79/73 against 83/74 µs, nothing); a plain insert of
the memories rows instead of \`on conflict do nothing\` (medians within 2%, not worth a fallback path for a concurrent run);
dropping indexes one at a time in rolled-back transactions (2–8% each, at ±20% noise). What 20,000/s would take here: at
most ~100 µs of CPU per memory for both sides on 2 cores; PostgreSQL is at ~105–130 µs (its floor is the schema's per-row
work: 11 B-trees, a GIN, three serializations of the documents for the two sizes and the hash, the tsvector, two heaps)
and the importer at ~45–60 µs during the import, its cost now spread thin (in process: garbage collection 8%, the event's
JSON 5%, checks 5%, SHA-256 4%, reading and parsing files 6%).

**Fourth round: the floor by COPY (2026-12-02 08:15–08:33 UTC).** What writing the same rows into the same schema costs
PostgreSQL by the cheapest route, \`COPY ... FROM STDIN\` (\`pg-copy-streams\`, \`.scratch\`): the same 100,000 memories
(imported once, read back), each route into its own fresh database (a migrated template) on its own connection, batches
of 1,000 each committed, the routes taking turns batch by batch so that the machine's drift falls on all alike; the
backend's CPU from /proc. Every route wrote the function's memories and events (checksums of every column but the times
and the hash; each hash equal to \`event_hash()\` recomputed). µs of PostgreSQL CPU per memory, round by round (run A: 3
rounds, load average 2.0–3.3; B: 3 rounds, 1.2–2.2; C: 2 rounds, 2.2–3.3):

| route | A | B | C | against the function, same round |
| --- | --- | --- | --- | ---: |
| \`append_imported_memories()\` (the importer's) | 116/94/109 | 132/110/96 | 78/79 | — |
| … without the chain's key (no hash) | 108/92/104 | 121/100/88 | | −2 to −9% |
| COPY text into memories, streams and events, hashed by the trigger \`event_chain\`, no conflict handling | 115/96/103 | 121/104/94 | | 0 to −8% |
| the same, COPY binary | | 125/104/91 | | −5% |
| COPY binary of the events into a temporary table, then the function's statements from it (\`on conflict do nothing\` kept) | 119/95/97 | 121/101/94 | | +3 to −11% |
| COPY text, no hash | 103/82/89 | 107/91/81 | | −11 to −19% |
| COPY binary, no hash | | 106/91/80 | 66/68 | −15 to −20% |
| … and no secondary index (keys only: eight B-trees and the GIN dropped) | | | 59/60 | −24% |
| … and no generated column (the tsvector, both \`size\`s) | | | 47/48 | −39% |

No route that keeps the hash is more than ~5–8% cheaper than the function, and the one that also keeps
\`on conflict do nothing\` (the temporary table) none the noise lets through; the importer keeps the function (the bar
for a second write path was 25% less). The cheapest route there is, the hash left out and conflicts not handled, is
15–20% below it: the function's own SQL (the JSON parameter, the arrays, the conflict check) is at most that share, and
the rest is the schema's per-row work: the three tables' rows, keys and WAL ~60% of the function's cost, the generated columns
~15%, the secondary indexes ~10%, the hash 2–11 µs per memory in the function's insert, 12–14 by the trigger. With the
schema as it is, PostgreSQL alone needs ~65–105 µs per memory by any route, so 20,000/s on 2 cores (≤ ~100 µs for both
sides) takes the schema changes above, not another route. The same work's CPU time also swings 1.5× between runs (the
function 78 to 132 µs) with the other sessions' load: compare within a round, not across runs.`;

/** Milliseconds the machine's cores were busy since boot (/proc/stat). */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return ((f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) * 1000) / 100;
}

async function recreateDatabase(adminUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${DATABASE} with (force)`);
    await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }
  return databaseUrl(adminUrl, DATABASE);
}

// The real `auren` command, as an operator runs it; resolves once it exited with 0 or 1 (a
// failed file is not the bench's failure, its report says).
function auren(args: string[], url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${REPOSITORY}/node_modules/.bin/tsx`, ['src/cli.ts', ...args], {
      cwd: REPOSITORY,
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 || code === 1 ? resolve() : reject(new Error(`auren ${args.join(' ')} exited with ${code}: ${stderr}`)),
    );
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
