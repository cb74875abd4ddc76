import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import {
  AppendToStreamRequestSchema,
  ExpectedVersionKind,
  ReadAllRequestSchema,
  ReadStreamRequestSchema,
} from '../../src/gen/auren/v1/events_pb.js';
import {
  ListAuditTrailRequestSchema,
  ListMemoriesRequestSchema,
  MemoryType,
  StoreMemoryRequestSchema,
  UpdateMemoryRequestSchema,
} from '../../src/gen/auren/v1/memory_pb.js';
import { BadRequestSchema, ErrorInfoSchema } from '../../src/gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../src/gen/google/rpc/status_pb.js';
import { encodeKeysetToken } from '../../src/memory/pageToken.js';
import { LISTENERS, startTestApp } from '../support/app.js';
import type { ListenerName, TestApp } from '../support/app.js';

// Every bad input gets one answer on every protocol and listener: INVALID_ARGUMENT naming the
// field, with google.rpc.ErrorInfo and BadRequest details, and nothing written. Each case is
// sent as a client would send it: JSON text over Connect to PORT (as curl does), protobuf bytes
// over gRPC to PORT and to GRPC_PORT (as grpcio or grpc-js do), bytes edited where a
// well-behaved encoder cannot produce the input.

interface Refusal {
  code: string;
  message: string;
  reason: string;
  field: string;
  violation: string;
}

const EVENTS = 'auren.v1.EventStoreService';
const MEMORY = 'auren.v1.MemoryService';

// The test app's admin key, as every request here sends it.
let authorization = '';

async function connectJson(t: TestApp, path: string, body: string | Buffer): Promise<Refusal> {
  const response = await fetch(`${t.app.url}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: t.authorization },
    body,
  });
  const json = (await response.json()) as { code: string; message: string; details?: { type: string; value: string }[] };
  assert.equal(response.status, json.code === 'invalid_argument' ? 400 : response.status);
  const detail = (type: string) => json.details?.find((d) => d.type === type)?.value ?? '';
  const info = fromBinary(ErrorInfoSchema, Buffer.from(detail('google.rpc.ErrorInfo'), 'base64url'));
  const bad = fromBinary(BadRequestSchema, Buffer.from(detail('google.rpc.BadRequest'), 'base64url'));
  return {
    code: json.code,
    message: json.message,
    reason: info.reason,
    field: info.metadata.field ?? '',
    violation: bad.fieldViolations[0]?.field ?? '',
  };
}

function grpcBinary(client: grpc.Client, path: string, body: Uint8Array): Promise<Refusal> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', authorization);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/${path}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(body),
      metadata,
      (error) => {
        if (!error) return reject(new Error(`${path} succeeded`));
        const raw = error.metadata?.get('grpc-status-details-bin')[0];
        const status = raw ? fromBinary(StatusSchema, raw as Buffer) : create(StatusSchema);
        const unpack = <D extends DescMessage>(schema: D) => status.details.map((d) => anyUnpack(d, schema)).find(Boolean);
        const info = unpack(ErrorInfoSchema);
        const bad = unpack(BadRequestSchema);
        resolve({
          code: grpc.status[error.code!] ?? String(error.code),
          // grpc-js decodes grpc-message with decodeURI, which leaves %3A and the like; the spec says percent-decode.
          message: decodeURIComponent(error.details ?? ''),
          reason: info?.reason ?? '',
          field: info?.metadata.field ?? '',
          violation: bad?.fieldViolations[0]?.field ?? '',
        });
      },
    );
  });
}

function assertRefused(refusal: Refusal, field: string, problem?: RegExp, where = 'Connect JSON'): void {
  assert.match(refusal.code, /^(invalid_argument|INVALID_ARGUMENT)$/, `${where}: ${refusal.code}: ${refusal.message}`);
  assert.ok(refusal.message.startsWith(`${field}: `), `${where}: '${refusal.message}' names ${field}`);
  if (problem) assert.match(refusal.message, problem, where);
  assert.equal(refusal.reason, 'INVALID_ARGUMENT', where);
  assert.equal(refusal.field, field, where);
  assert.equal(refusal.violation, field, where);
}

/** Protobuf bytes of a message, with `from` (ASCII) replaced by `to` wherever it occurs. */
function bytesOf<D extends DescMessage>(schema: D, init: MessageInitShape<D>, from?: string, to?: number[]): Uint8Array {
  const bytes = Buffer.from(toBinary(schema, create(schema, init)));
  if (!from || !to) return bytes;
  const needle = Buffer.from(from);
  const at = bytes.indexOf(needle);
  assert.ok(at >= 0, `${from} is in the message`);
  return Buffer.concat([bytes.subarray(0, at), Buffer.from(to), bytes.subarray(at + needle.length)]);
}

const append = (data: Record<string, unknown>, streamId = `strict-${randomUUID()}`) => ({
  streamId,
  events: [{ type: 'checked', data: data as never }],
});

function deep(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) value = { x: value };
  return value;
}

describe('Strict input: one answer on every protocol and listener', () => {
  let t: TestApp;
  // Raw gRPC clients of PORT (connect-node) and GRPC_PORT (grpc-js).
  let grpcClients: { listener: ListenerName; client: grpc.Client }[];
  let db: pg.Client;
  const counts = async () =>
    (await db.query('select (select count(*) from events) + (select count(*) from memories) as n')).rows[0].n as string;

  before(async () => {
    t = await startTestApp();
    authorization = t.authorization;
    grpcClients = LISTENERS.map((listener) => ({
      listener,
      client: new grpc.Client(`127.0.0.1:${listener === 'PORT' ? t.app.port : t.app.grpcPort}`, grpc.credentials.createInsecure()),
    }));
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    for (const { client } of grpcClients) client.close();
    await db.end();
    await t.stop();
  });

  // Each case on its protocol: the refusal, then nothing written.
  async function refusedJson(path: string, body: string | Buffer, field: string, problem?: RegExp): Promise<void> {
    const before = await counts();
    assertRefused(await connectJson(t, path, body), field, problem);
    assert.equal(await counts(), before, 'nothing written');
  }
  async function refusedBinary(
    path: string,
    body: Uint8Array,
    field: string,
    problem?: RegExp,
    listeners: readonly ListenerName[] = LISTENERS,
  ): Promise<void> {
    for (const { listener, client } of grpcClients.filter((c) => listeners.includes(c.listener))) {
      const before = await counts();
      assertRefused(await grpcBinary(client, path, body), field, problem, `gRPC on ${listener}`);
      assert.equal(await counts(), before, `nothing written through ${listener}`);
    }
  }

  describe('fields and enum values the contract does not have', () => {
    it('refuses an unknown JSON field instead of ignoring it', () =>
      refusedJson(
        `${EVENTS}/AppendToStream`,
        JSON.stringify({ ...append({}), expectedVersion: { kind: 'EXPECTED_VERSION_KIND_NO_STREAM' } }),
        'expectedVersion',
        /not a field of AppendToStreamRequest; expects one of streamId, expected, events/,
      ));

    it('refuses an unknown binary field number instead of ignoring it', () => {
      const body = Buffer.concat([bytesOf(AppendToStreamRequestSchema, append({})), Buffer.from([0x98, 0x06, 0x01])]); // field 99, varint 1
      return refusedBinary(`${EVENTS}/AppendToStream`, body, '#99', /not a field of AppendToStreamRequest/);
    });

    for (const name of ['EXACT', 'EXPECTED_VERSION_KIND_NO_STREEM']) {
      it(`refuses the unknown enum name ${name} instead of reading it as ANY`, () =>
        refusedJson(
          `${EVENTS}/AppendToStream`,
          JSON.stringify({ ...append({}), expected: { kind: name } }),
          'expected.kind',
          /expects one of .*EXPECTED_VERSION_KIND_NO_STREAM/,
        ));
    }

    it('refuses an unknown enum number over gRPC', () =>
      refusedBinary(
        `${EVENTS}/AppendToStream`,
        bytesOf(AppendToStreamRequestSchema, { ...append({}), expected: { kind: 42 as ExpectedVersionKind } }),
        'expected.kind',
        /unknown/,
      ));
  });

  describe('__proto__ keys are refused, never dropped', () => {
    it('in event data, as JSON', () =>
      refusedJson(
        `${EVENTS}/AppendToStream`,
        JSON.stringify(append({})).replace('"data":{}', '"data":{"__proto__":{"a":1}}'),
        'events[0].data',
        /__proto__/,
      ));
    it('in event data, spelt with JSON escapes', () =>
      refusedJson(
        `${EVENTS}/AppendToStream`,
        JSON.stringify(append({})).replace('"data":{}', '"data":{"n":{"\\u005f_proto__":1}}'),
        'events[0].data.n',
        /__proto__/,
      ));
    it('in event data, as protobuf', () =>
      refusedBinary(
        `${EVENTS}/AppendToStream`,
        bytesOf(AppendToStreamRequestSchema, append({ __proto_X: { a: 1 } }), '__proto_X', [...Buffer.from('__proto__')]),
        'events[0].data',
        /__proto__/,
      ));
    it('in memory content, as JSON', () =>
      refusedJson(
        `${MEMORY}/StoreMemory`,
        JSON.stringify({ agentId: 'checker', userId: 'u1', type: 'MEMORY_TYPE_FACT', content: { note: 1 } }).replace(
          '{"note":1}',
          '{"__proto__":{"a":1}}',
        ),
        'content',
        /__proto__/,
      ));
    it('in memory content, as protobuf', () =>
      refusedBinary(
        `${MEMORY}/StoreMemory`,
        bytesOf(
          StoreMemoryRequestSchema,
          { agentId: 'checker', userId: 'u1', type: MemoryType.FACT, content: { __proto_X: 1 } },
          '__proto_X',
          [...Buffer.from('__proto__')],
        ),
        'content',
        /__proto__/,
      ));
    it('but stores the string "__proto__" as a value, on both protocols', async () => {
      const streamId = `strict-${randomUUID()}`;
      const json = await fetch(`${t.app.url}/${EVENTS}/AppendToStream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: t.authorization },
        body: JSON.stringify(append({ k: '__proto__' }, streamId)),
      });
      assert.equal(json.status, 200);
      await t.events.appendToStream(append({ k: '__proto__' }, streamId));
      // Read back as JSON: this process's own binary decoding marks "__proto__" (see requestCheck.ts).
      const read = await fetch(`${t.app.url}/${EVENTS}/ReadStream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: t.authorization },
        body: JSON.stringify({ streamId }),
      });
      const { events } = (await read.json()) as { events: { data: unknown }[] };
      assert.deepEqual(
        events.map((e) => e.data),
        [{ k: '__proto__' }, { k: '__proto__' }],
      );
    });
  });

  describe('text PostgreSQL cannot store or clients cannot decode', () => {
    it('NUL in a data value (JSON)', () =>
      refusedJson(`${EVENTS}/AppendToStream`, JSON.stringify(append({ a: 'x\u0000y' })), 'events[0].data.a', /NUL/));
    it('NUL in a data value (protobuf)', () =>
      refusedBinary(
        `${EVENTS}/AppendToStream`,
        bytesOf(AppendToStreamRequestSchema, append({ a: 'x\u0000y' })),
        'events[0].data.a',
        /NUL/,
      ));
    it('NUL in a data key (JSON)', () =>
      refusedJson(`${EVENTS}/AppendToStream`, JSON.stringify(append({ 'k\u0000': 1 })), "events[0].data key 'k\u0000'", /NUL/));
    it('NUL in a stream id (protobuf)', () =>
      refusedBinary(`${EVENTS}/AppendToStream`, bytesOf(AppendToStreamRequestSchema, append({}, 'a\u0000b')), 'stream_id', /NUL/));
    it('NUL in a search query (JSON)', () =>
      refusedJson(`${MEMORY}/SearchMemories`, JSON.stringify({ query: 'sleep\u0000' }), 'query', /NUL/));
    it('a lone surrogate in a data value (JSON)', () =>
      refusedJson(
        `${EVENTS}/AppendToStream`,
        '{"streamId":"s-lone","events":[{"type":"t","data":{"a":"\\ud800"}}]}',
        'events[0].data.a',
        /valid Unicode/,
      ));
    it('a lone surrogate in a stream id (JSON)', () =>
      refusedJson(`${EVENTS}/AppendToStream`, '{"streamId":"s-\\ud800","events":[{"type":"t","data":{}}]}', 'stream_id', /valid Unicode/));
    it('invalid UTF-8 in a data value (protobuf)', () =>
      refusedBinary(
        `${EVENTS}/AppendToStream`,
        bytesOf(AppendToStreamRequestSchema, append({ a: 'XXXX' }), 'XXXX', [0x41, 0xff, 0xfe, 0x41]),
        'events[0].data.a',
        /valid Unicode/,
      ));
    it('invalid UTF-8 in a stream id (protobuf)', () =>
      refusedBinary(
        `${EVENTS}/AppendToStream`,
        bytesOf(AppendToStreamRequestSchema, append({}, 'strict-XXXX'), 'XXXX', [0xc3, 0x28, 0x41, 0x41]),
        'stream_id',
        /valid Unicode/,
      ));
    it('an invalid UTF-8 body (JSON)', () =>
      refusedJson(`${EVENTS}/AppendToStream`, Buffer.from('{"streamId":"s\xff"}', 'latin1'), 'request', /UTF-8/));
  });

  describe('numbers and times out of range', () => {
    const beyond = 2n ** 63n;
    it('from_version ≥ 2^63 (JSON)', () =>
      refusedJson(
        `${EVENTS}/ReadStream`,
        JSON.stringify({ streamId: 's', fromVersion: '18446744073709551615' }),
        'from_version',
        /at most 9223372036854775807/,
      ));
    it('from_version ≥ 2^63 (protobuf)', () =>
      refusedBinary(
        `${EVENTS}/ReadStream`,
        bytesOf(ReadStreamRequestSchema, { streamId: 's', fromVersion: beyond }),
        'from_version',
        /at most/,
      ));
    it('a position ≥ 2^63 (protobuf)', () =>
      refusedBinary(
        `${EVENTS}/ReadAll`,
        bytesOf(ReadAllRequestSchema, { fromPosition: { commit: 1n, prepare: beyond } }),
        'from_position.prepare',
        /at most/,
      ));
    it('an expected version ≥ 2^63 (JSON)', () =>
      refusedJson(
        `${EVENTS}/AppendToStream`,
        JSON.stringify({ ...append({}), expected: { kind: 'EXPECTED_VERSION_KIND_EXACT', version: beyond.toString() } }),
        'expected.version',
        /at most/,
      ));
    it("a memory's expected version ≥ 2^63 (protobuf)", () =>
      refusedBinary(
        `${MEMORY}/UpdateMemory`,
        bytesOf(UpdateMemoryRequestSchema, { id: randomUUID(), confidence: 0.5, expectedVersion: beyond }),
        'expected_version',
        /at most/,
      ));
    it('a time after year 9999 (protobuf)', () =>
      refusedBinary(
        `${MEMORY}/StoreMemory`,
        bytesOf(StoreMemoryRequestSchema, {
          agentId: 'checker',
          userId: 'u1',
          type: MemoryType.FACT,
          content: { a: 1 },
          expiresAt: { seconds: 253_402_300_800n, nanos: 0 },
        }),
        'expires_at',
        /0001-01-01.*9999-12-31/,
      ));
    it('a time with negative nanos (protobuf)', () =>
      refusedBinary(
        `${MEMORY}/ListAuditTrail`,
        bytesOf(ListAuditTrailRequestSchema, { userId: 'u1', from: { seconds: 1n, nanos: -1 } }),
        'from',
        /0001-01-01/,
      ));
    it('a time after year 9999 (JSON)', () =>
      refusedJson(
        `${MEMORY}/StoreMemory`,
        JSON.stringify({
          agentId: 'checker',
          userId: 'u1',
          type: 'MEMORY_TYPE_FACT',
          content: { a: 1 },
          expiresAt: '10000-01-01T00:00:00Z',
        }),
        'expires_at',
        /RFC 3339/,
      ));
    it('min_confidence NaN (JSON), no longer read as "no filter"', () =>
      refusedJson(`${MEMORY}/ListMemories`, JSON.stringify({ minConfidence: 'NaN' }), 'min_confidence', /0 to 1, got NaN/));
    it('min_confidence NaN (protobuf)', () =>
      refusedBinary(`${MEMORY}/ListMemories`, bytesOf(ListMemoriesRequestSchema, { minConfidence: Number.NaN }), 'min_confidence', /NaN/));
  });

  describe('documents nested deeper than 32 levels', () => {
    it('in event data (JSON)', () =>
      refusedJson(`${EVENTS}/AppendToStream`, JSON.stringify(append(deep(40))), `events[0].data${'.x'.repeat(32)}`, /deeper than 32/));
    it('in event data (protobuf)', () =>
      refusedBinary(
        `${EVENTS}/AppendToStream`,
        bytesOf(AppendToStreamRequestSchema, append(deep(40))),
        `events[0].data${'.x'.repeat(32)}`,
        /deeper than 32/,
      ));
    it('but 32 levels are stored and read back by binary clients', async () => {
      const streamId = `strict-${randomUUID()}`;
      await t.events.appendToStream(append(deep(32), streamId));
      const read = await t.events.readStream({ streamId });
      assert.deepEqual(read.events[0]!.data, deep(32));
    });
  });

  // GRPC_PORT reads a plain StoreMemoryRequest with its own decoder (memoryWire.ts), PORT with
  // protobuf-es: the domain's refusals read the same on both.
  describe("StoreMemory's fields, read straight from the wire on GRPC_PORT", () => {
    type Init = Omit<MessageInitShape<typeof StoreMemoryRequestSchema>, '$typeName'>;
    const store = (init: Init) =>
      bytesOf(StoreMemoryRequestSchema, { agentId: 'checker', userId: 'u1', type: MemoryType.FACT, content: { a: 1 }, ...init });
    const refused = (init: Init, field: string, problem: RegExp) => refusedBinary(`${MEMORY}/StoreMemory`, store(init), field, problem);
    it('a blank agent id', () => refused({ agentId: '   ' }, 'agent_id', /blank/));
    it('a user id of 191 characters', () => refused({ userId: 'u'.repeat(191) }, 'user_id', /at most 190 characters/));
    it('no type', () => refused({ type: MemoryType.UNSPECIFIED }, 'type', /must be set/));
    it('an unknown type', () => refused({ type: 42 as MemoryType }, 'type', /unknown memory type 42/));
    it('no content', () => refused({ content: undefined }, 'content', /JSON object/));
    it('a confidence above 1', () => refused({ confidence: 7 }, 'confidence', /0 to 1, got 7/));
    it('a confidence NaN', () => refused({ confidence: Number.NaN }, 'confidence', /got NaN/));
    it('an expiry in the past', () => refused({ expiresAt: { seconds: 1n, nanos: 0 } }, 'expires_at', /in the past/));
    it('content nested deeper than 31 levels', () => refused({ content: deep(33) as never }, `content${'.x'.repeat(31)}`, /deeper/));
    it('an embedding of the wrong dimension', () => refused({ embedding: [0.5, 0.25] }, 'embedding', /expects \d+ numbers/));
    it('a truncated message, on GRPC_PORT', () => {
      const bytes = store({});
      return refusedBinary(
        `${MEMORY}/StoreMemory`,
        bytes.subarray(0, bytes.length - 3),
        'request',
        /not a valid auren\.v1\.StoreMemoryRequest message/,
        ['GRPC_PORT'],
      );
    });
  });

  // grpc-js answers INTERNAL when a decoder throws; GRPC_PORT's decoders never do. (PORT's
  // connect-es still answers these INTERNAL: its binary decoding has no hook to refuse them.)
  describe('bodies that are not the request message, on GRPC_PORT', () => {
    const valid = () => Buffer.from(bytesOf(AppendToStreamRequestSchema, append({ a: 'some text' })));
    const undecodable = (body: Uint8Array, problem: RegExp) =>
      refusedBinary(`${EVENTS}/AppendToStream`, body, 'request', problem, ['GRPC_PORT']);
    it('a truncated message', () =>
      undecodable(valid().subarray(0, valid().length - 3), /not a valid auren\.v1\.AppendToStreamRequest message \(premature EOF\)/));
    it('garbage', () => undecodable(Buffer.from([0xff, 0xff, 0xff, 0xff]), /not a valid auren\.v1\.AppendToStreamRequest message/));
    it('a field with the wrong wire type', () =>
      undecodable(Buffer.from([0x0d, 0, 0, 0, 0]), /not a valid auren\.v1\.AppendToStreamRequest message/)); // stream_id as fixed32
    it('a document nested deeper than the decoder goes (512 levels)', () =>
      undecodable(bytesOf(AppendToStreamRequestSchema, append(deep(600))), /maximum recursion depth of 512/));
  });

  describe('page tokens that are well-formed but not ours', () => {
    // Made with the service's own codec, so every digest matches: only the position is wrong.
    it('an audit-trail position beyond bigint', () => {
      const token = t.app.pageTokens.encode('u1', { commit: '99999999999999999999', prepare: '1' });
      return refusedJson(`${MEMORY}/ListAuditTrail`, JSON.stringify({ userId: 'u1', pageToken: token }), 'page_token', /not a page token/);
    });
    it('a memory page at a time no memory can have', () => {
      const token = encodeKeysetToken(
        t.app.pageTokens,
        { createdAtUs: 2n ** 63n - 1n, id: randomUUID() },
        JSON.stringify({ agent_id: null, user_id: null, types: [], min_confidence: null, include_expired: false }),
      );
      return refusedBinary(
        `${MEMORY}/ListMemories`,
        bytesOf(ListMemoriesRequestSchema, { pageToken: token }),
        'page_token',
        /not a page token/,
      );
    });
  });

  describe('lengths count characters, not UTF-16 units', () => {
    it('accepts a stream id of 150 emoji (300 UTF-16 units, 150 characters)', async () => {
      const streamId = '🧠'.repeat(150);
      await t.events.appendToStream({ streamId, events: [{ type: 't', data: {} }] });
      assert.equal((await t.events.getStreamInfo({ streamId })).version, 1n);
    });
    it('refuses 201 emoji, counting 201 characters', () =>
      refusedJson(
        `${EVENTS}/AppendToStream`,
        JSON.stringify(append({}, '🧠'.repeat(201))),
        'stream_id',
        /at most 200 characters, got 201/,
      ));
  });

  it('the same refusal reads back from a typed Connect client', async () => {
    const { ConnectError, Code } = await import('@connectrpc/connect');
    const error = await t.events
      .appendToStream({
        streamId: `strict-${randomUUID()}`,
        expected: { kind: ExpectedVersionKind.EXACT, version: 3n },
        events: [{ type: 't' }],
      })
      .then(
        () => assert.fail('succeeded'),
        (e: unknown) => ConnectError.from(e),
      );
    assert.equal(error.code, Code.Aborted);
    const [info] = error.findDetails(ErrorInfoSchema);
    assert.equal(info?.reason, 'WRONG_EXPECTED_VERSION');
    assert.equal(info?.metadata.actual_version, '0');
  });
});
