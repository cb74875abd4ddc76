import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { createLogger } from '../../src/log.js';
import { embeddedLeftovers } from './embedded.js';

// Tests get databases of their own, on the server TEST_DATABASE_URL names or, without it, on an
// embedded PostgreSQL that the run starts once: a global fixture, run once in mocha's main process
// whether the files run in serial or in parallel workers, which inherit its URL through
// TEST_DATABASE_URL. Tests never touch the data of a running service.
let embedded: { stop(): Promise<void> } | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) return;
  const leftovers = embeddedLeftovers();
  const dir = await mkdtemp(path.join(tmpdir(), 'auren-test-pg-'));
  const database = await startEmbeddedPostgres({ dataDir: dir, port: 0, database: 'auren_admin' }, createLogger('warn'));
  process.env.TEST_DATABASE_URL = database.url;
  embedded = {
    stop: async () => {
      await database.stop();
      await leftovers.removeDataFolder(dir);
      await leftovers.removeSystemFolder();
    },
  };
}

export async function mochaGlobalTeardown(): Promise<void> {
  await embedded?.stop();
}

const created: string[] = [];
let counter = 0;

/** URL of a PostgreSQL server tests may create databases on. */
export async function testServerUrl(): Promise<string> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error('TEST_DATABASE_URL is unset: run the tests through mocha, whose global setup (test/support/database.ts) sets it');
  return url;
}

/** Creates an empty database for one test file and returns its URL; it is dropped after the file's tests. */
export async function createTestDatabase(): Promise<string> {
  const adminUrl = await testServerUrl();
  const name = `auren_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  await withAdmin(adminUrl, (client) => client.query(`create database ${name}`));
  created.push(name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Mocha root hook: drops the test databases made so far. It runs once at the end of a serial
 * run, and after each file in a parallel one (root hooks run per file in each worker).
 */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    if (created.length === 0) return;
    const names = created.splice(0);
    await withAdmin(await testServerUrl(), async (client) => {
      for (const name of names) await client.query(`drop database if exists ${name} with (force)`);
    });
  },
};
