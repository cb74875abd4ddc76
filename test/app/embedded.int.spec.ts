import assert from 'node:assert/strict';
import { lstat, mkdtemp, realpath, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@connectrpc/connect';
import type { Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { EventStoreService } from '../../src/gen/auren/v1/events_pb.js';
import { Health, HealthCheckResponse_ServingStatus as Status } from '../../src/gen/health/v1/health_pb.js';
import { createLogger } from '../../src/log.js';
import { embeddedLeftovers } from '../support/embedded.js';
import type { EmbeddedLeftovers } from '../support/embedded.js';
import { freshStream, proposed } from '../support/events.js';

describe('Embedded PostgreSQL (no DATABASE_URL)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let leftovers: EmbeddedLeftovers;
  before(async () => {
    leftovers = embeddedLeftovers();
    // A private folder (0700), as a data folder under /root or from `mktemp -d` is.
    dataDir = await mkdtemp(path.join(tmpdir(), 'auren-embedded-'));
  });
  after(async () => {
    await leftovers.removeDataFolder(dataDir);
    await leftovers.removeSystemFolder();
  });

  const start = () =>
    startApp(
      loadConfig({ PORT: '0', GRPC_PORT: '0', AUREN_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }),
      createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
      { announce: () => {} },
    );
  // Calls send the admin key the first start made; the second start finds the same secret (the
  // data folder's auth.secret) and accepts it.
  let key = '';
  const sendKey: Interceptor = (next) => (request) => {
    request.header.set('authorization', `Bearer ${key}`);
    return next(request);
  };

  it('starts a real PostgreSQL, reaches SERVING, and keeps the data across restarts', async () => {
    const streamId = freshStream('embedded');
    const first = await start();
    key = first.firstAdminKey ?? '';
    try {
      const transport = createGrpcTransport({ baseUrl: first.url, interceptors: [sendKey] });
      assert.equal((await createClient(Health, transport).check({ service: '' })).status, Status.SERVING);
      await createClient(EventStoreService, transport).appendToStream({ streamId, events: [proposed({ data: { kept: true } })] });
    } finally {
      await first.stop();
    }
    assert.ok((await stat(path.join(dataDir, 'postgres', 'PG_VERSION'))).isFile(), 'the cluster is reached through the data folder');
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700, 'the data folder keeps its mode');
    assert.equal((await stat(path.join(dataDir, 'postgres.secret'))).mode & 0o777, 0o600);
    if (process.getuid?.() === 0) {
      // As root the server runs as postgres, which cannot enter the data folder: the cluster lives where it can.
      assert.ok((await lstat(path.join(dataDir, 'postgres'))).isSymbolicLink());
      assert.match(await realpath(path.join(dataDir, 'postgres')), /^\/var\/lib\/auren\/clusters\/[0-9a-f]+$/);
    }

    const second = await start();
    try {
      const read = await createClient(EventStoreService, createGrpcTransport({ baseUrl: second.url, interceptors: [sendKey] })).readStream({
        streamId,
      });
      assert.deepEqual(
        read.events.map((e) => e.data),
        [{ kept: true }],
      );
    } finally {
      await second.stop();
    }
  });
});
