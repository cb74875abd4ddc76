import assert from 'node:assert/strict';
import type { ServerInterceptingCallInterface, ServerMethodDefinition } from '@grpc/grpc-js';
import { pipelinedWrites } from '../../src/server/pipelinedWrites.js';

// grpc-js's own call, below the interceptor, faked (a boundary we do not own): it records the
// messages and the status handed to it, and completes each message's write when told to.
function fakeCall() {
  const messages: unknown[] = [];
  const pending: (() => void)[] = [];
  const statuses: unknown[] = [];
  const call = {
    start: () => undefined,
    sendMetadata: () => undefined,
    sendMessage(message: unknown, written: () => void) {
      messages.push(message);
      pending.push(written);
    },
    sendStatus: (status: unknown) => statuses.push(status),
    startRead: () => undefined,
    getPeer: () => 'peer',
  } as unknown as ServerInterceptingCallInterface;
  return { call, messages, statuses, complete: (n: number) => pending.splice(0, n).forEach((written) => written()) };
}

const streaming = { responseStream: true } as ServerMethodDefinition<unknown, unknown>;
const unary = { responseStream: false } as ServerMethodDefinition<unknown, unknown>;

// Sends messages the way grpc-js's writable stream does: the next only once the previous one's callback ran.
function sender(call: ServerInterceptingCallInterface, total: number) {
  let handed = 0;
  const next = () => {
    if (handed < total) call.sendMessage(handed++, next);
  };
  next();
  return () => handed;
}

describe('pipelinedWrites (a server stream keeps several messages in HTTP/2 at once)', () => {
  it('hands up to the limit of messages on at once, in order, then one more per completed write', () => {
    const below = fakeCall();
    const call = pipelinedWrites(4)(streaming, below.call);
    const handed = sender(call, 10);
    assert.deepEqual(below.messages, [0, 1, 2, 3], 'four writes started before any completed');
    assert.equal(handed(), 4);
    below.complete(1);
    assert.deepEqual(below.messages, [0, 1, 2, 3, 4], 'one completed: one more');
    below.complete(2);
    assert.deepEqual(below.messages, [0, 1, 2, 3, 4, 5, 6]);
    below.complete(7);
    below.complete(3);
    assert.deepEqual(below.messages, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('sends the status only after the last message was written', () => {
    const below = fakeCall();
    const call = pipelinedWrites(8)(streaming, below.call);
    sender(call, 3);
    call.sendStatus({ code: 0, details: 'OK' });
    assert.deepEqual(below.statuses, [], 'messages are still being written');
    below.complete(2);
    assert.deepEqual(below.statuses, []);
    below.complete(1);
    assert.deepEqual(below.statuses, [{ code: 0, details: 'OK' }]);
  });

  it('leaves unary calls to grpc-js as they are', () => {
    const below = fakeCall();
    assert.equal(pipelinedWrites(8)(unary, below.call), below.call);
  });
});
