import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from '../log.js';
import { StartupError } from '../startupError.js';
import { describeUrl } from './pool.js';

/** Where the schema lives: numbered files, and `functions/` with one file per SQL function. */
export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

// Any fixed 64-bit number; every replica takes the same lock before migrating.
const MIGRATION_LOCK = '7300421551';

interface SqlFile {
  name: string;
  text: string;
}

interface Migration extends SqlFile {
  version: number;
  checksum: string;
}

/**
 * Brings the schema up to date, under an advisory lock so replicas starting together do not
 * race, and returns the names of the numbered files it applied. Two phases, in this order:
 *
 * 1. The pending numbered files (tables, indexes, statistics), each once and in its own
 *    transaction. A file already applied must not change: a schema change is a new file.
 * 2. Every file of `functions/`, in name order, all in one transaction, on every run. Each is
 *    `create or replace`, so a function is edited in its one file and the edit takes effect
 *    at the next start, with no numbered file copying it.
 *
 * Functions come second so that they may use all the numbered files define (a column a new
 * file adds, a table's row type, a `language sql` body, which is checked at creation). The
 * price: a numbered file never refers to a function, and a trigger, which cannot exist before
 * its function, is created by its function's file (`create or replace trigger`, taking a
 * SHARE ROW EXCLUSIVE lock on its table for that short transaction: appends wait, reads do
 * not). The two phases commit separately: on a fresh database nothing runs in between (every
 * starting replica waits for the lock, and serves only after it), but replicas already serving
 * do, so a change to a table and a function together must work with either version meanwhile.
 *
 * This is the one place that talks to PostgreSQL without slonik: a schema file is a script of
 * many statements, which slonik refuses by design, so it goes through the `pg` client that
 * slonik itself drives, on one session that also holds the lock.
 */
export async function migrate(databaseUrl: string, log: Logger, dir = SQL_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const functions = await readFunctions(`${dir}/functions`);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`
      create table if not exists schema_migrations (
        version    integer primary key,
        name       text not null,
        checksum   text not null,
        applied_at timestamptz not null default now()
      )`);
    const rows = (
      await client.query<{ version: number; name: string; checksum: string }>('select version, name, checksum from schema_migrations')
    ).rows;
    const applied = new Map(rows.map((row) => [row.version, row]));
    const done: string[] = [];
    for (const migration of migrations) {
      const previous = applied.get(migration.version);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new Error(
            `schema file ${migration.name} changed after it was applied (as ${previous.name}); add a new numbered file instead`,
          );
        }
        continue;
      }
      try {
        await client.query('begin');
        await client.query(migration.text);
        await client.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`schema file ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      log.info({ migration: migration.name }, 'applied schema migration');
      done.push(migration.name);
    }
    await recreateFunctions(client, functions);
    log.info({ functions: functions.map((f) => f.name) }, 're-created SQL functions');
    return done;
  } finally {
    await client.end();
  }
}

// One transaction: a function file that fails leaves every function as it was.
async function recreateFunctions(client: pg.Client, functions: SqlFile[]): Promise<void> {
  await client.query('begin');
  for (const file of functions) {
    try {
      await client.query(file.text);
    } catch (error) {
      await client.query('rollback');
      throw new Error(`function file ${file.name} failed: ${(error as Error).message}`, { cause: error });
    }
  }
  await client.query('commit');
}

async function readFunctions(dir: string): Promise<SqlFile[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  return Promise.all(names.map(async (name) => ({ name: `functions/${name}`, text: await readFile(`${dir}/${name}`, 'utf8') })));
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => /^\d+_[\w-]+\.sql$/.test(name)).sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const text = await readFile(`${dir}/${name}`, 'utf8');
    const version = Number.parseInt(name, 10);
    if (migrations.some((m) => m.version === version)) throw new Error(`two schema files are numbered ${version}`);
    migrations.push({ version, name, text, checksum: createHash('sha256').update(text).digest('hex') });
  }
  return migrations;
}

/**
 * migrate() for a starting service: a schema file that fails stops the start with what
 * PostgreSQL said, as a StartupError. The files applied before it stay applied (each runs in
 * its own transaction).
 */
export async function migrateAtStart(databaseUrl: string, log: Logger): Promise<string[]> {
  try {
    return await migrate(databaseUrl, log);
  } catch (error) {
    throw new StartupError(
      {
        code: 'schema',
        failed: `applying the schema files in sql/ to ${describeUrl(databaseUrl)} failed`,
        reason: error instanceof Error ? error.message : String(error),
        remedy: 'check that the DATABASE_URL user may create tables and functions in that database',
      },
      { cause: error },
    );
  }
}

/** The numbered schema files in `dir` (versions), as migrate() applies them: for readiness checks. */
export async function schemaVersions(dir = SQL_DIR): Promise<number[]> {
  return (await readMigrations(dir)).map((migration) => migration.version);
}
