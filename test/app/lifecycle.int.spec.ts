import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import pg from 'pg';
import { migrate, SQL_DIR } from '../../src/db/migrate.js';
import { Health, HealthCheckResponse_ServingStatus as Status } from '../../src/gen/health/v1/health_pb.js';
import { createLogger } from '../../src/log.js';
import { LISTENERS, listenerUrl, startTestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { freshStream, holdLogCounter, proposed } from '../support/events.js';
import { startProxy, throughProxy } from '../support/proxy.js';

const silent = createLogger('silent');

async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('condition not reached in time');
    await sleep(100);
  }
}

// Runs `work` on a fresh database migrated from a copy of sql/ in a folder of its own, which
// `work` may edit and migrate again; `client` is connected to that database.
async function withSchemaCopy(work: (url: string, dir: string, client: pg.Client) => Promise<void>): Promise<void> {
  const url = await createTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'auren-sql-'));
  const client = new pg.Client({ connectionString: url });
  try {
    await cp(SQL_DIR, dir, { recursive: true });
    await migrate(url, silent, dir);
    await client.connect();
    await work(url, dir, client);
  } finally {
    await client.end();
    await rm(dir, { recursive: true, force: true });
  }
}

// Edits the copy's append-only trigger function: its message says 'stays' instead of 'is'.
async function rewordRefusal(dir: string): Promise<void> {
  const file = path.join(dir, 'functions', 'events_refuse_change.sql');
  const text = await readFile(file, 'utf8');
  assert.match(text, /the event log is append-only/);
  await writeFile(file, text.replace('the event log is append-only', 'the event log stays append-only'));
}

describe('Service lifecycle', () => {
  it('applies the schema once when several replicas migrate at the same time', async () => {
    const url = await createTestDatabase();
    const files = (await readdir(SQL_DIR)).filter((name) => /^\d+_[\w-]+\.sql$/.test(name)).sort();
    assert.ok(files.length > 0);
    const results = await Promise.all(Array.from({ length: 4 }, () => migrate(url, silent)));
    assert.deepEqual(results.flat().sort(), files, 'each numbered file applied by exactly one of the four');
    assert.deepEqual(await migrate(url, silent), []);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('select version from schema_migrations');
      assert.equal(rows.length, files.length);
    } finally {
      await client.end();
    }
  });

  it('re-creates every SQL function on each run: an edited function file takes effect with no new numbered file', async () => {
    await withSchemaCopy(async (url, dir, client) => {
      await rewordRefusal(dir);
      assert.deepEqual(await migrate(url, silent, dir), [], 'no numbered file applied');
      await client.query(`select * from append_to_stream('lifecycle-1', 'no_stream', null, $1)`, [
        JSON.stringify([{ event_id: randomUUID(), type: 'noted', data: {}, metadata: {} }]),
      ]);
      await assert.rejects(client.query('truncate events'), /the event log stays append-only: TRUNCATE/);
      await assert.rejects(client.query(`update events set type = 'x'`), /the event log stays append-only: UPDATE/);
    });
  });

  it('re-creates the SQL functions in one transaction: a failing function file leaves them all as they were', async () => {
    await withSchemaCopy(async (url, dir, client) => {
      await rewordRefusal(dir);
      // Sorted after every other file, so everything before it has been re-created when it fails.
      await writeFile(
        path.join(dir, 'functions', 'zzz_broken.sql'),
        'create or replace function broken() returns int language sql as $$ select $$;',
      );
      await assert.rejects(migrate(url, silent, dir), /function file functions\/zzz_broken\.sql failed/);
      await assert.rejects(client.query('truncate events'), /the event log is append-only: TRUNCATE/);
    });
  });

  it('refuses to change or delete events', async () => {
    const t = await startTestApp();
    const client = new pg.Client({ connectionString: t.databaseUrl });
    await client.connect();
    try {
      await t.events.appendToStream({ streamId: freshStream(), events: [proposed()] });
      await assert.rejects(client.query(`update events set type = 'x'`), /append-only/);
      await assert.rejects(client.query('delete from events'), /append-only/);
      await assert.rejects(client.query('truncate events'), /append-only/);
    } finally {
      await client.end();
      await t.stop();
    }
  });

  it('waits for the database at start, then serves; health is NOT_SERVING while the database is unreachable', async function () {
    this.timeout(60_000);
    const url = new URL(await createTestDatabase());
    const proxy = await startProxy({ host: url.hostname, port: Number(url.port || 5432) }, false);
    const starting = startTestApp({ DATABASE_URL: throughProxy(url.toString(), proxy) });
    await sleep(700);
    await proxy.restore();
    const t = await starting;
    // Both listeners answer health alike: PORT (connect-node) and GRPC_PORT (grpc-health-check).
    const healths = LISTENERS.map((listener) => createClient(Health, createGrpcTransport({ baseUrl: listenerUrl(t.app, listener) })));
    const statuses = async (service = '') => Promise.all(healths.map(async (health) => (await health.check({ service })).status));
    const all = (status: Status) => async () => (await statuses()).every((s) => s === status);
    try {
      assert.deepEqual(await statuses(), [Status.SERVING, Status.SERVING]);
      await proxy.cut();
      await eventually(all(Status.NOT_SERVING));
      assert.deepEqual(await statuses('auren.v1.EventStoreService'), [Status.NOT_SERVING, Status.NOT_SERVING]);
      assert.deepEqual(await statuses('auren.v1.MemoryService'), [Status.NOT_SERVING, Status.NOT_SERVING]);
      const healthz = await fetch(`${t.app.url}/healthz`);
      assert.equal(healthz.status, 503);
      await proxy.restore();
      await eventually(all(Status.SERVING));
      await t.events.appendToStream({ streamId: freshStream(), events: [proposed()] });
    } finally {
      await t.stop();
      await proxy.close();
    }
  });

  for (const listener of LISTENERS) {
    it(`stops within its grace on ${listener} when a client left a tail it had stopped reading`, async () => {
      const t = await startTestApp({}, listener);
      const streamId = freshStream();
      await t.events.appendToStream({
        streamId,
        events: Array.from({ length: 50 }, () => proposed({ data: { text: 'y'.repeat(2_000) } })),
      });
      // One message read, then the loop is left: the client cancels while the server waits for it to read.
      for await (const response of t.events.subscribeToStream({ streamId })) {
        void response;
        break;
      }
      const started = Date.now();
      const stopped = t.stop().then(() => Date.now() - started);
      const ms = await Promise.race([stopped, sleep(10_000).then(() => Infinity)]);
      // Before: grpc-js never called back after its forced shutdown, and the stop hung for ever.
      assert.ok(ms < 5_000, `stopped after ${ms} ms`);
    });
  }

  for (const listener of LISTENERS) {
    it(`lets calls in flight on ${listener} finish when it stops`, async () => {
      const t = await startTestApp({}, listener);
      // An appending transaction held open keeps the calls in the server, waiting, when it stops.
      const blocker = await holdLogCounter(t.databaseUrl);
      try {
        const streamId = freshStream();
        const calls = Array.from({ length: 20 }, () => t.events.appendToStream({ streamId, events: [proposed()] }));
        await eventually(async () => t.app.eventStore.stats().queued === 20, 10_000);
        const stopping = t.stop();
        await sleep(200);
        await blocker.commit();
        await stopping;
        const outcomes = await Promise.allSettled(calls);
        const failed = outcomes.filter((o) => o.status === 'rejected');
        assert.equal(
          failed.length,
          0,
          `${failed.length} calls failed: ${failed.map((f) => String((f as PromiseRejectedResult).reason)).join('; ')}`,
        );
      } finally {
        await blocker.end();
      }
    });
  }
});
