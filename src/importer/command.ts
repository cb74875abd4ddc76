import { writeFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { memoryLimits } from '../memory/limits.js';
import type { Config } from '../config.js';
import { openDatabase } from '../db/openDatabase.js';
import { DomainError, InvalidArgument } from '../errors.js';
import { chainPads } from '../events/chain.js';
import { CHAIN_KEY_PURPOSE, loadServerSecret } from '../auth/secret.js';
import type { Logger } from '../log.js';
import { checkName } from '../memory/validation.js';
import { importLegacyFiles } from './importer.js';
import type { ImportOptions } from './importer.js';
import { startProgress } from './progress.js';
import { summaryTable } from './report.js';

/** The usage of `auren migrate`. */
export const MIGRATE_USAGE = `usage: auren migrate <dir> [--dry-run] [--recursive] [--agent ID] [--user ID] [--report FILE]

Imports legacy JSON memory files (the seed's shapes) as memories, each once however often
it runs or is interrupted. --agent and --user name the agent and person of files whose data
names none (before file and folder names are tried); --report writes the JSON report.`;

// Memories per commit: measured in bench/importer (larger batches gain little past it).
const BATCH_SIZE = 1000;
// Batches committing at once, each on its own connection (measured in bench/importer).
const BATCHES_IN_FLIGHT = 3;
// Files up to this size are parsed whole; larger ones are streamed.
const STREAM_ABOVE_BYTES = 16 * 1024 * 1024;

/** What `auren migrate` was asked, or why it cannot run (exit code 2). */
export type MigrateRequest = { options: ImportOptions; reportFile: string | null } | { usageError: string };

/** Reads the arguments of `auren migrate`. */
export function parseMigrateArgs(args: string[]): MigrateRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        'dry-run': { type: 'boolean', default: false },
        recursive: { type: 'boolean', default: false },
        agent: { type: 'string' },
        user: { type: 'string' },
        report: { type: 'string' },
      },
    });
  } catch (error) {
    return { usageError: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) return { usageError: positionals.length === 0 ? 'the folder to import is missing' : 'expects one folder' };
  try {
    return {
      options: {
        dir: positionals[0]!,
        recursive: values.recursive,
        dryRun: values['dry-run'],
        agentId: values.agent === undefined ? null : checkName('--agent', values.agent),
        userId: values.user === undefined ? null : checkName('--user', values.user),
        batchSize: BATCH_SIZE,
        batchesInFlight: BATCHES_IN_FLIGHT,
        streamAbove: STREAM_ABOVE_BYTES,
      },
      reportFile: values.report ?? null,
    };
  } catch (error) {
    if (error instanceof InvalidArgument) return { usageError: error.message };
    throw error;
  }
}

/**
 * Runs `auren migrate`: 0 when every file was imported (or already was), 1 when a file
 * failed, 2 for a wrong command line. A dry run needs no database.
 */
export async function migrateCommand(args: string[], config: Config, log: Logger): Promise<number> {
  const request = parseMigrateArgs(args);
  if ('usageError' in request) {
    process.stderr.write(`auren migrate: ${request.usageError}\n${MIGRATE_USAGE}\n`);
    return 2;
  }
  const { options, reportFile } = request;
  const folder = await stat(options.dir).catch(() => null);
  if (!folder?.isDirectory()) {
    process.stderr.write(`auren migrate: '${options.dir}' is not a folder\n`);
    return 2;
  }
  const limits = memoryLimits(config);
  const database = options.dryRun
    ? null
    : await openDatabase(
        {
          databaseUrl: config.databaseUrl,
          dataDir: config.dataDir,
          embeddedPort: config.embeddedPostgresPort,
          // One connection per batch in flight, and one to look up the next batch's ids.
          poolSize: options.batchesInFlight + 1,
          startupTimeoutMs: config.startupTimeoutMs,
        },
        log,
      );
  // Its events are chained with the server's key, as the service's are (`auren audit verify`).
  const chainKey =
    database &&
    (await loadServerSecret({ secret: config.auth.secret, dataDir: config.dataDir, previous: config.auth.previousSecrets })).derive(
      CHAIN_KEY_PURPOSE,
    );
  const memories = database && {
    pool: database.pool,
    chain: chainKey ? chainPads(chainKey) : undefined,
    eventMaxBytes: config.events.eventMaxBytes,
  };
  const progress = startProgress();
  try {
    let report;
    try {
      report = await importLegacyFiles(options, { memories, limits }, (p) => progress.update(p));
    } catch (error) {
      // The database went away (or refused a batch): what was committed stays, and a run
      // again imports the rest.
      if (!(error instanceof DomainError)) throw error;
      progress.stop();
      process.stderr.write(`auren migrate: stopped: ${error.message}; run it again to import the rest\n`);
      return 1;
    }
    progress.stop();
    process.stdout.write(`${summaryTable(report)}\n`);
    if (reportFile !== null) {
      try {
        await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
      } catch (error) {
        process.stderr.write(`auren migrate: cannot write the report to '${reportFile}': ${(error as Error).message}\n`);
        return 1;
      }
    }
    return report.files.failed > 0 ? 1 : 0;
  } finally {
    progress.stop();
    await database?.close();
  }
}
