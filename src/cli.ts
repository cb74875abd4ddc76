import { setTimeout as sleep } from 'node:timers/promises';
import { version } from './version.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/openDatabase.js';
import { auditCommand } from './audit/verifyCommand.js';
import { keysCommand, KEYS_USAGE } from './auth/keysCommand.js';
import { loadServerSecret } from './auth/secret.js';
import { createLogger } from './log.js';
import { oneLine, StartupError } from './startupError.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';

const USAGE = `usage: auren [command]

commands:
  serve           run the data plane (the default)
  db migrate      apply the pending schema files in sql/ and exit
${KEYS_USAGE}
  audit verify [--stream ID] [--page-size N]
                  recompute the log's hash chains, N events at a time (progress on stderr);
                  report every event changed, removed or inserted
  migrate <dir>   import legacy JSON memory files, each memory once (auren migrate --help)
  projections status            each projection's checkpoint and lag
  projections rebuild redis|chroma  replay one projection from the start of the log (the service may run)
  --version, -v   print the version and exit
  --help, -h      print this help and exit

Configuration comes from environment variables (PORT, DATABASE_URL, AUREN_DATA_DIR, ...):
see "Configuration" in README.md. Without DATABASE_URL an embedded PostgreSQL is started,
its data kept in AUREN_DATA_DIR (./.auren). Logs are JSON lines on stdout.`;

export { version } from './version.js';

// The service (app.ts: both servers, the projections, telemetry), the importer and the
// projections' commands are loaded by the command that runs them: loading them all cost every
// `auren keys` or `auren migrate` about 3 s of CPU before it read its arguments.

/** Entry point of the `auren` command; resolves to its exit code, rejects with a StartupError when the start fails. */
export async function main(argv: string[]): Promise<number> {
  const command = argv.join(' ') || 'serve';
  if (['help', '--help', '-h'].includes(command)) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (['version', '--version', '-v'].includes(command)) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (argv[0] === 'keys' || argv[0] === 'audit') return databaseCommand(argv);
  if (argv[0] === 'migrate') return migrate(argv.slice(1));
  if (argv[0] === 'projections') {
    const config = loadConfig();
    const { projectionsCommand } = await import('./projections/cli.js');
    return projectionsCommand(argv.slice(1), config, createLogger(config.logLevel));
  }
  if (command !== 'serve' && command !== 'db migrate') {
    process.stderr.write(`auren: unknown command '${command}'; see auren --help\n`);
    return 2;
  }
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  return command === 'serve' ? serve(config, log) : migrateOnly(config, log);
}

async function serve(config: Config, log: Logger): Promise<number> {
  // One pair of handlers for the whole life of the process: a signal caught while handlers
  // were being swapped would be lost.
  let phase: 'starting' | 'serving' | 'stopping' = 'starting';
  let firstAt = 0;
  let requestStop!: (signal: NodeJS.Signals) => void;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (requestStop = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (phase === 'starting') {
      // No calls to finish yet: end at once; the embedded PostgreSQL, if started, gets its
      // shutdown from its exit hook.
      process.stderr.write(`auren: stopped by ${signal} while starting\n`);
      process.exit(1);
    }
    if (phase === 'serving') {
      phase = 'stopping';
      firstAt = Date.now();
      requestStop(signal);
      return;
    }
    // A second signal means: now. Not one within the first second: Ctrl-C under `npm start`
    // reaches this process twice, from the terminal and forwarded by npm.
    if (Date.now() - firstAt < 1_000) return;
    log.warn('second signal: exiting at once');
    process.exit(1);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const { startApp } = await import('./app.js');
  const app = await startApp(config, log);
  phase = 'serving';
  const signal = await stopRequested;
  log.info({ signal, graceMs: config.shutdownTimeoutMs }, 'shutting down: finishing open calls');
  await app.stop();
  return 0;
}

// `auren keys …` and `auren audit …`: on the configured (or embedded) database, migrated.
async function databaseCommand(argv: string[]): Promise<number> {
  const config = loadConfig();
  // Their answer is on stdout: the logs there only when asked for below warn.
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(
    {
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      embeddedPort: config.embeddedPostgresPort,
      poolSize: 2,
      startupTimeoutMs: config.startupTimeoutMs,
    },
    log,
  );
  const output = { out: (line: string) => process.stdout.write(`${line}\n`), err: (line: string) => process.stderr.write(`${line}\n`) };
  try {
    const secret = await loadServerSecret({ secret: config.auth.secret, dataDir: config.dataDir, previous: config.auth.previousSecrets });
    if (argv[0] === 'keys') return await keysCommand(argv.slice(1), database.pool, secret, output);
    return await auditCommand(argv.slice(1), database.pool, secret, output);
  } finally {
    await database.close();
  }
}

async function migrate(args: string[]): Promise<number> {
  const { MIGRATE_USAGE, migrateCommand } = await import('./importer/command.js');
  if (args.some((arg) => ['--help', '-h'].includes(arg))) {
    process.stdout.write(`${MIGRATE_USAGE}\n`);
    return 0;
  }
  const config = loadConfig();
  // Its output is the progress and the summary: info lines (schema migrated…) would mix in.
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  // Interrupted, it ends through exit, so an embedded PostgreSQL is stopped; a run again resumes.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nauren migrate: stopped by ${signal}; run it again to import the rest\n`);
      process.exit(130);
    });
  }
  return migrateCommand(args, config, log);
}

async function migrateOnly(config: Config, log: Logger): Promise<number> {
  const database = await openDatabase(
    {
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      embeddedPort: config.embeddedPostgresPort,
      poolSize: 1,
      startupTimeoutMs: config.startupTimeoutMs,
    },
    log,
  );
  log.info({ applied: database.applied }, database.applied.length ? 'schema migrated' : 'schema already up to date');
  await database.close();
  return 0;
}

main(process.argv.slice(2)).then(
  async (code) => {
    await sleep(10); // let the logger flush
    process.exit(code);
  },
  async (error: unknown) => {
    await sleep(10);
    // A start that failed for a reason the operator can act on: one line, what to do included.
    if (error instanceof StartupError) {
      process.stderr.write(`auren: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    // A bug: one line first, then the stack for whoever fixes it.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`auren: unexpected error: ${oneLine(message)}\n`);
    if (error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
