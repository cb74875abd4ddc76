// `npm run bench`: appends of AUREN (gRPC), Emmett and plain pg on one PostgreSQL, hot streams and
// the trivial call with h2load (bench/appendPart.ts), then live tails (bench/tails/), then
// MemoryService (bench/memory/). BENCH_ONLY=append, tails or memory runs one part. Each part
// rewrites its section of BENCHMARKS.md and its rows of the goals table at the top.
import { fileURLToPath } from 'node:url';
import { runAppendBench } from './appendPart.js';
import { loadBenchConfig } from './config.js';
import { isLocalHost } from './cpu.js';
import { machineFacts } from './databases.js';
import { writeGoals } from './goals.js';
import { payloadBytes } from './payload.js';
import { appendGoals, markdownSection, printResults, SECTION_TITLE } from './report.js';
import { writeSection } from './tables.js';
import { loadTailsConfig } from './tails/config.js';
import { runTailsBench } from './tails/run.js';
import { printTailResults, TAILS_SECTION_TITLE, tailGoals, tailsMarkdownSection } from './tails/report.js';
import { loadMemoryConfig } from './memory/config.js';
import { memoryBenchPart } from './memory/run.js';

const REPORT = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

const PARTS = ['append', 'tails', 'memory'] as const;

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY || undefined;
  if (only !== undefined && !(PARTS as readonly string[]).includes(only))
    throw new Error(`BENCH_ONLY=${only}: expects ${PARTS.join(' or ')}`);
  const started = Date.now();
  const config = loadBenchConfig();
  const tailsConfig = loadTailsConfig(); // checked before anything runs
  const memoryConfig = loadMemoryConfig();
  const facts = await machineFacts(config.adminUrl);
  const postgresIsLocal = isLocalHost(new URL(config.adminUrl).hostname);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(
    `${facts.cores} cores, Node ${facts.node}, ${facts.postgres.split(' on ')[0]} at ${facts.postgresHost}, ` +
      `fsync=${facts.settings.fsync}, synchronous_commit=${facts.settings.synchronous_commit}`,
  );
  if (only === undefined || only === 'append') {
    log(`\nAppends: ${config.scenarios.length} scenarios, ${config.warmupSeconds} s warm-up + ${config.seconds} s each per target`);
    const results = await runAppendBench(config, { postgresIsLocal, log });
    printResults(results, config);
    if (config.write) {
      const when = new Date();
      writeSection(REPORT, markdownSection(results, facts, config, payloadBytes(), when), SECTION_TITLE);
      writeGoals(REPORT, appendGoals(results), when);
      log(`\nwrote ${REPORT}`);
    }
  }
  if (only === undefined || only === 'tails') {
    log('\nLive tails');
    const t0 = Date.now();
    const results = await runTailsBench(tailsConfig, {
      adminUrl: config.adminUrl,
      serverPoolSize: config.serverPoolSize,
      postgresIsLocal,
      log,
    });
    log(`live tails took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    printTailResults(results);
    if (config.write) {
      const when = new Date();
      writeSection(REPORT, tailsMarkdownSection(results, facts, tailsConfig, when), TAILS_SECTION_TITLE);
      writeGoals(REPORT, tailGoals(results), when);
      log(`\nwrote ${REPORT}`);
    }
  }
  if (only === undefined || only === 'memory') {
    log('\nMemoryService');
    await memoryBenchPart(memoryConfig, {
      adminUrl: config.adminUrl,
      postgresIsLocal,
      log,
      facts,
      reportPath: config.write ? REPORT : null,
    });
  }
  log(`\nnpm run bench${only ? ` (BENCH_ONLY=${only})` : ''} took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
