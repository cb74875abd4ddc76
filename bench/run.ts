// `npm run bench`: append throughput of AUREN (gRPC), Emmett and plain pg on one PostgreSQL, then
// live tails (bench/tails/), then MemoryService (bench/memory/). BENCH_ONLY=append, tails or memory runs one part.
import { fileURLToPath } from 'node:url';
import { runClosedLoop } from './append.js';
import type { RunResult } from './append.js';
import { loadBenchConfig } from './config.js';
import { cpuMeter, isLocalHost } from './cpu.js';
import { analyze, checkpoint, DATABASES, machineFacts, postgresPids, recreateDatabases } from './databases.js';
import { payloadBytes } from './payload.js';
import { markdownSection, printResults, TARGETS, writeSection } from './report.js';
import type { ScenarioResult, TargetName } from './report.js';
import { aurenTarget } from './targets/auren.js';
import { emmettTarget } from './targets/emmett.js';
import { plainPgTarget } from './targets/plainPg.js';
import type { BenchTarget } from './targets/target.js';
import type { BenchConfig } from './config.js';
import type { MachineFacts } from './databases.js';
import { loadTailsConfig } from './tails/config.js';
import { runTailsBench } from './tails/run.js';
import { printTailResults, TAILS_SECTION_TITLE, tailsMarkdownSection } from './tails/report.js';
import { loadMemoryConfig } from './memory/config.js';
import { memoryBenchPart } from './memory/run.js';

const PRIME = { eventsPerAppend: 100, clients: 8 };
const PRIME_LIMIT_MS = 120_000;
const REPORT = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

const PARTS = ['append', 'tails', 'memory'] as const;

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY || undefined;
  if (only !== undefined && !(PARTS as readonly string[]).includes(only))
    throw new Error(`BENCH_ONLY=${only}: expects ${PARTS.join(' or ')}`);
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
  if (only === undefined || only === 'append') await appendBench(config, facts, postgresIsLocal, log);
  if (only === undefined || only === 'tails') {
    log('\nLive tails');
    const started = Date.now();
    const results = await runTailsBench(tailsConfig, {
      adminUrl: config.adminUrl,
      serverPoolSize: config.serverPoolSize,
      postgresIsLocal,
      log,
    });
    log(`live tails took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    printTailResults(results);
    if (config.write) {
      writeSection(REPORT, tailsMarkdownSection(results, facts, tailsConfig, new Date()), TAILS_SECTION_TITLE);
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
}

async function appendBench(config: BenchConfig, facts: MachineFacts, postgresIsLocal: boolean, log: (line: string) => void): Promise<void> {
  log(
    `${config.scenarios.length} scenarios × ${TARGETS.length} targets × (${config.warmupSeconds} s warm-up + ${config.seconds} s); ` +
      `gRPC connections: ${config.grpcConnections}`,
  );

  const urls = await recreateDatabases(config.adminUrl);
  const targets: Partial<Record<TargetName, BenchTarget>> = {};
  const results: ScenarioResult[] = [];
  const totals: Record<TargetName, number> = { auren: 0, emmett: 0, pg: 0 };
  try {
    targets.auren = await aurenTarget(urls.auren, config.serverPoolSize, config.grpcConnections);
    targets.emmett = await emmettTarget(urls.emmett);
    targets.pg = await plainPgTarget(urls.pg);

    // Untimed: every target starts from the same number of stored events, past the near-empty-table plans.
    if (config.primeEvents > 0) {
      for (const name of TARGETS) {
        const open = await targets[name]!.open(PRIME);
        try {
          const r = await runClosedLoop({
            label: 'prime',
            ...PRIME,
            warmupMs: 0,
            measureMs: PRIME_LIMIT_MS,
            maxAppends: Math.ceil(config.primeEvents / PRIME.eventsPerAppend),
            append: open.append,
          });
          totals[name] += r.totalAppends * PRIME.eventsPerAppend;
        } finally {
          await open.close();
        }
      }
      log(`primed: ${TARGETS.map((t) => `${t} ${totals[t]} events`).join(', ')} (untimed)`);
    }

    for (const scenario of config.scenarios) {
      const byTarget: Partial<Record<TargetName, RunResult>> = {};
      for (const name of TARGETS) {
        const target = targets[name]!;
        await analyze(urls[name]);
        await checkpoint(config.adminUrl);
        const open = await target.open(scenario);
        try {
          const meter = cpuMeter({ serverPid: target.serverPid, postgresIsLocal });
          const r = await runClosedLoop({
            label: `e${scenario.eventsPerAppend}c${scenario.clients}`,
            clients: scenario.clients,
            eventsPerAppend: scenario.eventsPerAppend,
            warmupMs: config.warmupSeconds * 1000,
            measureMs: config.seconds * 1000,
            append: open.append,
            window: meter,
          });
          // While the pools are still open: which PostgreSQL processes served this target.
          if (r.cpu && postgresIsLocal) r.cpu = meter.restrict(r.cpu, await postgresPids(config.adminUrl, DATABASES[name]));
          byTarget[name] = r;
        } finally {
          await open.close();
        }
        const r = byTarget[name]!;
        totals[name] += r.totalAppends * scenario.eventsPerAppend;
        log(
          `${String(scenario.eventsPerAppend).padStart(3)} ev/append ${String(scenario.clients).padStart(2)} clients  ${name.padEnd(6)} ` +
            `${Math.round(r.eventsPerSecond).toString().padStart(7)} ev/s ${Math.round(r.appendsPerSecond).toString().padStart(6)} appends/s  ` +
            `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`,
        );
      }
      results.push({ scenario, results: byTarget as Record<TargetName, RunResult> });
    }

    // Every append the clients saw succeed must be in its database, no more, no less.
    for (const name of TARGETS) {
      const stored = await targets[name]!.countEvents();
      if (stored !== totals[name]) throw new Error(`${name}: ${stored} events stored, but ${totals[name]} appended`);
    }
    log(`checked: every appended event is stored (${TARGETS.map((t) => `${t} ${totals[t]}`).join(', ')})`);
  } finally {
    for (const name of TARGETS) await targets[name]?.close();
  }

  printResults(results, config.seconds);
  if (config.write) {
    writeSection(REPORT, markdownSection(results, facts, config, payloadBytes(), new Date()));
    log(`\nwrote ${REPORT}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
