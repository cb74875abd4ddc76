import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { file_auren_v1_events } from '../../src/gen/auren/v1/events_pb.js';
import { createHealthStatus, registerHealth, ServingStatus } from '../../src/server/health.js';
import type { HealthStatus } from '../../src/server/health.js';
import { registerReflection } from '../../src/server/reflection.js';
import { bufCurl, fileNames, HealthClient, reflect, ReflectionV1, ReflectionV1alpha, until } from '../support/grpc.js';
import type { Ctor, Json } from '../support/grpc.js';

/** A HealthStatus that counts live Watch subscriptions, to prove cancelled watches free them. */
function counting(health: HealthStatus) {
  let active = 0;
  const wrapped: HealthStatus = {
    set: (s, st) => health.set(s, st),
    get: (s) => health.get(s),
    list: () => health.list(),
    shutdown: () => health.shutdown(),
    get isShutdown() {
      return health.isShutdown;
    },
    subscribeAll: (w) => health.subscribeAll(w),
    subscribe(s, l) {
      active++;
      const unsubscribe = health.subscribe(s, l);
      let done = false;
      return () => {
        if (!done) ((done = true), active--, unsubscribe());
      };
    },
  };
  return { wrapped, active: () => active };
}

describe('health and reflection over connect-node (gRPC clients)', function () {
  this.timeout(30_000);
  const health = createHealthStatus();
  const watched = counting(health);
  const server = http2.createServer(
    connectNodeAdapter({
      routes: (router) => {
        registerHealth(router, watched.wrapped);
        registerReflection(router, [file_auren_v1_events]);
      },
    }),
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => (sessions.add(s), s.on('close', () => sessions.delete(s))));
  let address = '';
  let clients: grpc.Client[] = [];
  const client = (ctor: Ctor) => {
    const c = new ctor(address, grpc.credentials.createInsecure());
    clients.push(c);
    return c as unknown as Json;
  };

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    clients.forEach((c) => c.close());
    clients = [];
    sessions.forEach((s) => s.destroy());
    await new Promise((resolve) => server.close(resolve));
  });

  it('Check answers SERVING for the server and NOT_FOUND for unknown services', async () => {
    const c = client(HealthClient);
    const check = promisify(c.Check.bind(c)) as (req: Json) => Promise<Json>;
    assert.equal((await check({ service: '' })).status, 'SERVING');
    await assert.rejects(check({ service: 'no.such.Service' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  });

  it('Watch streams the current status, then changes, and frees its listener on cancel', async () => {
    const c = client(HealthClient);
    const call = c.Watch({ service: 'auren.v1.EventStoreService' }) as grpc.ClientReadableStream<Json>;
    const seen: string[] = [];
    call.on('data', (r: Json) => seen.push(r.status));
    call.on('error', () => {});
    await until(() => seen.length === 1, 'initial status');
    assert.deepEqual(seen, ['SERVICE_UNKNOWN']);
    health.set('auren.v1.EventStoreService', ServingStatus.SERVING);
    await until(() => seen.length === 2, 'status after set()');
    health.set('auren.v1.EventStoreService', ServingStatus.SERVING); // unchanged: no message
    health.set('auren.v1.EventStoreService', ServingStatus.NOT_SERVING);
    await until(() => seen.length === 3, 'status after second set()');
    assert.deepEqual(seen, ['SERVICE_UNKNOWN', 'SERVING', 'NOT_SERVING']);
    assert.equal(watched.active(), 1);
    call.cancel();
    await until(() => watched.active() === 0, 'listener freed after cancel');
    health.set('auren.v1.EventStoreService', ServingStatus.SERVING);
  });

  for (const [version, ctor] of [
    ['v1', ReflectionV1],
    ['v1alpha', ReflectionV1alpha],
  ] as const) {
    it(`reflection ${version}: list_services, file_containing_symbol with imports, errors`, async () => {
      const [list, bySymbol, byMethod, byNested, byFile, unknown, extNumbers, ext] = (await reflect(client(ctor), [
        { list_services: '' },
        { file_containing_symbol: 'auren.v1.EventStoreService' },
        { file_containing_symbol: 'auren.v1.EventStoreService.AppendToStream' },
        { file_containing_symbol: 'grpc.health.v1.HealthCheckResponse.ServingStatus' },
        { file_by_filename: 'google/protobuf/timestamp.proto' },
        { file_containing_symbol: 'auren.v1.NoSuchThing' },
        { all_extension_numbers_of_type: 'auren.v1.Event' },
        { file_containing_extension: { containing_type: 'auren.v1.Event', extension_number: 100 } },
      ])) as Json[];
      const services = (list!.list_services_response.service as Json[]).map((s) => s.name);
      for (const s of [
        'auren.v1.EventStoreService',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]) {
        assert.ok(services.includes(s), `${s} in ${services.join(', ')}`);
      }
      const names = fileNames(bySymbol!);
      assert.equal(names[0], 'auren/v1/events.proto');
      assert.ok(names.includes('google/protobuf/struct.proto') && names.includes('google/protobuf/timestamp.proto'), names.join(', '));
      assert.equal(fileNames(byMethod!)[0], 'auren/v1/events.proto');
      assert.deepEqual(fileNames(byNested!), ['health/v1/health.proto']);
      assert.deepEqual(fileNames(byFile!), ['google/protobuf/timestamp.proto']);
      assert.equal(unknown!.message_response, 'error_response');
      assert.equal(unknown!.error_response.error_code, grpc.status.NOT_FOUND);
      assert.deepEqual(extNumbers!.all_extension_numbers_response, { base_type_name: 'auren.v1.Event', extension_number: [] });
      assert.equal(ext!.error_response.error_code, grpc.status.NOT_FOUND);
    });
  }

  for (const reflectProtocol of ['', 'grpc-v1', 'grpc-v1alpha']) {
    it(`buf curl --reflect ${reflectProtocol || '(default)'} lists the EventStoreService methods`, async () => {
      const stdout = await bufCurl([
        ...(reflectProtocol ? ['--reflect-protocol', reflectProtocol] : []),
        '--list-methods',
        `http://${address}`,
      ]);
      const methods = stdout.split('\n');
      assert.ok(methods.includes('auren.v1.EventStoreService/AppendToStream'), stdout);
      assert.ok(methods.includes('grpc.health.v1.Health/Watch'), stdout);
    });
  }

  it('shutdown() sets NOT_SERVING and ends open Watch streams', async () => {
    const c = client(HealthClient);
    const call = c.Watch({ service: '' }) as grpc.ClientReadableStream<Json>;
    const seen: string[] = [];
    call.on('data', (r: Json) => seen.push(r.status));
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    await until(() => seen.length === 1, 'initial status');
    health.shutdown();
    assert.equal((await ended).code, grpc.status.OK);
    assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
    assert.equal(watched.active(), 0);
    health.set('', ServingStatus.SERVING);
    assert.equal(health.get(''), ServingStatus.NOT_SERVING);
  });
});
