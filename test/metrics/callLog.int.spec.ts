import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { pino } from 'pino';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { EventStoreService } from '../../src/gen/auren/v1/events_pb.js';
import { listenerUrl, LISTENERS } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { eventually, freshStream, proposed, rejectsWith } from '../support/events.js';
import { scrape } from '../support/prometheus.js';

/** An app whose log lines are kept, parsed, in `lines`. */
async function startLogged(env: Record<string, string> = {}): Promise<{ app: App; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig({ PORT: '0', GRPC_PORT: '0', SHUTDOWN_TIMEOUT_MS: '2000', ...env, DATABASE_URL: await createTestDatabase() });
  const app = await startApp(config, pino({ level: 'info' }, sink));
  return { app, lines };
}

describe('The access log and request ids', () => {
  let app: App;
  let lines: Record<string, unknown>[];
  before(async () => ({ app, lines } = await startLogged({ SLOW_QUERY_MS: '1' })));
  after(() => app?.stop());

  for (const listener of LISTENERS) {
    it(`writes one line per call on ${listener}: method, code, duration, principal and request id, never the payload`, async () => {
      const client = createClient(EventStoreService, createGrpcTransport({ baseUrl: listenerUrl(app, listener) }));
      const requestId = `log-${listener}-${Date.now()}`;
      const headers = { 'x-request-id': requestId, 'x-auren-agent': 'sleep_specialist', authorization: `Bearer ${app.firstAdminKey}` };
      await client.appendToStream({ streamId: freshStream(), events: [proposed({ data: { secret: 'sleeps 6 hours' } })] }, { headers });
      await rejectsWith(client.getEvent({ eventId: 'not-a-uuid' }, { headers }), Code.InvalidArgument);
      await eventually(() => lines.filter((l) => l.reqId === requestId && l.msg === 'call').length === 2, 'two access-log lines');
      const [append, get] = lines.filter((l) => l.reqId === requestId && l.msg === 'call');
      assert.deepEqual(
        { method: append!.method, code: append!.code, listener: append!.listener, principal: append!.principal },
        { method: '/auren.v1.EventStoreService/AppendToStream', code: 'OK', listener, principal: 'sleep_specialist' },
      );
      assert.equal(typeof append!.durationMs, 'number');
      assert.equal(get!.code, 'INVALID_ARGUMENT');
      assert.ok(!JSON.stringify(lines).includes('sleeps 6 hours'), 'no payload in any log line');
    });
  }

  it('logs statements slower than SLOW_QUERY_MS by name and SQL text, without their values', async () => {
    const stream = freshStream('slow-secret');
    await app.eventStore.appendToStream(stream, { kind: 'any' }, [{ type: 'slow', data: { secret: 'value-never-logged' }, metadata: {} }]);
    await eventually(() => lines.some((l) => l.msg === 'slow query' && l.query === 'append_batch'), 'the append logged as slow');
    const slow = lines.find((l) => l.msg === 'slow query' && l.query === 'append_batch')!;
    assert.match(String(slow.sql), /append_batch\(\$1::jsonb/);
    assert.ok(!JSON.stringify(lines).includes('value-never-logged'));
  });
});

describe('METRICS_PORT', () => {
  let app: App;
  before(async () => ({ app } = await startLogged({ METRICS_PORT: '0', LOG_LEVEL: 'silent' })));
  after(() => app?.stop());

  it('serves /metrics, /healthz and /readyz on the admin port, and /metrics no longer on PORT', async () => {
    const admin = `http://127.0.0.1:${app.metricsPort}`;
    assert.equal((await scrape(`${admin}/metrics`)).sum('auren_postgres_up'), 1);
    assert.equal((await fetch(`${admin}/healthz`)).status, 200);
    assert.equal((await fetch(`${admin}/readyz`)).status, 200);
    assert.equal((await fetch(`${app.url}/metrics`)).status, 404);
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
  });
});
