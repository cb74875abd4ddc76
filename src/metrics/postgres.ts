import { setTimeout as sleep } from 'node:timers/promises';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import { readConsumerLag } from '../consumers/lag.js';
import type { ConsumerLag } from '../consumers/lag.js';
import { inTransaction } from '../db/transaction.js';
import type { EventStore } from '../events/eventStore.js';
import type { Logger } from '../log.js';

/** What one scrape reads from PostgreSQL. */
interface Snapshot {
  connections: readonly { state: string; count: number }[];
  locks: readonly { mode: string; count: number }[];
  oldestTransactionSeconds: number;
  tableRows: readonly { table: string; rows: number }[];
  logHead: number;
  consumers: readonly ConsumerLag[];
}

/** Options of the PostgreSQL collector. */
export interface PostgresCollectorOptions {
  registry: Registry;
  pool: DatabasePool;
  /** For the log's end and the consumers' lag. */
  store: EventStore;
  /** The pool's most connections, for its utilization. */
  poolSize: number;
  log: Logger;
  /** A scrape waits at most this long for PostgreSQL; then its gauges are left out and `auren_postgres_up` is 0. */
  timeoutMs: number;
}

const countRow = z.object({ key: z.string(), count: z.number() });
const numberRow = z.object({ value: z.number() });
const tableRow = z.object({ table: z.string(), rows: z.number() });

// The tables worth watching for size; their row counts are PostgreSQL's estimates (no scan).
const TABLES = ['events', 'streams', 'memories', 'consumer_checkpoints'];

/**
 * Registers the gauges read from PostgreSQL at scrape time (what the seed's DataLayerMonitor
 * collected), never on the request path: one read-only transaction per scrape, shared by the
 * gauges, with a statement timeout and a wait limit. A scrape that PostgreSQL does not answer
 * in time answers without them rather than hang.
 */
export function registerPostgresCollector(options: PostgresCollectorOptions): void {
  const { registry, pool, store, log, timeoutMs } = options;
  const registers = [registry];
  let current: Promise<Snapshot | undefined> | undefined;

  // One snapshot per scrape, whichever gauge asks first.
  function snapshot(): Promise<Snapshot | undefined> {
    if (!current) {
      current = readSnapshot().finally(() => setTimeout(() => (current = undefined), 100).unref());
    }
    return current;
  }

  // At most one read in flight: scrapes while PostgreSQL hangs wait for the same read instead
  // of queueing one each for the pool.
  let inFlight: Promise<Snapshot> | undefined;
  function readOnce(): Promise<Snapshot> {
    if (!inFlight) {
      const read = readFigures();
      inFlight = read;
      read.then(
        () => (inFlight = undefined),
        () => (inFlight = undefined),
      );
    }
    return inFlight;
  }

  async function readFigures(): Promise<Snapshot> {
    const stats = inTransaction(pool, async (tx) => {
      await tx.query(sql.type(z.object({}))`set local statement_timeout = ${sql.literalValue(String(timeoutMs))}`);
      const connections = await tx.any(sql.type(countRow)`
        select coalesce(state, 'unknown') as key, count(*)::int as count
          from pg_stat_activity where datname = current_database() and backend_type = 'client backend' group by 1`);
      const locks = await tx.any(sql.type(countRow)`
        select mode as key, count(*)::int as count from pg_locks where pid <> pg_backend_pid() group by 1`);
      const oldest = await tx.one(sql.type(numberRow)`
        select coalesce(max(extract(epoch from now() - xact_start)), 0)::float8 as value
          from pg_stat_activity where datname = current_database() and xact_start is not null and pid <> pg_backend_pid()`);
      const tableRows = await tx.any(sql.type(tableRow)`
        select relname as table, greatest(n_live_tup, 0)::float8 as rows
          from pg_stat_user_tables where relname = any(${sql.array(TABLES, 'text')})`);
      return {
        connections: connections.map((row) => ({ state: row.key, count: row.count })),
        locks: locks.map((row) => ({ mode: row.key, count: row.count })),
        oldestTransactionSeconds: oldest.value,
        tableRows,
      };
    });
    // The event store's reads take connections of their own: after the transaction, never
    // inside it (with a pool of one they would wait for it forever).
    const figures = await stats;
    const logHead = Number((await store.logEnd()).commit - 1n);
    return { ...figures, logHead, consumers: await readConsumerLag(pool, store) };
  }

  async function readSnapshot(): Promise<Snapshot | undefined> {
    const read = readOnce();
    const timeout = sleep(timeoutMs, 'timeout' as const, { ref: false });
    try {
      const result = await Promise.race([read, timeout]);
      if (result === 'timeout') {
        read.catch(() => undefined);
        log.warn({ timeoutMs }, 'metrics: PostgreSQL did not answer the scrape in time');
        return undefined;
      }
      return result;
    } catch (error) {
      log.warn({ err: error }, 'metrics: reading PostgreSQL for a scrape failed');
      return undefined;
    }
  }

  // Each gauge is filled from the scrape's snapshot, or left empty when there is none.
  const fromSnapshot = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (gauge: Gauge<L>, snap: Snapshot) => void,
  ): void => {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        const snap = await snapshot();
        if (snap) fill(this, snap);
      },
    });
  };

  new Gauge({
    name: 'auren_postgres_up',
    help: '1 when PostgreSQL answered this scrape in time, else 0 (the other auren_postgres_* gauges are then absent).',
    registers,
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });
  fromSnapshot(
    'auren_postgres_connections',
    "Connections to the service's database, by state (active, idle, idle in transaction…).",
    ['state'],
    (g, s) => {
      for (const { state, count } of s.connections) g.set({ state }, count);
    },
  );
  fromSnapshot('auren_postgres_locks', 'Locks held or awaited on the PostgreSQL server, by mode.', ['mode'], (g, s) => {
    for (const { mode, count } of s.locks) g.set({ mode }, count);
  });
  fromSnapshot(
    'auren_postgres_oldest_transaction_seconds',
    "Age of the oldest open transaction in the service's database (VACUUM cannot clean up behind it; an appending one holds every append).",
    [],
    (g, s) => g.set(s.oldestTransactionSeconds),
  );
  fromSnapshot('auren_postgres_table_rows', "PostgreSQL's estimate of the live rows of the service's main tables.", ['table'], (g, s) => {
    for (const { table, rows } of s.tableRows) g.set({ table }, rows);
  });
  fromSnapshot('auren_log_head_position', 'Position of the last event in the log: events appended by every replica, ever.', [], (g, s) =>
    g.set(s.logHead),
  );
  fromSnapshot('auren_projection_lag_events', "Events appended after a consumer's (projection's) checkpoint.", ['projection'], (g, s) => {
    for (const c of s.consumers) g.set({ projection: c.name }, c.events);
  });
  fromSnapshot(
    'auren_projection_lag_seconds',
    'Age of the oldest event a consumer (projection) has not handled yet; 0 when caught up.',
    ['projection'],
    (g, s) => {
      for (const c of s.consumers) g.set({ projection: c.name }, c.seconds);
    },
  );

  // The pool's state needs no query: read at each scrape.
  new Gauge({
    name: 'auren_db_pool_connections',
    help: "The service's PostgreSQL pool: connections by state (acquired = in use, idle, pending = being opened).",
    labelNames: ['state'],
    registers,
    collect() {
      const state = pool.state();
      this.set({ state: 'acquired' }, state.acquiredConnections);
      this.set({ state: 'idle' }, state.idleConnections);
      this.set({ state: 'pending' }, state.pendingConnections);
    },
  });
  new Gauge({ name: 'auren_db_pool_size', help: 'Most connections the pool opens (DB_POOL_SIZE).', registers }).set(options.poolSize);
  new Gauge({
    name: 'auren_db_pool_waiting_clients',
    help: 'Queries waiting for a pooled connection.',
    registers,
    collect() {
      this.set(pool.state().waitingClients);
    },
  });
  new Gauge({
    name: 'auren_db_pool_utilization',
    help: 'Share of the pool in use (acquired ÷ size), 0–1.',
    registers,
    collect() {
      this.set(pool.state().acquiredConnections / options.poolSize);
    },
  });
}
