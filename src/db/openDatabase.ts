import { startEmbeddedPostgres } from './embedded.js';
import { migrateAtStart } from './migrate.js';
import { connectDatabase } from './pool.js';
import type { DatabasePool } from './pool.js';
import type { Logger } from '../log.js';
import type { Interceptor } from 'slonik';

/** Where the database is and how long to wait for it. */
export interface DatabaseOptions {
  /** Unset: run the embedded PostgreSQL under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Port of the embedded PostgreSQL; 0 picks a free one. */
  embeddedPort: number;
  poolSize: number;
  startupTimeoutMs: number;
  /** Slonik interceptors of the pool, after the row check. */
  interceptors?: readonly Interceptor[];
}

/** A database ready for the service: reachable, its schema applied. */
export interface OpenDatabase {
  url: string;
  pool: DatabasePool;
  /** The numbered schema files this opening applied. */
  applied: string[];
  /** Closes the pool, then stops the embedded PostgreSQL if it was started here. */
  close(): Promise<void>;
}

/**
 * Opens the service's database, as `auren serve` and `auren db migrate` both need it: the
 * embedded PostgreSQL when no URL is configured, a pool once the server answers (retrying
 * with backoff), and the schema migrated. A failure stops what was started.
 */
export async function openDatabase(options: DatabaseOptions, log: Logger): Promise<OpenDatabase> {
  let url = options.databaseUrl;
  let stopEmbedded = async () => {};
  if (!url) {
    log.info('DATABASE_URL is not set: starting the embedded PostgreSQL');
    const embedded = await startEmbeddedPostgres({ dataDir: options.dataDir, port: options.embeddedPort, database: 'auren' }, log);
    url = embedded.url;
    stopEmbedded = embedded.stop;
  }
  let pool: DatabasePool | undefined;
  try {
    pool = await connectDatabase(
      { url, maximumPoolSize: options.poolSize, interceptors: options.interceptors ?? [] },
      options.startupTimeoutMs,
      log,
    );
    const applied = await migrateAtStart(url, log);
    const opened = pool;
    return {
      url,
      pool: opened,
      applied,
      async close() {
        // A pool whose server went away may fail to close its connections; stopping goes on.
        await opened.end().catch((error: unknown) => log.warn({ err: error }, 'closing the PostgreSQL pool failed'));
        await stopEmbedded();
      },
    };
  } catch (error) {
    await pool?.end().catch(() => undefined);
    await stopEmbedded().catch(() => undefined);
    throw error;
  }
}
