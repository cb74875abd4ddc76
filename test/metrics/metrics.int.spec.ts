import assert from 'node:assert/strict';
import { Code } from '@connectrpc/connect';
import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, describeOnEachListener } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { eventually, exact, freshStream, noStream, proposed, rejectsWith } from '../support/events.js';
import { promtool, scrape } from '../support/prometheus.js';
import type { Scrape } from '../support/prometheus.js';

const APPEND = { grpc_service: 'auren.v1.EventStoreService', grpc_method: 'AppendToStream' };
const SUBSCRIBE = { grpc_service: 'auren.v1.EventStoreService', grpc_method: 'SubscribeToAll' };

describeOnEachListener('GET /metrics after a workload', (listener) => {
  let t: TestApp;
  before(async () => (t = await startTestApp({}, listener)));
  after(() => t?.stop());
  const metrics = () => scrape(`${t.app.url}/metrics`);
  const protocol = 'grpc';

  it('counts RPCs by method and status code, on the listener that served them, and the events they appended', async () => {
    const before = await metrics();
    const stream = freshStream('metrics');
    await t.events.appendToStream({ streamId: stream, expected: noStream, events: [proposed({ type: 'metrics_counted' })] });
    await t.events.appendToStream({ streamId: stream, expected: exact(1), events: [proposed({ type: 'metrics_counted' })] });
    await t.events.appendToStream({
      streamId: freshStream('metrics'),
      events: [proposed({ type: 'metrics_counted' }), proposed({ type: 'metrics_counted' })],
    });
    await rejectsWith(t.events.appendToStream({ streamId: stream, expected: exact(1), events: [proposed()] }), Code.Aborted);
    await rejectsWith(t.events.appendToStream({ streamId: stream, expected: exact(7), events: [proposed()] }), Code.Aborted);
    await rejectsWith(t.events.appendToStream({ streamId: '', events: [proposed()] }), Code.InvalidArgument);
    const after = await metrics();

    const moved = (name: string, labels: Record<string, string>) => after.sum(name, labels) - before.sum(name, labels);
    const here = { ...APPEND, listener, protocol };
    assert.equal(moved('grpc_server_started_total', here), 6);
    assert.equal(moved('grpc_server_handled_total', { ...here, grpc_code: 'OK' }), 3);
    assert.equal(moved('grpc_server_handled_total', { ...here, grpc_code: 'ABORTED' }), 2);
    assert.equal(moved('grpc_server_handled_total', { ...here, grpc_code: 'INVALID_ARGUMENT' }), 1);
    assert.equal(moved('grpc_server_handling_seconds_count', { ...here, grpc_type: 'unary' }), 6);
    const other = listener === 'PORT' ? 'GRPC_PORT' : 'PORT';
    assert.equal(moved('grpc_server_started_total', { ...APPEND, listener: other }), 0, 'the other listener counted nothing');
    assert.equal(moved('auren_events_appended_total', { type: 'metrics_counted' }), 4);
    assert.ok(moved('auren_db_query_seconds_count', { query: 'append_batch', outcome: 'ok' }) >= 1, 'append_batch timed by name');
  });

  it('counts the messages a tail sends and its subscriber while it is open', async () => {
    const before = await metrics();
    const abort = new AbortController();
    const stream = freshStream('metrics-tail');
    await t.events.appendToStream({ streamId: stream, events: [proposed({ type: 'tailed' }), proposed({ type: 'tailed' })] });
    const received: string[] = [];
    const tail = (async () => {
      try {
        for await (const message of t.events.subscribeToAll({ filter: { streamIdPrefixes: [stream] } }, { signal: abort.signal })) {
          received.push(message.message.case ?? '');
        }
      } catch {
        // Cancelled by the test.
      }
    })();
    await eventually(() => received.includes('caughtUp'), 'the tail caught up');
    const open = await metrics();
    assert.equal(open.sum('auren_tail_subscribers'), before.sum('auren_tail_subscribers') + 1);
    abort.abort();
    await tail;
    let closed: Scrape | undefined;
    await eventually(async () => {
      closed = await metrics();
      return (
        closed.sum('grpc_server_handled_total', { ...SUBSCRIBE, listener }) >
        before.sum('grpc_server_handled_total', { ...SUBSCRIBE, listener })
      );
    }, 'the tail counted as handled');
    const sent =
      closed!.sum('grpc_server_msg_sent_total', { ...SUBSCRIBE, listener }) -
      before.sum('grpc_server_msg_sent_total', { ...SUBSCRIBE, listener });
    assert.ok(sent >= received.length, `${sent} messages counted, ${received.length} received`);
    assert.equal(
      closed!.sum('grpc_server_handled_total', { ...SUBSCRIBE, listener, grpc_code: 'CANCELLED', grpc_type: 'server_stream' }) -
        before.sum('grpc_server_handled_total', { ...SUBSCRIBE, listener, grpc_code: 'CANCELLED' }),
      1,
    );
    await eventually(
      async () => (await metrics()).sum('auren_tail_subscribers') === before.sum('auren_tail_subscribers'),
      'the subscriber gone',
    );
  });

  it("echoes the caller's x-request-id, or one it made, in the response headers", async () => {
    let echoed: string | null = null;
    await t.events.getStreamInfo(
      { streamId: freshStream() },
      { headers: { 'x-request-id': 'req-42.abc' }, onHeader: (h) => (echoed = h.get('x-request-id')) },
    );
    assert.equal(echoed, 'req-42.abc');
    await t.events.getStreamInfo({ streamId: freshStream() }, { onHeader: (h) => (echoed = h.get('x-request-id')) });
    assert.match(echoed ?? '', /^[0-9a-f-]{36}$/);
    await rejectsWith(
      t.events.getEvent(
        { eventId: 'not-a-uuid' },
        {
          headers: { 'x-request-id': 'x'.repeat(500) },
          onHeader: (h) => (echoed = h.get('x-request-id')),
          onTrailer: (h) => (echoed ??= h.get('x-request-id')),
        },
      ),
      Code.InvalidArgument,
    );
    assert.match(echoed ?? '', /^[0-9a-f-]{36}$/, 'an unusable request id is replaced');
  });
});

describe('GET /metrics on PORT, by protocol', () => {
  let t: TestApp;
  before(async () => (t = await startTestApp()));
  after(() => t?.stop());

  it('labels Connect JSON calls protocol="connect" and gRPC-Web calls protocol="grpc-web"', async () => {
    const before = await scrape(`${t.app.url}/metrics`);
    const path = `${t.app.url}/auren.v1.EventStoreService/GetStreamInfo`;
    const json = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: t.authorization },
      body: '{"streamId":"s-1"}',
    });
    assert.equal(json.status, 200);
    // An empty GetStreamInfoRequest... with stream_id "s-1" (field 1, length 3), in a gRPC-Web frame.
    const message = Buffer.from([0x0a, 0x03, 0x73, 0x2d, 0x31]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
    const web = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', authorization: t.authorization },
      body: frame,
    });
    assert.equal(web.status, 200);
    await web.arrayBuffer();
    const after = await scrape(`${t.app.url}/metrics`);
    const moved = (protocol: string) =>
      after.sum('grpc_server_handled_total', { grpc_method: 'GetStreamInfo', listener: 'PORT', protocol, grpc_code: 'OK' }) -
      before.sum('grpc_server_handled_total', { grpc_method: 'GetStreamInfo', listener: 'PORT', protocol, grpc_code: 'OK' });
    assert.deepEqual({ connect: moved('connect'), grpcWeb: moved('grpc-web') }, { connect: 1, grpcWeb: 1 });
  });
});

describe('GET /metrics when PostgreSQL does not answer in time', () => {
  let t: TestApp;
  before(async () => (t = await startTestApp({ DB_POOL_SIZE: '1', METRICS_SCRAPE_TIMEOUT_MS: '300' })));
  after(() => t?.stop());

  it('answers within its timeout without the PostgreSQL gauges, auren_postgres_up 0', async () => {
    // The pool's one connection is busy: the scrape's read cannot start.
    const busy = t.app.pool.query(sql.type(z.object({}))`select pg_sleep(3)`);
    const started = Date.now();
    const m = await scrape(`${t.app.url}/metrics`);
    const took = Date.now() - started;
    assert.ok(took < 2_000, `answered after ${took} ms`);
    assert.equal(m.sum('auren_postgres_up'), 0);
    assert.ok(!m.has('auren_postgres_connections'));
    assert.equal(m.sum('auren_db_pool_utilization'), 1, 'the pool gauges need no query');
    assert.equal(m.sum('auren_db_pool_waiting_clients'), 1, "the scrape's read waits for the connection");
    const again = await scrape(`${t.app.url}/metrics`);
    assert.equal(again.sum('auren_postgres_up'), 0);
    assert.equal(again.sum('auren_db_pool_waiting_clients'), 1, 'a second scrape waits for the same read, not a read of its own');
    await busy;
    await eventually(async () => (await scrape(`${t.app.url}/metrics`)).sum('auren_postgres_up') === 1, 'PostgreSQL figures back');
  });
});

describe('GET /metrics: the database, the pool, the consumers', () => {
  let t: TestApp;
  before(async () => (t = await startTestApp()));
  after(() => t?.stop());
  const metrics = () => scrape(`${t.app.url}/metrics`);

  it("reports PostgreSQL as the seed's monitor did: connections by state, locks by mode, the oldest transaction, the pool", async () => {
    const m = await metrics();
    assert.equal(m.sum('auren_postgres_up'), 1);
    assert.ok(m.sum('auren_postgres_connections') >= 1, 'connections counted');
    assert.ok(m.has('auren_postgres_oldest_transaction_seconds'));
    assert.match(m.text, /^# TYPE auren_postgres_locks gauge$/m, 'locks by mode (none may be held but the scrape’s own)');
    assert.equal(m.sum('auren_db_pool_size'), 16);
    assert.ok(m.has('auren_db_pool_utilization'));
    assert.ok(m.has('auren_db_pool_connections', { state: 'idle' }));
    assert.ok(m.has('process_cpu_seconds_total'), 'Node process metrics');
    assert.ok(m.has('nodejs_eventloop_lag_p99_seconds'));
  });

  it("shows a consumer's lag in events and seconds, back to zero once it has caught up", async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    const consumer = t.app.startConsumer({
      name: 'metrics-lag',
      filter: { eventTypes: ['lagging'] },
      handle: async () => {
        await blocked;
        handled++;
      },
    });
    const stream = freshStream('lag');
    await t.events.appendToStream({ streamId: stream, events: Array.from({ length: 5 }, () => proposed({ type: 'lagging' })) });
    await eventually(
      async () => (await metrics()).sum('auren_projection_lag_events', { projection: 'metrics-lag' }) >= 5,
      'a lag of 5 events',
    );
    const lagging = await metrics();
    assert.ok(lagging.sum('auren_projection_lag_seconds', { projection: 'metrics-lag' }) >= 0);
    release();
    await eventually(() => handled === 5, 'the consumer handled the events');
    await eventually(async () => {
      const m = await metrics();
      return (
        m.sum('auren_projection_lag_events', { projection: 'metrics-lag' }) === 0 &&
        m.sum('auren_projection_lag_seconds', { projection: 'metrics-lag' }) === 0
      );
    }, 'the lag back to zero');
    await consumer.stop();
  });

  it('passes promtool check metrics on a live scrape', async () => {
    await t.events.appendToStream({ streamId: freshStream(), events: [proposed()] });
    const { text } = await metrics();
    const { code, output } = await promtool(['check', 'metrics'], text);
    assert.equal(code, 0, output);
  });

  it('answers /readyz 200 with the database reachable and the schema applied, and /healthz alive', async () => {
    const ready = await fetch(`${t.app.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'READY', ready: true, checks: { database: 'ok', migrations: 'ok' } });
    assert.equal((await fetch(`${t.app.url}/healthz`)).status, 200);
  });
});
