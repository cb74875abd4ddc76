import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { createLogger } from '../../src/log.js';
import { embeddedLeftovers } from './embedded.js';

// Tests get databases of their own, on the server TEST_DATABASE_URL names or, without it, on
// an embedded PostgreSQL started for this run: they never touch the data of a running service.
interface TestServer {
  adminUrl: string;
  stop(): Promise<void>;
}

let server: Promise<TestServer> | undefined;
const created: string[] = [];
let counter = 0;

async function startServer(): Promise<TestServer> {
  const url = process.env.TEST_DATABASE_URL;
  if (url) return { adminUrl: url, stop: async () => {} };
  const leftovers = embeddedLeftovers();
  const dir = await mkdtemp(path.join(tmpdir(), 'auren-test-pg-'));
  const embedded = await startEmbeddedPostgres({ dataDir: dir, port: 0, database: 'auren_admin' }, createLogger('warn'));
  return {
    adminUrl: embedded.url,
    stop: async () => {
      await embedded.stop();
      await leftovers.removeDataFolder(dir);
      await leftovers.removeSystemFolder();
    },
  };
}

/** URL of a PostgreSQL server tests may create databases on. */
export async function testServerUrl(): Promise<string> {
  server ??= startServer();
  return (await server).adminUrl;
}

/** Creates an empty database for one test file and returns its URL; it is dropped when the run ends. */
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

/** Mocha root hooks: drop every test database and stop the embedded server after the run. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    if (!server) return;
    const { adminUrl, stop } = await server;
    await withAdmin(adminUrl, async (client) => {
      for (const name of created) await client.query(`drop database if exists ${name} with (force)`);
    });
    await stop();
  },
};
