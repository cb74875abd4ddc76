import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  DeleteMemoryResponseSchema,
  GetMemoryResponseSchema,
  ListMemoriesResponseSchema,
  MemoryType,
  StoreMemoryRequestSchema,
  StoreMemoryResponseSchema,
  UpdateMemoryResponseSchema,
} from '../../src/gen/auren/v1/memory_pb.js';
import { MEMORY_TYPES } from '../../src/memory/model.js';
import type { Memory } from '../../src/memory/model.js';
import { memoryToProto } from '../../src/rpc/memoryConvert.js';
import { decodeStoreMemoryRequest, encodeMemoryPage, encodeMemoryResponse } from '../../src/rpc/memoryWire.js';
import { installWireTextDecoding } from '../../src/rpc/requestCheck.js';
import { readsDamagedRequests, readsRandomRequests } from '../support/directDecoders.js';
import { document, random, TEXTS } from '../support/randomDocuments.js';

// The direct decoder of StoreMemoryRequest (GRPC_PORT's StoreMemory) against protobuf-es and the
// wire checks, which decode everything else: on any bytes, it either declines or gives exactly
// what they give, and it declines whatever they would refuse or change.

const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

function request(next: () => number) {
  const types = [MemoryType.UNSPECIFIED, MemoryType.FACT, MemoryType.DECISION, 42];
  return create(StoreMemoryRequestSchema, {
    agentId: next() < 0.1 ? '' : `agent-${pick(next, TEXTS)}`,
    userId: next() < 0.3 ? '' : pick(next, TEXTS).replace('__proto__', 'p'),
    type: pick(next, types),
    content: next() < 0.1 ? undefined : document(next, 1, 'short'),
    metadata: next() < 0.5 ? undefined : document(next, 1, 'short'),
    confidence: next() < 0.3 ? undefined : pick(next, [0, 1, 0.42, -0, 7, 1e-300]),
    // From 1970 to 9999, nanos from 0 to 999,999,999.
    expiresAt:
      next() < 0.6
        ? undefined
        : { seconds: pick(next, [0n, 1n, 1_796_165_290n, 253_402_300_799n]), nanos: pick(next, [0, 1, 500_000_000, 999_999_999]) },
    embedding: next() < 0.6 ? [] : Array.from({ length: Math.floor(next() * 8) }, () => pick(next, [0, 1.5, -0.25, 3.4e38, 1e-40])),
  });
}

// A Struct { key: true } as bytes.
const struct = (key: string) =>
  new BinaryWriter()
    .tag(1, 2)
    .bytes(new BinaryWriter().tag(1, 2).string(key).tag(2, 2).bytes(new BinaryWriter().tag(4, 0).bool(true).finish()).finish())
    .finish();

describe('StoreMemoryRequest read straight from the wire', () => {
  before(() => installWireTextDecoding());

  it('reads random requests exactly as protobuf-es does', () =>
    readsRandomRequests(StoreMemoryRequestSchema, decodeStoreMemoryRequest, request, 17));

  it('on damaged bytes, declines or gives what protobuf-es and the checks give', () =>
    readsDamagedRequests(StoreMemoryRequestSchema, decodeStoreMemoryRequest, request, 19));

  // Bytes written by hand: each is something the general way refuses or changes, or reads another way.
  const cases: [string, (w: BinaryWriter) => void][] = [
    ['an unknown field', (w) => w.tag(9, 2).string('x')],
    ['a field twice', (w) => w.tag(1, 2).string('a').tag(1, 2).string('b')],
    ['the confidence twice', (w) => w.tag(6, 1).double(0.5).tag(6, 1).double(0.7)],
    ['invalid UTF-8 in the agent id', (w) => w.tag(1, 2).bytes(Buffer.from([0x61, 0xff]))],
    ['NUL in the user id', (w) => w.tag(2, 2).string('a\u0000b')],
    ['a negative type', (w) => w.tag(3, 0).int32(-1)],
    ['a type past int32, which protobuf-es reads as negative', (w) => w.tag(3, 0).uint32(2 ** 31)],
    ['a "__proto__" key in content', (w) => w.tag(4, 2).bytes(struct('__proto__'))],
    ['an expiry before 1970', (w) => w.tag(7, 2).bytes(new BinaryWriter().tag(1, 0).int64(-1n).finish())],
    ['an expiry after 9999', (w) => w.tag(7, 2).bytes(new BinaryWriter().tag(1, 0).int64(253_402_300_800n).finish())],
    ['negative nanos', (w) => w.tag(7, 2).bytes(new BinaryWriter().tag(2, 0).int32(-1).finish())],
    ['nanos of a second or more', (w) => w.tag(7, 2).bytes(new BinaryWriter().tag(2, 0).int32(1_000_000_000).finish())],
    ['an embedding float by float', (w) => w.tag(8, 5).float(1.5).tag(8, 5).float(2)],
    ['a packed embedding cut inside a float', (w) => w.tag(8, 2).bytes(Buffer.from([0, 0, 0xc0]))],
  ];
  for (const [what, write] of cases) {
    it(`declines ${what}`, () => {
      const w = new BinaryWriter();
      write(w);
      assert.equal(decodeStoreMemoryRequest(w.finish()), undefined);
    });
  }
});

describe('Answers made of memories written straight to the wire', () => {
  const next = random(23);
  // Random memories, one in ten with content large enough that its length takes three varint bytes.
  const memory = (): Memory => ({
    id: randomUUID(),
    agentId: `agent-${pick(next, TEXTS)}`,
    userId: next() < 0.3 ? null : pick(next, TEXTS),
    type: pick(next, MEMORY_TYPES),
    content: next() < 0.1 ? { big: 'y'.repeat(20_000) } : document(next, 1),
    metadata: document(next, 1),
    confidence: pick(next, [0, 1, 0.42]),
    createdAt: pick(next, [0, 1_796_165_290_340]),
    updatedAt: 1_796_165_290_341,
    expiresAt: pick(next, [null, 4_102_444_800_123]),
    version: pick(next, [1n, 128n, 2n ** 63n - 1n]),
    deleted: next() < 0.2,
    expired: next() < 0.2,
    lastEventId: randomUUID(),
  });

  for (const schema of [GetMemoryResponseSchema, StoreMemoryResponseSchema, UpdateMemoryResponseSchema, DeleteMemoryResponseSchema]) {
    it(`writes ${schema.name} byte for byte as protobuf-es does`, () => {
      for (let i = 0; i < 200; i++) {
        const m = memory();
        const written = encodeMemoryResponse({ memory: memoryToProto(m, 'binary') });
        assert.ok(written, `memory ${i} was declined`);
        assert.deepEqual(written, Buffer.from(toBinary(schema, create(schema, { memory: memoryToProto(m, 'json') }))), `memory ${i}`);
      }
    });
  }

  it('writes ListMemoriesResponse byte for byte as protobuf-es does, with and without a page token', () => {
    for (let i = 0; i < 200; i++) {
      const memories = Array.from({ length: Math.floor(next() * 5) }, memory);
      const nextPageToken = next() < 0.5 ? '' : pick(next, TEXTS);
      const written = encodeMemoryPage({ memories: memories.map((m) => memoryToProto(m, 'binary')), nextPageToken });
      assert.ok(written, `page ${i} was declined`);
      const expected = toBinary(
        ListMemoriesResponseSchema,
        create(ListMemoriesResponseSchema, { memories: memories.map((m) => memoryToProto(m, 'json')), nextPageToken }),
      );
      assert.deepEqual(written, Buffer.from(expected), `page ${i}`);
    }
  });

  it('leaves to protobuf-es a memory made for JSON, a response without one, and one with another field', () => {
    const m = memory();
    assert.equal(encodeMemoryResponse({ memory: memoryToProto(m, 'json') }), undefined);
    assert.equal(encodeMemoryResponse({}), undefined);
    assert.equal(encodeMemoryResponse({ memory: memoryToProto(m, 'binary'), other: 1 }), undefined);
    assert.equal(encodeMemoryPage({ memories: [memoryToProto(m, 'binary'), memoryToProto(m, 'json')] }), undefined);
    assert.equal(encodeMemoryPage({ memories: [memoryToProto(m, 'binary')], other: 1 }), undefined);
    // A copy of a memory (spread) is not its bytes any more.
    assert.equal(encodeMemoryResponse({ memory: { ...memoryToProto(m, 'binary') } }), undefined);
  });
});
