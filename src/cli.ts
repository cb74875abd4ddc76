import { setTimeout as sleep } from 'node:timers/promises';
import { startApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { startEmbeddedPostgres } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { connectDatabase } from './db/pool.js';
import { createLogger } from './log.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';

const USAGE = `usage: auren <command>

commands:
  serve         run the data plane (the default)
  db migrate    apply the pending schema files in sql/ and exit

Configuration comes from environment variables; see README.md.`;

/** Entry point of the `auren` command. */
export async function main(argv: string[]): Promise<number> {
  const command = argv.join(' ') || 'serve';
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`auren: ${error.message}\n`);
    return 2;
  }
  const log = createLogger(config.logLevel);
  switch (command) {
    case 'serve':
      return serve(config, log);
    case 'db migrate':
      return migrateOnly(config, log);
    default:
      process.stderr.write(`auren: unknown command '${command}'\n${USAGE}\n`);
      return 2;
  }
}

async function serve(config: Config, log: Logger): Promise<number> {
  const app = await startApp(config, log);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal, graceMs: config.shutdownTimeoutMs }, 'shutting down: finishing open calls');
  // A second signal means: now. Not one within the first second: Ctrl-C under `npm start`
  // reaches this process twice, from the terminal and forwarded by npm.
  const firstAt = Date.now();
  const again = () => {
    if (Date.now() - firstAt < 1_000) return;
    log.warn('second signal: exiting at once');
    process.exit(1);
  };
  process.on('SIGTERM', again);
  process.on('SIGINT', again);
  await app.stop();
  return 0;
}

async function migrateOnly(config: Config, log: Logger): Promise<number> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort, database: 'auren' }, log);
  const url = config.databaseUrl ?? embedded!.url;
  const pool = await connectDatabase({ url, maximumPoolSize: 1 }, config.startupTimeoutMs, log).catch(async (error: unknown) => {
    await embedded?.stop();
    throw error;
  });
  try {
    const applied = await migrate(url, log);
    log.info({ applied }, applied.length ? 'schema migrated' : 'schema already up to date');
    return 0;
  } finally {
    await pool.end();
    await embedded?.stop();
  }
}

main(process.argv.slice(2)).then(
  async (code) => {
    await sleep(10); // let the logger flush
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`auren: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    if (error instanceof Error && error.cause) process.stderr.write(`caused by: ${String((error.cause as Error).message ?? error.cause)}\n`);
    process.exit(1);
  },
);
