import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { JsonObject, RecordedEvent } from '../../src/events/types.js';
import { SubscribeToAllResponseSchema, SubscribeToStreamResponseSchema } from '../../src/gen/auren/v1/events_pb.js';
import { eventToProto, positionToProto } from '../../src/rpc/convert.js';
import { encodeTailEvent } from '../../src/rpc/tailWire.js';

describe('Tail event wire encoding', () => {
  // Random events, every field empty or not, documents large enough that the event's length
  // takes one, two and three varint bytes.
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const strings = ['', 'a', 'memory-3f2b8c1e', 'é☾😀', 'x'.repeat(90), 'with\nnewline'];
  const bigints = [0n, 1n, 127n, 128n, 2n ** 31n, 2n ** 63n - 1n];
  const documents: JsonObject[] = [{}, { a: 1 }, { n: -0.5, s: 'ü', t: true, z: null, l: [1, [], {}] }, { big: 'y'.repeat(20_000) }];
  const randomEvent = (): RecordedEvent => {
    const position = pick(bigints);
    return {
      eventId: randomUUID(),
      streamId: pick(strings) || 's',
      version: pick(bigints),
      type: pick(strings) || 't',
      data: pick(documents),
      metadata: pick(documents),
      correlationId: pick([null, ...strings]),
      causationId: pick([null, ...strings]),
      position: { commit: position, prepare: position },
      createdAt: pick([0, 1_796_165_290_340]),
    };
  };

  for (const schema of [SubscribeToAllResponseSchema, SubscribeToStreamResponseSchema]) {
    it(`${schema.typeName}: the bytes protobuf-es writes for the same message, for 300 random events`, () => {
      for (let i = 0; i < 300; i++) {
        const event = randomEvent();
        const response = { message: { case: 'event' as const, value: eventToProto(event, 'binary') } };
        const ours = encodeTailEvent(response);
        assert.ok(ours, `event ${i} is written directly`);
        assert.deepEqual(ours, Buffer.from(toBinary(schema, create(schema, response))), `event ${i}`);
        const theirs = create(schema, { message: { case: 'event', value: eventToProto(event, 'json') } });
        assert.deepEqual(fromBinary(schema, ours), fromBinary(schema, toBinary(schema, theirs)), `event ${i}`);
      }
    });
  }

  it('leaves other messages to protobuf-es: markers, and events not pre-encoded', () => {
    const position = positionToProto({ commit: 5n, prepare: 5n });
    assert.equal(encodeTailEvent({ message: { case: 'caughtUp', value: { position } } }), undefined);
    assert.equal(encodeTailEvent({ message: { case: 'checkpoint', value: { position } } }), undefined);
    assert.equal(encodeTailEvent({ message: { case: 'event', value: eventToProto(randomEvent(), 'json') } }), undefined);
    assert.equal(encodeTailEvent({}), undefined);
  });
});
