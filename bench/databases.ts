import os from 'node:os';
import pg from 'pg';

/** The three databases, one per target, recreated on every run. */
export const DATABASES = { auren: 'auren_bench', emmett: 'emmett_bench', pg: 'pg_bench' } as const;
export type Target = keyof typeof DATABASES;

/** The admin URL with its database replaced. */
export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Drops and creates the bench databases on the admin URL's server; returns their URLs. */
export async function recreateDatabases(adminUrl: string): Promise<Record<Target, string>> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const name of Object.values(DATABASES)) {
      await client.query(`drop database if exists ${name} with (force)`);
      await client.query(`create database ${name}`);
    }
  } finally {
    await client.end();
  }
  return {
    auren: databaseUrl(adminUrl, DATABASES.auren),
    emmett: databaseUrl(adminUrl, DATABASES.emmett),
    pg: databaseUrl(adminUrl, DATABASES.pg),
  };
}

/** Facts about the machine and the PostgreSQL server, for the report. */
export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  postgres: string;
  postgresHost: string;
  settings: Record<string, string>;
}

const SETTINGS = ['fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers', 'max_connections'];

export async function machineFacts(adminUrl: string): Promise<MachineFacts> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const version = (await client.query<{ version: string }>('select version()')).rows[0]!.version;
    const rows = (
      await client.query<{ name: string; setting: string; unit: string | null }>(
        'select name, current_setting(name) as setting, unit from pg_settings where name = any($1)',
        [SETTINGS],
      )
    ).rows;
    const settings = Object.fromEntries(SETTINGS.map((name) => [name, rows.find((r) => r.name === name)?.setting ?? '?']));
    const url = new URL(adminUrl);
    return {
      cores: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      postgres: version,
      postgresHost: `${url.hostname}:${url.port || '5432'}`,
      settings,
    };
  } finally {
    await client.end();
  }
}

/** Asks PostgreSQL to checkpoint, so one target's dirty pages are not flushed during the next one's run. */
export async function checkpoint(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('checkpoint');
  } catch {
    // Not a superuser: the runs share checkpoints as they come.
  } finally {
    await client.end();
  }
}

/**
 * Refreshes the planner statistics of a bench database. Fresh tables have none, and plans made
 * while a table is tiny (sequential scans) stay cached in pooled sessions as it grows; a
 * long-running store has analyzed tables, so every turn starts from current statistics.
 */
export async function analyze(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('analyze');
  } finally {
    await client.end();
  }
}

/** Number of rows in a table of a bench database, to check every counted append was written. */
export async function countRows(url: string, table: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** Pids of the PostgreSQL processes working for a database now: its sessions and the background processes. */
export async function postgresPids(adminUrl: string, database: string): Promise<Set<number>> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const rows = (
      await client.query<{ pid: number }>(
        `select pid from pg_stat_activity
        where (datname = $1 and pid <> pg_backend_pid()) or (backend_type <> 'client backend' and backend_type not like 'autovacuum%')`,
        [database],
      )
    ).rows;
    return new Set(rows.map((r) => r.pid));
  } finally {
    await client.end();
  }
}
