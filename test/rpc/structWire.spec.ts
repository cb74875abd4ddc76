import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fromBinary, fromJson, toBinary, toJson } from '@bufbuild/protobuf';
import { StructSchema } from '@bufbuild/protobuf/wkt';
import type { JsonObject } from '../../src/events/types.js';
import { EventSchema } from '../../src/gen/auren/v1/events_pb.js';
import { MemorySchema } from '../../src/gen/auren/v1/memory_pb.js';
import type { Memory } from '../../src/memory/model.js';
import { eventToProto } from '../../src/rpc/convert.js';
import { memoryToProto } from '../../src/rpc/memoryConvert.js';
import { encodeStruct } from '../../src/rpc/structWire.js';
import { document as randomDocument, random } from '../support/randomDocuments.js';
import { randomEvents } from '../support/randomEvents.js';

describe('Struct wire encoding', () => {
  const documents = [
    {},
    { a: 1 },
    { text: 'Wakes at 3am — most nights ☾', n: -0.5, big: 1e300, zero: 0, t: true, f: false, none: null },
    { nested: { deeper: { list: [1, 'two', null, false, { x: [] }, []] } }, empty: {}, emptyList: [] },
    { long: 'x'.repeat(100_000), ['key with spaces and ü']: 'v', emoji: '😀 and a lone \ud800 surrogate', cjk: '睡眠' },
    { list: Array.from({ length: 300 }, (_, i) => ({ i, s: 'é'.repeat(i) })) },
  ];

  for (const [i, document] of documents.entries()) {
    it(`decodes to the same JSON as protobuf-es's own encoding (document ${i})`, () => {
      const ours = encodeStruct(document as never);
      const decoded = fromBinary(StructSchema, ours);
      const expected = JSON.parse(JSON.stringify(document).replace(/\\ud800/g, '\\ufffd'));
      assert.deepEqual(toJson(StructSchema, decoded), expected);
    });
  }

  it('has the bytes protobuf-es writes, for 2,000 random documents', () => {
    const next = random(5);
    for (let i = 0; i < 2_000; i++) {
      const document = randomDocument(next);
      const ours = Buffer.from(encodeStruct(document));
      assert.deepEqual(ours, Buffer.from(toBinary(StructSchema, fromJson(StructSchema, document))), `document ${i}`);
    }
  });
});

describe('Event wire encoding', () => {
  // Ours must decode to exactly the message protobuf-es encodes from the JSON form.
  const randomEvent = randomEvents(7);

  it('decodes to exactly the message protobuf-es encodes, and has its bytes, for 300 random events', () => {
    for (let i = 0; i < 300; i++) {
      const event = randomEvent();
      const ours = fromBinary(EventSchema, toBinary(EventSchema, eventToProto(event, 'binary')));
      const theirs = fromBinary(EventSchema, toBinary(EventSchema, eventToProto(event, 'json')));
      assert.deepEqual(ours, theirs, `event ${i}`);
      assert.deepEqual(toJson(EventSchema, ours), toJson(EventSchema, theirs), `event ${i}`);
      assert.deepEqual(
        Buffer.from(toBinary(EventSchema, eventToProto(event, 'binary'))),
        Buffer.from(toBinary(EventSchema, eventToProto(event, 'json'))),
        `event ${i}: bytes`,
      );
    }
  });
});

describe('Memory wire encoding', () => {
  // Random memories: every optional field set or not, edge numbers and times (before 1970
  // too); ours must decode to exactly the message protobuf-es encodes, byte for byte.
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const types = ['fact', 'analysis', 'recommendation', 'hypothesis', 'insight', 'conversation', 'decision'] as const;
  const names = ['a', 'nutritionist', 'é☾😀', 'x'.repeat(190)];
  const times = [0, 1, 999, 1_000, 1_796_165_290_340, 4_102_444_800_123, -1, -86_400_001, -2_208_988_800_000];
  const documents: JsonObject[] = [
    {},
    { text: 'slept badly' },
    { n: -0.5, s: 'ü', t: true, z: null, l: [1, [], {}] },
    { deep: { er: 'x'.repeat(300) } },
  ];

  it('decodes to exactly the message protobuf-es encodes, and has its bytes, for 300 random memories', () => {
    for (let i = 0; i < 300; i++) {
      const memory: Memory = {
        id: randomUUID(),
        agentId: pick(names),
        userId: pick([null, ...names]),
        type: pick(types),
        content: pick(documents),
        metadata: pick(documents),
        confidence: pick([0, 1, 0.5, 0.7000000000000001, 1e-9, random()]),
        createdAt: pick(times),
        updatedAt: pick(times),
        expiresAt: pick([null, ...times]),
        version: pick([0n, 1n, 127n, 128n, 2n ** 53n + 1n, 2n ** 63n - 1n]),
        deleted: random() < 0.5,
        expired: random() < 0.5,
        lastEventId: randomUUID(),
      };
      const bytes = toBinary(MemorySchema, memoryToProto(memory, 'binary'));
      const expected = toBinary(MemorySchema, memoryToProto(memory, 'json'));
      assert.deepEqual(fromBinary(MemorySchema, bytes), fromBinary(MemorySchema, expected), `memory ${i}`);
      assert.deepEqual(Buffer.from(bytes), Buffer.from(expected), `memory ${i}: bytes`);
    }
  });
});
