import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { MAX_JSON_DEPTH } from '../../src/events/validation.js';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { MAX_DOCUMENT_DEPTH } from '../../src/memory/validation.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream } from '../support/events.js';
import { sending } from '../support/grpc.js';
import { rawClient } from '../support/wire.js';

// One nesting limit for documents (event data and metadata, memory content and metadata), the
// same on JSON and binary input, low enough that every client decodes what was accepted: the
// deepest document the service takes is read back by connect-es (protobuf-es), by
// @grpc/grpc-js with @grpc/proto-loader (protobufjs), and by Python's grpcio (Debian's
// python3-grpcio with the C++ protobuf runtime). Stored deeper, it would break every binary
// reader of the log, every time (a "poison" event).

const run = promisify(execFile);
const python = '/usr/bin/python3';

/** A document `levels` deep: objects and lists in turn, a number at the bottom. */
function nested(levels: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let i = 1; i < levels; i++) value = i % 2 ? [value] : { n: value };
  return { top: value };
}

function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

const PYTHON_READER = `
import json, sys, grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
fds = descriptor_pb2.FileDescriptorSet.FromString(open(sys.argv[1], 'rb').read())
pool = descriptor_pool.DescriptorPool()
for f in fds.file:
    pool.Add(f)
factory = message_factory.MessageFactory(pool)
cls = lambda name: factory.GetPrototype(pool.FindMessageTypeByName(name))
channel = grpc.insecure_channel(sys.argv[2])
def call(path, request_type, response_type, request):
    rpc = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=cls(response_type).FromString)
    return rpc(json_format.ParseDict(request, cls(request_type)()), metadata=[('authorization', sys.argv[5])], timeout=10)
def depth(v):
    if isinstance(v, list): return 1 + max([0] + [depth(x) for x in v])
    if isinstance(v, dict): return 1 + max([0] + [depth(x) for x in v.values()])
    return 0
stream = call('/auren.v1.EventStoreService/ReadStream', 'auren.v1.ReadStreamRequest', 'auren.v1.ReadStreamResponse', {'streamId': sys.argv[3]})
memory = call('/auren.v1.MemoryService/GetMemory', 'auren.v1.GetMemoryRequest', 'auren.v1.GetMemoryResponse', {'id': sys.argv[4]})
print(json.dumps({
  'event': depth(json_format.MessageToDict(stream.events[0].data)),
  'memory': depth(json_format.MessageToDict(memory.memory.content)),
}))
`;

describe('One nesting limit that every client can read back', function () {
  this.timeout(60_000);
  let t: TestApp;
  let streamId: string;
  let memoryId: string;
  const deepest = nested(MAX_JSON_DEPTH);

  before(async () => {
    t = await startTestApp();
    assert.equal(depthOf(deepest), MAX_JSON_DEPTH);
    // Sent as JSON over Connect, where a deep document can be written by hand.
    const client = rawClient({ url: t.app.url, grpcPort: t.app.grpcPort, authorization: t.authorization });
    streamId = freshStream('deep');
    const appended = await client.call(
      'connect+json',
      'auren.v1.EventStoreService/AppendToStream',
      JSON.stringify({ streamId, events: [{ type: 'deep', data: deepest }] }),
      false,
    );
    assert.equal(appended.code, 'OK', appended.message);
    client.close();
    const stored = await t.memory.storeMemory(
      { agentId: 'deep-agent', type: MemoryType.FACT, content: nested(MAX_DOCUMENT_DEPTH) as never },
      t.as('deep-agent'),
    );
    memoryId = stored.memory!.id;
  });
  after(() => t.stop());

  it('refuses a memory one level deeper, naming its content', async () => {
    await assert.rejects(
      t.memory.storeMemory(
        { agentId: 'deep-agent', type: MemoryType.FACT, content: nested(MAX_DOCUMENT_DEPTH + 1) as never },
        t.as('deep-agent'),
      ),
      /content\.top.*: nests deeper than 31 levels/,
    );
  });

  it(`refuses one level more (${MAX_JSON_DEPTH + 1}) on JSON and on binary`, async () => {
    const client = rawClient({ url: t.app.url, grpcPort: t.app.grpcPort, authorization: t.authorization });
    const tooDeep = JSON.stringify({ streamId, events: [{ type: 'deep', data: nested(MAX_JSON_DEPTH + 1) }] });
    const json = await client.call('connect+json', 'auren.v1.EventStoreService/AppendToStream', tooDeep, false);
    assert.equal(json.code, 'INVALID_ARGUMENT');
    assert.match(json.message, /^events\[0\]\.data\.top.*: nests deeper than 32 levels/);
    client.close();
    await assert.rejects(
      t.events.appendToStream({ streamId, events: [{ type: 'deep', data: nested(MAX_JSON_DEPTH + 1) as never }] }),
      /nests deeper than 32/,
    );
  });

  it('connect-es reads the deepest event and memory back', async () => {
    const page = await t.events.readStream({ streamId });
    assert.equal(depthOf(page.events[0]!.data), MAX_JSON_DEPTH);
    const got = await t.memory.getMemory({ id: memoryId }, { headers: { 'x-auren-agent': 'deep-agent' } });
    assert.equal(depthOf(got.memory!.content), MAX_DOCUMENT_DEPTH);
  });

  it('@grpc/grpc-js with proto-loader (protobufjs) reads the deepest event back', async () => {
    const definition = protoLoader.loadSync(path.join(process.cwd(), 'proto/auren/v1/events.proto'), {
      includeDirs: [path.join(process.cwd(), 'proto')],
      keepCase: false,
      longs: String,
      defaults: true,
    });
    const Service = (grpc.loadPackageDefinition(definition) as any).auren.v1.EventStoreService as typeof grpc.Client;
    const client = new Service(`127.0.0.1:${t.app.grpcPort}`, grpc.credentials.createInsecure(), sending(t.authorization)) as any;
    try {
      const page = await new Promise<any>((resolve, reject) =>
        client.ReadStream({ streamId }, (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response))),
      );
      // protobufjs keeps Struct as fields/kind: count its Struct and ListValue levels.
      const levels = (value: any): number => {
        if (!value || typeof value !== 'object') return 0;
        if ('fields' in value) return 1 + Math.max(0, ...Object.values(value.fields).map(levels));
        if ('values' in value && Array.isArray(value.values)) return 1 + Math.max(0, ...value.values.map(levels));
        if ('structValue' in value && value.structValue) return levels(value.structValue);
        if ('listValue' in value && value.listValue) return levels(value.listValue);
        return 0;
      };
      assert.equal(levels(page.events[0].data), MAX_JSON_DEPTH);
    } finally {
      client.close();
    }
  });

  it("Python's grpcio (C++ protobuf) reads the deepest event and memory back", async function () {
    const available = await run(python, ['-c', 'import grpc, google.protobuf']).then(
      () => true,
      () => false,
    );
    // .ci/run installs Debian's python3-grpcio; elsewhere say what is missing rather than pass.
    assert.ok(available, `${python} cannot import grpc: install Debian's python3-grpcio and python3-protobuf`);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'auren-nesting-'));
    try {
      const descriptors = path.join(dir, 'auren.binpb');
      await run(path.join(process.cwd(), 'node_modules/.bin/buf'), ['build', '-o', descriptors]);
      const script = path.join(dir, 'reader.py');
      await writeFile(script, PYTHON_READER);
      const { stdout } = await run(python, [script, descriptors, `127.0.0.1:${t.app.grpcPort}`, streamId, memoryId, t.authorization]);
      assert.deepEqual(JSON.parse(stdout), { event: MAX_JSON_DEPTH, memory: MAX_DOCUMENT_DEPTH });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
