import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../log.js';

/** A consumer's advisory lock, held by the session of a connection of its own. */
export interface ConsumerLock {
  /** Aborted when the consumer stops, by end(), or when the lock connection is lost. */
  signal: AbortSignal;
  /** The lock connection was lost: another replica may hold the lock by now. */
  lost(): boolean;
  /** Aborts the signal; the lock stays held until release(). */
  end(): void;
  /** Ends the session, which releases the lock. */
  release(): Promise<void>;
}

/** What taking a consumer's lock needs. */
export interface ConsumerLockOptions {
  /** The consumer's name: the lock key is derived from it. */
  name: string;
  databaseUrl: string;
  log: Logger;
  /** How often to try again while another replica holds the lock or the database fails. */
  retryMs: number;
  /** The consumer stopping: ends the wait, and aborts a held lock's signal. */
  stopping: AbortSignal;
}

const HEARTBEAT_MS = 5_000;
const LOCK_QUERY_TIMEOUT_MS = 10_000;
const CLOSE_WAIT_MS = 1_000;

/**
 * Takes the consumer's `pg_try_advisory_lock` on a connection of its own, trying again every
 * `retryMs` while another replica holds it; undefined when stopped first. When the holder's
 * process dies its session ends and PostgreSQL frees the lock for a standby.
 */
export async function acquireConsumerLock(options: ConsumerLockOptions): Promise<ConsumerLock | undefined> {
  const { log, retryMs, stopping } = options;
  const key = lockKey(options.name);
  let client: pg.Client | undefined;
  let standingBy = false;
  while (!stopping.aborted) {
    try {
      client ??= await openLockClient(options);
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1::bigint) as locked', [key]);
      if (rows[0]?.locked) return hold(client, options);
      if (!standingBy) log.info('another replica holds the consumer lock; standing by');
      standingBy = true;
    } catch (error) {
      log.warn({ err: error, retryInMs: retryMs }, 'could not try the consumer lock; retrying');
      if (client) await closeClient(client);
      client = undefined;
    }
    await sleep(retryMs, undefined, { signal: stopping }).catch(() => undefined);
  }
  if (client) await closeClient(client);
  return undefined;
}

/** The advisory lock key of a consumer: 64 bits of a hash of its name, as a decimal string. */
export function lockKey(name: string): string {
  return createHash('sha256').update(`auren.consumer:${name}`).digest().readBigInt64BE(0).toString();
}

// The lock is the session's: when the connection ends, so does the right to process.
function hold(client: pg.Client, { log, stopping }: ConsumerLockOptions): ConsumerLock {
  const controller = new AbortController();
  let lost = false;
  let released = false;
  const lose = (why: unknown) => {
    if (released || lost) return;
    lost = true;
    log.warn({ err: why }, 'lost the consumer lock connection; stopping at once and taking the lock again');
    controller.abort();
  };
  const onEnd = () => lose(new Error('the lock connection closed'));
  const onStop = () => controller.abort();
  client.on('error', lose);
  client.on('end', onEnd);
  stopping.addEventListener('abort', onStop, { once: true });
  if (stopping.aborted) controller.abort();
  // A silently cut network raises no event: a heartbeat that fails or times out (see
  // query_timeout) counts as losing the lock too.
  const heartbeat = setInterval(() => void client.query('select 1').catch(lose), HEARTBEAT_MS);
  return {
    signal: controller.signal,
    lost: () => lost,
    end: () => controller.abort(),
    async release() {
      released = true;
      clearInterval(heartbeat);
      stopping.removeEventListener('abort', onStop);
      controller.abort();
      await closeClient(client);
    },
  };
}

// The one connection outside slonik besides LISTEN (src/tails/wakeups.ts): an advisory lock
// is session state, which a pooled connection must not hold, so the lock gets a pg client.
async function openLockClient({ databaseUrl, name }: ConsumerLockOptions): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: `auren consumer ${name}`,
    keepAlive: true,
    connectionTimeoutMillis: LOCK_QUERY_TIMEOUT_MS,
    query_timeout: LOCK_QUERY_TIMEOUT_MS,
  });
  // Failures surface through the failing query or the session's watch; an 'error' event
  // without a listener would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await closeClient(client);
    throw error;
  }
  return client;
}

// Ends a client, waiting a bounded time: over a silently cut network the goodbye never arrives.
async function closeClient(client: pg.Client): Promise<void> {
  await Promise.race([client.end().catch(() => undefined), sleep(CLOSE_WAIT_MS, undefined, { ref: false })]);
}
