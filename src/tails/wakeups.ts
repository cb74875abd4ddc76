import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import type { DatabasePool } from 'slonik';
import { noRows } from '../db/pool.js';
import type { Notification } from '../events/queries.js';
import type { Logger } from '../log.js';

/**
 * The channel appends are announced on. NOTIFY only says "look"; its payload names the sending
 * process, so that a process knows its own notifications, whichever connection sent them.
 */
export const CHANNEL = 'auren_events';

const OTHERS_CHECK_MS = 2_000;
const othersRow = z.object({ others: z.boolean() });

/** application_name of the LISTEN connection, to find it in pg_stat_activity. */
export const LISTENER_NAME = 'auren-listener';

/** Wake-ups for tails: local appends at once, other processes' appends through LISTEN/NOTIFY. */
export interface Wakeups {
  /** Registers a function called on every wake-up; returns its removal. */
  onWake(listener: () => void): () => void;
  /**
   * The NOTIFY an append's transaction should send at commit, when other processes listen: they
   * are then woken by PostgreSQL as it commits, with no round trip of this process's after it.
   */
  notification(): Notification | undefined;
  /**
   * Call after an append committed: wakes this process's tails (unless `local` is false: they
   * have the events already) and, coalesced, other processes' (unless the commit itself
   * `notified` them).
   */
  appended(local?: boolean, notified?: boolean): void;
  /** Whether the LISTEN connection is up. */
  listening(): boolean;
  stop(): Promise<void>;
}

/** Options of the wake-ups. */
export interface WakeupOptions {
  databaseUrl: string;
  pool: DatabasePool;
  /** Send NOTIFY after local appends (for tails in other processes). */
  notify: boolean;
  log: Logger;
}

/**
 * Starts the process's one LISTEN connection (its own pg client: slonik resets pooled
 * connections, which would drop the LISTEN), reconnecting with backoff when it drops. The
 * append transaction sends the NOTIFY itself (notification()) when other processes listen;
 * when it did not (appended(…, false)), one is sent after the commit, at most one in flight:
 * appends made meanwhile are covered by one more NOTIFY once it returns.
 */
export function createWakeups(options: WakeupOptions): Wakeups {
  const { log } = options;
  const listeners = new Set<() => void>();
  let stopped = false;
  let client: pg.Client | undefined;
  let connected = false;
  let notifying = false;
  let notifyAgain = false;
  const stopping = new AbortController();
  let listenerPid: number | null = null;
  // This process's notifications carry it, whichever connection (the listener's, the pool's, an append's) sent them.
  const own: Notification = { channel: CHANNEL, payload: randomUUID() };

  const wake = () => {
    for (const listener of listeners) listener();
  };

  async function listenForever(): Promise<void> {
    let delay = 100;
    while (!stopped) {
      const c = new pg.Client({ connectionString: options.databaseUrl, application_name: LISTENER_NAME });
      let closed = false;
      const ended = new Promise<void>((resolve) => {
        c.once('end', () => {
          closed = true;
          resolve();
        });
        c.on('error', (error) => {
          if (!stopped) log.warn({ err: error }, 'LISTEN connection failed');
          resolve();
        });
      });
      try {
        await c.connect();
        // Our own NOTIFY (sent from any connection, named by its payload) wakes nobody: this
        // process woke its tails when it committed.
        c.on('notification', (message) => {
          if (message.payload !== own.payload) wake();
        });
        await c.query(`listen ${CHANNEL}`);
        if (stopped) return; // stop() came while connecting; finally closes the client
        client = c;
        listenerPid = (c as unknown as { processID: number | null }).processID;
        connected = true;
        othersCheckedAt = 0;
        delay = 100;
        log.debug('LISTEN connection up');
        wake(); // anything appended while it was down
        await ended;
      } catch (error) {
        if (!stopped) log.warn({ err: error, retryInMs: delay }, 'LISTEN connection could not be opened');
      } finally {
        connected = false;
        client = undefined;
        c.removeAllListeners('notification');
        // end() on a client that has already ended never settles.
        if (!closed) await c.end().catch(() => undefined);
      }
      if (stopped) return;
      wake(); // tails fall back to reading until the listener is back
      await sleep(delay, undefined, { signal: stopping.signal }).catch(() => undefined);
      delay = Math.min(delay * 2, 5_000);
    }
  }

  // NOTIFY goes out on the LISTEN connection when it is up: no pool connection taken and no
  // slonik round of parsing for a statement that returns nothing.
  const notifyQuery = sql.type(noRows)`select pg_notify(${CHANNEL}, ${own.payload})`;
  async function sendNotify(): Promise<void> {
    if (notifying) {
      notifyAgain = true;
      return;
    }
    notifying = true;
    try {
      do {
        notifyAgain = false;
        if (client && connected) await client.query('select pg_notify($1, $2)', [CHANNEL, own.payload]);
        else await options.pool.query(notifyQuery);
      } while (notifyAgain && !stopped);
    } catch (error) {
      log.warn({ err: error }, 'NOTIFY failed; other processes will poll');
    } finally {
      notifying = false;
    }
  }

  // NOTIFY is only for the listeners of other processes. Which exist is read every couple of
  // seconds (and at each reconnect): alone on its database a process sends none and saves a
  // round trip per append; a replica that joins is told within that time and polls meanwhile.
  let othersListening = true;
  let othersCheckedAt = 0;
  async function checkOtherListeners(): Promise<void> {
    othersCheckedAt = Date.now();
    try {
      const row = await options.pool.one(sql.type(othersRow)`
        select exists (
          select 1 from pg_stat_activity
           where datname = current_database() and application_name = ${LISTENER_NAME}
             and pid <> coalesce(${listenerPid}::int, 0)
        ) as others`);
      othersListening = row.others;
    } catch {
      othersListening = true; // unknown: notify
    }
  }

  const running = listenForever();

  // Whether another process listens, so that a commit should wake it (as last known: looked at
  // again in the background every OTHERS_CHECK_MS).
  function othersToWake(): boolean {
    if (!options.notify || stopped) return false;
    if (Date.now() - othersCheckedAt > OTHERS_CHECK_MS) void checkOtherListeners();
    return othersListening;
  }

  return {
    onWake(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notification() {
      return othersToWake() ? own : undefined;
    },
    appended(local = true, notified = false) {
      if (local) wake();
      if (!notified && othersToWake()) void sendNotify();
    },
    listening: () => connected,
    async stop() {
      stopped = true;
      stopping.abort();
      await client?.end().catch(() => undefined);
      await running;
    },
  };
}
