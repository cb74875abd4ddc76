import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { SubscribeToAllResponseSchema, SubscribeToStreamResponseSchema } from '../../src/gen/auren/v1/events_pb.js';
import { eventToProto, positionToProto } from '../../src/rpc/convert.js';
import { encodeTailEvent } from '../../src/rpc/tailWire.js';
import { randomEvents } from '../support/randomEvents.js';

describe('Tail event wire encoding', () => {
  const randomEvent = randomEvents(11);

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
