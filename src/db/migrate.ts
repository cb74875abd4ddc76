import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from '../log.js';
import { StartupError } from '../startupError.js';
import { describeUrl } from './pool.js';

/** Where the numbered schema files live. */
export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

// Any fixed 64-bit number; every replica takes the same lock before migrating.
const MIGRATION_LOCK = '7300421551';

interface Migration {
  version: number;
  name: string;
  text: string;
  checksum: string;
}

/**
 * Applies the pending numbered SQL files in order, each once and in its own transaction,
 * under an advisory lock so replicas starting together do not race; returns the names applied.
 *
 * This is the one place that talks to PostgreSQL without slonik: a schema file is a script of
 * many statements, which slonik refuses by design, so it goes through the `pg` client that
 * slonik itself drives, on one session that also holds the lock.
 */
export async function migrate(databaseUrl: string, log: Logger, dir = SQL_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
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
    const rows = (await client.query<{ version: number; name: string; checksum: string }>('select version, name, checksum from schema_migrations')).rows;
    const applied = new Map(rows.map((row) => [row.version, row]));
    const done: string[] = [];
    for (const migration of migrations) {
      const previous = applied.get(migration.version);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new Error(`schema file ${migration.name} changed after it was applied (as ${previous.name}); add a new numbered file instead`);
        }
        continue;
      }
      try {
        await client.query('begin');
        await client.query(migration.text);
        await client.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [migration.version, migration.name, migration.checksum]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`schema file ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      log.info({ migration: migration.name }, 'applied schema migration');
      done.push(migration.name);
    }
    return done;
  } finally {
    await client.end();
  }
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
    throw new StartupError({
      code: 'schema',
      failed: `applying the schema files in sql/ to ${describeUrl(databaseUrl)} failed`,
      reason: error instanceof Error ? error.message : String(error),
      remedy: 'check that the DATABASE_URL user may create tables and functions in that database',
    }, { cause: error });
  }
}
