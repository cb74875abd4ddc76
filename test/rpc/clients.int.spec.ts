import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromBinary } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { EventStoreService, ExpectedVersionKind } from '../../src/gen/auren/v1/events_pb.js';
import { ErrorInfoSchema } from '../../src/gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../src/gen/google/rpc/status_pb.js';
import { LISTENERS, startTestApp } from '../support/app.js';
import { sending } from '../support/grpc.js';
import type { TestApp } from '../support/app.js';
import { freshStream, rejectsWith } from '../support/events.js';

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

// A client that knows nothing of our TypeScript: the .proto files, loaded at run time.
function grpcJsClients(address: string, authorization: string) {
  const definition = protoLoader.loadSync(['auren/v1/events.proto', 'health/v1/health.proto'], {
    includeDirs: [root('proto'), root('node_modules/grpc-health-check/proto')],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as any;
  const credentials = grpc.credentials.createInsecure();
  return {
    events: new loaded.auren.v1.EventStoreService(address, credentials, sending(authorization)),
    health: new loaded.grpc.health.v1.Health(address, credentials),
  };
}

// ReadAll returns an event once every older transaction on the server has finished; another
// session's open transaction (a test run elsewhere on a shared server) can hold it back a while.
async function settled<T>(read: () => Promise<T>, ok: (result: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await read();
    if (ok(result) || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const call = (client: any, method: string, request: object): Promise<any> =>
  new Promise((resolve, reject) =>
    client[method](request, (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response))),
  );

describe('Clients of every protocol and listener', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.stop());

  for (const listener of LISTENERS)
    describe(`@grpc/grpc-js with the .proto files loaded at run time, on ${listener}`, () => {
      let clients: ReturnType<typeof grpcJsClients>;
      before(() => {
        clients = grpcJsClients(`127.0.0.1:${listener === 'PORT' ? t.app.port : t.app.grpcPort}`, t.authorization);
      });
      after(() => {
        clients.events.close();
        clients.health.close();
      });

      it('appends, reads the stream, reads the log, gets the stream and the event', async () => {
        const streamId = freshStream('grpcjs');
        const eventId = randomUUID();
        const appended = await call(clients.events, 'appendToStream', {
          streamId,
          expected: { kind: 'EXPECTED_VERSION_KIND_NO_STREAM' },
          events: [
            { eventId, type: 'memory_created', data: { fields: { text: { stringValue: 'sleeps 6h' }, score: { numberValue: 0.8 } } } },
          ],
        });
        assert.equal(appended.nextExpectedVersion, '1');
        const read = await call(clients.events, 'readStream', { streamId });
        assert.equal(read.events[0].eventId, eventId);
        assert.equal(read.events[0].data.fields.text.stringValue, 'sleeps 6h');
        const all = await settled(
          () => call(clients.events, 'readAll', { fromPosition: appended.firstPosition, limit: 1 }),
          (r) => r.events.length > 0,
        );
        assert.equal(all.events[0].eventId, eventId);
        const info = await call(clients.events, 'getStreamInfo', { streamId });
        assert.equal(info.exists, true);
        assert.equal(info.version, '1');
        const got = await call(clients.events, 'getEvent', { eventId });
        assert.equal(got.event.streamId, streamId);
      });

      it('gets ABORTED with the actual version on a conflict, and INVALID_ARGUMENT on bad input', async () => {
        const streamId = freshStream('grpcjs');
        await call(clients.events, 'appendToStream', { streamId, events: [{ type: 't' }] });
        await assert.rejects(
          call(clients.events, 'appendToStream', {
            streamId,
            expected: { kind: 'EXPECTED_VERSION_KIND_EXACT', version: '5' },
            events: [{ type: 't' }],
          }),
          (e: any) => {
            assert.equal(e.code, grpc.status.ABORTED);
            assert.match(e.details, /is at version 1/);
            // The standard details, as grpcio's rpc_status.from_call reads them.
            const status = fromBinary(StatusSchema, e.metadata.get('grpc-status-details-bin')[0]);
            assert.equal(status.code, grpc.status.ABORTED);
            const info = status.details.map((d) => anyUnpack(d, ErrorInfoSchema)).find(Boolean);
            assert.equal(info?.reason, 'WRONG_EXPECTED_VERSION');
            assert.equal(info?.metadata.actual_version, '1');
            return true;
          },
        );
        await assert.rejects(
          call(clients.events, 'appendToStream', { streamId: '', events: [{ type: 't' }] }),
          (e: any) => e.code === grpc.status.INVALID_ARGUMENT && /stream_id/.test(e.details),
        );
      });

      it('health answers SERVING for the server and the event store', async () => {
        assert.equal((await call(clients.health, 'check', { service: '' })).status, 'SERVING');
        assert.equal((await call(clients.health, 'check', { service: 'auren.v1.EventStoreService' })).status, 'SERVING');
      });
    });

  describe('Connect protocol with JSON over plain HTTP/1.1 (fetch, no Connect library)', () => {
    const post = async (method: string, body: object) => {
      const response = await fetch(`${t.app.url}/auren.v1.EventStoreService/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: t.authorization },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    };

    it('appends, reads the stream, reads the log, gets the stream and the event', async () => {
      const streamId = freshStream('connect');
      const eventId = randomUUID();
      const appended = await post('AppendToStream', {
        streamId,
        expected: { kind: 'EXPECTED_VERSION_KIND_NO_STREAM' },
        events: [{ eventId, type: 'memory_created', data: { text: 'sleeps 6h', tags: ['sleep'] }, correlationId: 'c-1' }],
      });
      assert.equal(appended.status, 200);
      assert.equal(appended.body.nextExpectedVersion, '1');
      const read = await post('ReadStream', { streamId, direction: 'READ_DIRECTION_BACKWARDS' });
      assert.deepEqual(read.body.events[0].data, { text: 'sleeps 6h', tags: ['sleep'] });
      assert.equal(read.body.events[0].correlationId, 'c-1');
      const all = await settled(
        () => post('ReadAll', { fromPosition: appended.body.firstPosition, limit: 1 }),
        (r) => r.body.events?.length > 0,
      );
      assert.equal(all.body.events[0].eventId, eventId);
      assert.equal((await post('GetStreamInfo', { streamId })).body.version, '1');
      assert.equal((await post('GetEvent', { eventId })).body.event.streamId, streamId);
    });

    it('maps errors to Connect codes and HTTP statuses', async () => {
      const streamId = freshStream('connect');
      await post('AppendToStream', { streamId, events: [{ type: 't' }] });
      const conflict = await post('AppendToStream', {
        streamId,
        expected: { kind: 'EXPECTED_VERSION_KIND_NO_STREAM' },
        events: [{ type: 't' }],
      });
      assert.equal(conflict.status, 409);
      assert.equal(conflict.body.code, 'aborted');
      assert.match(conflict.body.message, /is at version 1/);
      const notObject = await post('AppendToStream', { streamId, events: [{ type: 't', data: [1, 2] }] });
      assert.equal(notObject.status, 400);
      assert.equal(notObject.body.code, 'invalid_argument');
      assert.match(notObject.body.message, /Struct/);
      const missing = await post('GetEvent', { eventId: randomUUID() });
      assert.equal(missing.status, 404);
    });

    it('serves /healthz', async () => {
      const response = await fetch(`${t.app.url}/healthz`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: 'SERVING' });
    });
  });

  describe('gRPC-Web over HTTP/1.1', () => {
    it('appends and reads back, and gets codes for errors', async () => {
      const client = createClient(
        EventStoreService,
        createGrpcWebTransport({
          baseUrl: t.app.url,
          httpVersion: '1.1',
          interceptors: [
            (next) => (request) => {
              request.header.set('authorization', t.authorization);
              return next(request);
            },
          ],
        }),
      );
      const streamId = freshStream('grpcweb');
      const appended = await client.appendToStream({
        streamId,
        expected: { kind: ExpectedVersionKind.NO_STREAM },
        events: [{ type: 'memory_created', data: { a: 1 } }],
      });
      assert.equal(appended.nextExpectedVersion, 1n);
      const read = await client.readStream({ streamId });
      assert.deepEqual(read.events[0]?.data, { a: 1 });
      const all = await settled(
        () => client.readAll({ fromPosition: appended.firstPosition, limit: 1 }),
        (r) => r.events.length > 0,
      );
      assert.equal(all.events[0]?.streamId, streamId);
      assert.equal((await client.getStreamInfo({ streamId })).version, 1n);
      assert.equal((await client.getEvent({ eventId: read.events[0]!.eventId })).event?.version, 1n);
      await rejectsWith(
        client.appendToStream({ streamId, expected: { kind: ExpectedVersionKind.NO_STREAM }, events: [{ type: 't' }] }),
        Code.Aborted,
        /is at version 1/,
      );
    });
  });
});

describe('Browsers (CORS)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ CORS_ORIGINS: 'http://dashboard.test' });
  });
  after(() => t.stop());

  it('answers the preflight of an allowed origin and marks its responses', async () => {
    const preflight = await fetch(`${t.app.url}/auren.v1.EventStoreService/GetStreamInfo`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://dashboard.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,connect-protocol-version',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://dashboard.test');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /connect-protocol-version/i);
    const call = await fetch(`${t.app.url}/auren.v1.EventStoreService/GetStreamInfo`, {
      method: 'POST',
      headers: { origin: 'http://dashboard.test', 'content-type': 'application/json', authorization: t.authorization },
      body: JSON.stringify({ streamId: 'x' }),
    });
    assert.equal(call.status, 200);
    assert.equal(call.headers.get('access-control-allow-origin'), 'http://dashboard.test');
  });

  it('gives other origins no CORS headers', async () => {
    const call = await fetch(`${t.app.url}/auren.v1.EventStoreService/GetStreamInfo`, {
      method: 'POST',
      headers: { origin: 'http://evil.test', 'content-type': 'application/json', authorization: t.authorization },
      body: JSON.stringify({ streamId: 'x' }),
    });
    assert.equal(call.headers.get('access-control-allow-origin'), null);
  });
});
