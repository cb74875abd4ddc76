import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { EventStoreService } from '../../src/gen/auren/v1/events_pb.js';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { startTestApp, TEST_SECRET } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { runAuren, startAuren } from '../support/auren.js';
import { createTestDatabase } from '../support/database.js';
import { any, freshStream, proposed, rejectsWith } from '../support/events.js';
import { HealthClient, sending } from '../support/grpc.js';

// The operator's side: `auren keys`, `auren audit verify`, the first start's admin key, anonymous
// access, TLS. Each runs the real `auren` command or server.

describe('auren keys', () => {
  let t: TestApp;
  before(async () => {
    // No cache: a revocation by the command is seen by the running service at once.
    t = await startTestApp({ AUTH_CACHE_MS: '0' });
  });
  after(() => t.stop());
  const env = () => ({ DATABASE_URL: t.databaseUrl, AUREN_SECRET: TEST_SECRET });

  it('creates a key the service accepts, lists it without its secret, revokes it', async () => {
    const made = await runAuren(['keys', 'create', '--kind', 'agent', '--agent', 'coach', '--tenant', 'user_a,user_b'], { env: env() });
    assert.equal(made.code, 0, made.stderr);
    const key = made.stdout.trim();
    assert.match(key, /^auren_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
    const stored = await t.memory.storeMemory(
      { agentId: 'coach', userId: 'user_a', type: MemoryType.FACT, content: { text: 'x' } },
      t.withKey(key),
    );
    assert.equal(stored.memory?.agentId, 'coach');

    const listed = await runAuren(['keys', 'list'], { env: env() });
    const line = listed.stdout.split('\n').find((l) => l.includes('agent=coach'))!;
    assert.match(line, /scopes=memory:read,memory:write tenant=user_a,user_b/);
    assert.ok(!listed.stdout.includes(key.slice(39)), 'no secret is listed');

    const id = line.split(' ')[0]!;
    const revoked = await runAuren(['keys', 'revoke', id], { env: env() });
    assert.equal(revoked.code, 0, revoked.stderr);
    await rejectsWith(t.memory.getMemoryStats({ agentId: 'coach' }, t.withKey(key)), Code.Unauthenticated, /revoked/);
  });

  it('refuses an unknown scope naming it, with exit code 2 (the key rules: test/auth/access)', async () => {
    const run = await runAuren(['keys', 'create', '--kind', 'service', '--scopes', 'everything'], { env: env() });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /unknown scope 'everything'/);
    assert.equal(run.stdout, '');
  });
});

describe('auren audit verify', () => {
  let t: TestApp;
  let db: pg.Client;
  const streams = [freshStream('chain'), freshStream('chain'), freshStream('chain')];
  before(async () => {
    t = await startTestApp();
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    for (const streamId of streams) {
      for (let i = 0; i < 3; i++) await t.events.appendToStream({ streamId, expected: any, events: [proposed({ data: { i } })] });
    }
    await t.memory.storeMemory({ agentId: 'coach', userId: 'user_v', type: MemoryType.FACT, content: { text: 'ok' } }, t.as('coach'));
  });
  after(async () => {
    await db.end();
    await t.stop();
  });
  const verify = (...args: string[]) =>
    runAuren(['audit', 'verify', ...args], { env: { DATABASE_URL: t.databaseUrl, AUREN_SECRET: TEST_SECRET } });
  // What an attacker with a superuser's SQL does: the append-only triggers off, the change, the triggers on.
  const behindItsBack = async (statement: string, params: unknown[] = []) => {
    await db.query('alter table events disable trigger events_append_only_rows');
    try {
      await db.query(statement, params);
    } finally {
      await db.query('alter table events enable trigger events_append_only_rows');
    }
  };

  it('finds an intact log intact', async function () {
    this.timeout(60_000);
    const run = await verify();
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^ok: \d+ events checked/m);
    assert.equal((await verify('--page-size', '2')).stdout, run.stdout, 'in pages of two: the same');
  });

  it('reports a row changed, a row deleted and a row inserted through SQL, and nothing else', async function () {
    // Five runs of the command.
    this.timeout(120_000);
    await behindItsBack(`update events set data = '{"i": 42}' where stream_id = $1 and version = 2`, [streams[0]]);
    await behindItsBack(`delete from events where stream_id = $1 and version = 2`, [streams[1]]);
    // Inserted as the service would, at the next position and version, but without its key.
    await db.query(
      `
      with head as (update log_head set last = last + 1 returning last)
      insert into events (position, event_id, stream_id, version, type, data, metadata)
      select head.last, gen_random_uuid(), $1, 4, 'test_event', '{"i": 3}', '{}' from head`,
      [streams[2]],
    );
    // And one with a made-up hash, the chain trigger off too.
    await db.query('alter table events disable trigger events_chain');
    try {
      await db.query(
        `with head as (update log_head set last = last + 1 returning last)
         insert into events (position, event_id, stream_id, version, type, data, metadata, hash)
         select head.last, gen_random_uuid(), $1, 5, 'test_event', '{}', '{}', sha256('x') from head`,
        [streams[2]],
      );
    } finally {
      await db.query('alter table events enable trigger events_chain');
    }
    const run = await verify();
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const lines = run.stdout.trim().split('\n');
    const about = (stream: string) => lines.filter((l) => l.includes(stream));
    assert.ok(
      about(streams[0]!).some((l) => /^altered: .* version 2:/.test(l)),
      run.stdout,
    );
    assert.ok(
      about(streams[1]!).some((l) => /^removed: .* version 3: versions 2 to 2/.test(l)),
      run.stdout,
    );
    assert.ok(
      about(streams[1]!).some((l) => /^altered: .* version 3:/.test(l)),
      'its successor no longer chains',
    );
    assert.ok(
      about(streams[2]!).some((l) => /^unhashed: .* version 4:/.test(l)),
      run.stdout,
    );
    assert.ok(
      about(streams[2]!).some((l) => /^altered: .* version 5:/.test(l)),
      run.stdout,
    );
    assert.ok(
      lines.some((l) => /^removed: position \d+: positions/.test(l)),
      'the deleted position is missing from the log',
    );
    assert.match(lines.at(-1)!, /^TAMPERED: \d+ problem/);
    // In pages of 3 events (the log holds many more), with bounded memory: the same findings,
    // the problems at page boundaries included, and progress on stderr.
    const paged = await verify('--page-size', '3');
    assert.equal(paged.code, 1);
    assert.equal(paged.stdout, run.stdout);
    const progress = paged.stderr.split('\n').filter((l) => /^verified \d+ events, up to position \d+ of \d+$/.test(l));
    assert.ok(progress.length >= 1, paged.stderr);
    const [, read, at, end] = /^verified (\d+) events, up to position (\d+) of (\d+)$/.exec(progress.at(-1)!)!;
    assert.ok(Number(read) > 9, `${read} events read`);
    assert.equal(at, end, 'the last progress line is at the end of the log');
    for (const size of ['0', 'x']) assert.equal((await verify('--page-size', size)).code, 2);
    // One stream at a time.
    const one = await verify('--stream', streams[0]!);
    assert.equal(one.code, 1);
    assert.ok(!one.stdout.includes(streams[1]!));
    const memoryStream = (await db.query(`select stream_id from events where stream_id like 'memory-%' limit 1`)).rows[0].stream_id;
    assert.equal((await verify('--stream', memoryStream)).code, 0);
  });
});

describe('First start and anonymous access', () => {
  it('makes an admin key on the first start only, shows it once on stderr and never in the logs', async () => {
    const databaseUrl = await createTestDatabase();
    const env = { DATABASE_URL: databaseUrl, AUREN_SECRET: TEST_SECRET };
    const first = await startAuren({ env });
    const firstExit = await first.stop();
    const key = /auren_[0-9a-f]{32}_[A-Za-z0-9_-]{43}/.exec(firstExit.stderr)?.[0];
    assert.ok(key, firstExit.stderr);
    assert.ok(!firstExit.stdout.includes(key), 'not in the logs');
    const second = await startAuren({ env });
    const secondExit = await second.stop();
    assert.doesNotMatch(secondExit.stderr, /auren_[0-9a-f]{32}_/);
    // The key works: the service accepts it.
    const t = await startTestApp({ DATABASE_URL: databaseUrl });
    try {
      await t.events.getStreamInfo({ streamId: 'x' }, t.withKey(key));
    } finally {
      await t.stop();
    }
  });

  it('refuses calls without a key unless AUTH_ANONYMOUS=true, which it warns about at start and in /healthz', async () => {
    const t = await startTestApp({ AUTH_ANONYMOUS: 'true' });
    try {
      await t.events.getStreamInfo({ streamId: 'x' }, t.withKey(''));
      const health = (await (await fetch(`${t.app.url}/healthz`)).json()) as { warnings?: string[] };
      assert.match(health.warnings?.[0] ?? '', /AUTH_ANONYMOUS=true/);
    } finally {
      await t.stop();
    }
    const running = await startAuren({
      env: { DATABASE_URL: await createTestDatabase(), AUREN_SECRET: TEST_SECRET, AUTH_ANONYMOUS: 'true' },
    });
    const warned = running.logs().some((l) => l.level === 40 && String(l.msg).startsWith('AUTH_ANONYMOUS=true'));
    await running.stop();
    assert.ok(warned, 'a warning at start');
  });
});

describe('TLS on both listeners', () => {
  let dir: string;
  let t: TestApp;
  let ca: Buffer;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'auren-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    ca = readFileSync(path.join(dir, 'cert.pem'));
    t = await startTestApp({ TLS_CERT_FILE: path.join(dir, 'cert.pem'), TLS_KEY_FILE: path.join(dir, 'key.pem') });
  });
  after(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves PORT over TLS (HTTP/2 and HTTP/1.1) and refuses plain HTTP/2', async () => {
    assert.match(t.app.url, /^https:/);
    const secure = createClient(EventStoreService, createGrpcTransport({ baseUrl: t.app.url, nodeOptions: { ca } }));
    await secure.appendToStream(
      { streamId: freshStream('tls'), expected: any, events: [proposed()] },
      { headers: { authorization: t.authorization } },
    );
    const plain = createClient(EventStoreService, createGrpcTransport({ baseUrl: t.app.url.replace('https', 'http') }));
    await assert.rejects(plain.getStreamInfo({ streamId: 'x' }, { headers: { authorization: t.authorization }, timeoutMs: 2000 }));
  });

  it('serves GRPC_PORT over TLS to a plain grpc-js client, and not in the clear', async () => {
    const address = `localhost:${t.app.grpcPort}`;
    const secure = new (HealthClient as unknown as typeof grpc.Client)(
      address,
      grpc.credentials.createSsl(ca),
      sending(t.authorization),
    ) as unknown as Record<string, any>;
    const status = await new Promise((resolve, reject) =>
      secure.Check({ service: '' }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r.status))),
    );
    assert.equal(status, 'SERVING');
    const clear = new HealthClient(address, grpc.credentials.createInsecure()) as unknown as Record<string, any>;
    await assert.rejects(
      new Promise((resolve, reject) =>
        clear.Check({ service: '' }, { deadline: Date.now() + 2000 }, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))),
      ),
    );
    (secure as unknown as grpc.Client).close();
    (clear as unknown as grpc.Client).close();
  });

  it('with a client CA, refuses clients without a certificate it signed', async () => {
    const withCa = await startTestApp({
      TLS_CERT_FILE: path.join(dir, 'cert.pem'),
      TLS_KEY_FILE: path.join(dir, 'key.pem'),
      TLS_CLIENT_CA_FILE: path.join(dir, 'cert.pem'),
    });
    try {
      const key = readFileSync(path.join(dir, 'key.pem'));
      const withCert = createClient(
        EventStoreService,
        createGrpcTransport({ baseUrl: withCa.app.url, nodeOptions: { ca, cert: ca, key } }),
      );
      await withCert.getStreamInfo({ streamId: `x-${randomUUID()}` }, { headers: { authorization: withCa.authorization } });
      const without = createClient(EventStoreService, createGrpcTransport({ baseUrl: withCa.app.url, nodeOptions: { ca } }));
      await assert.rejects(without.getStreamInfo({ streamId: 'x' }, { headers: { authorization: withCa.authorization }, timeoutMs: 2000 }));
    } finally {
      await withCa.stop();
    }
  });
});
