import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionError, createPool, createTypeParserPreset, SchemaValidationError, SlonikError, sql } from 'slonik';
import type { DatabasePool, DriverFactory, Interceptor, QueryResultRow } from 'slonik';
import { createPgDriverFactory } from '@slonik/pg-driver';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { rowCheck } from './fastRows.js';
import { StartupError } from '../startupError.js';

export type { DatabasePool };

/** A statement that returns no rows we read. */
export const noRows = z.object({}).passthrough();

/** Checks every row against its query's zod schema. */
// Slonik types rows by the zod schema of `sql.type(...)` but only checks them through an
// interceptor; this one parses every row, so a query that drifts from its schema fails loudly.
// The schema's compiled twin checks first (fastRows.ts); only a row it refuses is parsed by the
// schema itself, whose answer (and error) is the rule.
export const parseRows: Interceptor = {
  name: 'auren.parse-rows',
  transformRow(context, query, row) {
    const parser = context.resultParser;
    if (!parser) return row;
    const fast = rowCheck(parser)(row);
    if (fast.ok) return fast.data as QueryResultRow;
    const result = parser.safeParse(row);
    if (!result.success) throw new SchemaValidationError(query, row, result.error.issues);
    return result.data as QueryResultRow;
  },
};

/** Options of the PostgreSQL pool. */
export interface PoolOptions {
  url: string;
  maximumPoolSize: number;
  /** Interceptors after the row check (query metrics, tracing). */
  interceptors?: readonly Interceptor[];
}

// slonik 47 stops listening to a connection's errors once it destroyed the connection, but
// the socket can still fail afterwards (seen when the network drops): an 'error' event with no
// listener would crash the process. Every client keeps one listener for its whole life.
function guardedPgDriver(): DriverFactory {
  const pgDriver = createPgDriverFactory();
  return async (options) => {
    const driver = await pgDriver(options);
    return {
      ...driver,
      createClient: async () => {
        const client = await driver.createClient();
        client.on('error', () => {});
        return client;
      },
    };
  };
}

/** Creates the slonik pool; int8 columns arrive as bigint, timestamptz as epoch milliseconds. */
export async function openPool(options: PoolOptions): Promise<DatabasePool> {
  return createPool(options.url, {
    driverFactory: guardedPgDriver(),
    maximumPoolSize: options.maximumPoolSize,
    interceptors: [parseRows, ...(options.interceptors ?? [])],
    typeParsers: createTypeParserPreset(),
    statementTimeout: 'DISABLE_TIMEOUT',
    // Slonik sends DISCARD ALL when a connection returns to the pool, which costs a round
    // trip and drops every cached plan (append_to_stream's included): measured at half the
    // append rate. No code here leaves session state on a pooled connection (session-level
    // locks and LISTEN use their own clients), so the reset is skipped.
    resetConnection: async () => {},
    idleTimeout: 30_000,
    connectionTimeout: 10_000,
  });
}

/**
 * Opens the pool once PostgreSQL answers, retrying with exponential backoff (100 ms doubling
 * to 5 s) until `timeoutMs` has passed, and saying in the log what it waits for; then throws a
 * StartupError.
 */
export async function connectDatabase(options: PoolOptions, timeoutMs: number, log: Logger): Promise<DatabasePool> {
  const where = describeUrl(options.url);
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    let pool: DatabasePool | undefined;
    try {
      // Opening the pool already connects: slonik reads the server's types first.
      pool = await openPool(options);
      // An idle connection that dies (server restart, network cut) is reported here; without a
      // listener the event would crash the process. The next query opens a new connection.
      pool.on('error', (error) => log.warn({ err: error }, 'a pooled PostgreSQL connection failed'));
      await pool.query(sql.type(noRows)`select 1`);
      if (attempt > 1) log.info({ where, attempt }, 'PostgreSQL is reachable');
      return pool;
    } catch (error) {
      await pool?.end().catch(() => undefined);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new StartupError(
          {
            code: 'database_unreachable',
            failed: `PostgreSQL at ${where} did not answer within ${timeoutMs} ms`,
            reason: describe(error),
            remedy:
              'check that it runs and that DATABASE_URL is right (DB_STARTUP_TIMEOUT_MS sets how long to wait), or unset DATABASE_URL to run the embedded PostgreSQL',
          },
          { cause: error },
        );
      }
      const wait = Math.min(delay, remaining);
      log.warn({ where, attempt, retryInMs: wait, error: describe(error) }, 'waiting for PostgreSQL');
      await sleep(wait);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

/** Says where a database URL points, without its password. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

// Connection-level failures: refused, reset, timed out, the server shutting down or starting.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

/** Whether an error means PostgreSQL cannot be reached right now (worth a retry), not that a query was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  const code =
    (error as { code?: unknown } | null)?.code ??
    (error instanceof SlonikError ? (error.cause as { code?: unknown } | undefined)?.code : undefined);
  return typeof code === 'string' && UNAVAILABLE_CODES.has(code);
}

/** The SQLSTATE of a PostgreSQL error, found through the causes slonik wraps it in. */
export function sqlStateOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
