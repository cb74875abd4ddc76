import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { ServingStatus } from '../../src/server/health.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { bufCurl, fileNames, HealthClient, reflect, ReflectionV1, ReflectionV1alpha, until } from '../support/grpc.js';
import type { Ctor, Json } from '../support/grpc.js';

// GRPC_PORT serves grpc.health.v1 (grpc-health-check) and reflection (@grpc/reflection) with
// the same statuses and the same files as PORT, so grpcurl and buf curl need nothing else.

describe('Health and reflection on GRPC_PORT', () => {
  let t: TestApp;
  let address: string;
  const clients: grpc.Client[] = [];
  const client = (ctor: Ctor) => {
    const c = new ctor(address, grpc.credentials.createInsecure());
    clients.push(c);
    return c as unknown as Json;
  };
  const check = (service: string) => {
    const c = client(HealthClient);
    return (promisify(c.Check.bind(c)) as (req: Json) => Promise<Json>)({ service });
  };

  before(async () => {
    t = await startTestApp();
    address = `127.0.0.1:${t.app.grpcPort}`;
  });
  after(async () => {
    for (const c of clients) c.close();
    await t.stop();
  });

  it('Check answers SERVING for the server and both services, NOT_FOUND for an unknown one', async () => {
    for (const service of ['', 'auren.v1.EventStoreService', 'auren.v1.MemoryService'])
      assert.equal((await check(service)).status, 'SERVING', service);
    await assert.rejects(check('no.such.Service'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  });

  it('follows the service health PORT serves: a status set there is what Check and Watch answer here', async () => {
    const call = client(HealthClient).Watch({ service: 'auren.v1.MemoryService' }) as grpc.ClientReadableStream<Json>;
    const seen: string[] = [];
    call.on('data', (r: Json) => seen.push(r.status));
    call.on('error', () => {});
    await until(() => seen.length === 1, 'initial status');
    t.app.health.set('auren.v1.MemoryService', ServingStatus.NOT_SERVING);
    await until(() => seen.length === 2, 'status after set()');
    assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
    assert.equal((await check('auren.v1.MemoryService')).status, 'NOT_SERVING');
    t.app.health.set('auren.v1.MemoryService', ServingStatus.SERVING);
    await until(() => seen.length === 3, 'status after the second set()');
    call.cancel();
  });

  for (const [version, ctor] of [
    ['v1', ReflectionV1],
    ['v1alpha', ReflectionV1alpha],
  ] as const) {
    it(`reflection ${version} lists every service and gives each file with its imports`, async () => {
      const [list, events, memory, byFile, unknown] = (await reflect(client(ctor), [
        { list_services: '' },
        { file_containing_symbol: 'auren.v1.EventStoreService.AppendToStream' },
        { file_containing_symbol: 'auren.v1.MemoryService' },
        { file_by_filename: 'google/protobuf/struct.proto' },
        { file_containing_symbol: 'auren.v1.NoSuchThing' },
      ])) as Json[];
      const services = (list!.list_services_response.service as Json[]).map((s) => s.name).sort();
      assert.deepEqual(services, [
        'auren.v1.EventStoreService',
        'auren.v1.MemoryService',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]);
      const eventFiles = fileNames(events!);
      assert.equal(eventFiles[0], 'auren/v1/events.proto');
      assert.ok(
        eventFiles.includes('google/protobuf/struct.proto') && eventFiles.includes('google/protobuf/timestamp.proto'),
        eventFiles.join(', '),
      );
      assert.equal(fileNames(memory!)[0], 'auren/v1/memory.proto');
      assert.deepEqual(fileNames(byFile!), ['google/protobuf/struct.proto']);
      assert.equal(unknown!.error_response.error_code, grpc.status.NOT_FOUND);
    });
  }

  it('buf curl --reflect lists the methods and calls one, with no .proto files', async () => {
    const methods = (await bufCurl(['--list-methods', `http://${address}`])).split('\n');
    for (const method of [
      'auren.v1.EventStoreService/AppendToStream',
      'auren.v1.MemoryService/StoreMemory',
      'grpc.health.v1.Health/Watch',
    ]) {
      assert.ok(methods.includes(method), `${method} in ${methods.join(', ')}`);
    }
    const appended = JSON.parse(
      await bufCurl([
        '-H',
        `authorization: ${t.authorization}`,
        '-d',
        '{"streamId":"curled","events":[{"type":"noted","data":{"via":"buf curl"}}]}',
        `http://${address}/auren.v1.EventStoreService/AppendToStream`,
      ]),
    );
    assert.equal(appended.nextExpectedVersion, '1');
    const read = JSON.parse(
      await bufCurl([
        '-H',
        `authorization: ${t.authorization}`,
        '-d',
        '{"streamId":"curled"}',
        `http://${address}/auren.v1.EventStoreService/ReadStream`,
      ]),
    );
    assert.deepEqual(read.events[0].data, { via: 'buf curl' });
  });

  it('at shutdown answers NOT_SERVING and ends open Watch calls', async () => {
    const own = await startTestApp();
    const c = new HealthClient(`127.0.0.1:${own.app.grpcPort}`, grpc.credentials.createInsecure()) as unknown as Json;
    try {
      const call = c.Watch({ service: '' }) as grpc.ClientReadableStream<Json>;
      const seen: string[] = [];
      call.on('data', (r: Json) => seen.push(r.status));
      const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      await until(() => seen.length === 1, 'initial status');
      const stopping = own.stop();
      assert.equal((await ended).code, grpc.status.OK);
      assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
      await stopping;
    } finally {
      (c as unknown as grpc.Client).close();
    }
  });
});
