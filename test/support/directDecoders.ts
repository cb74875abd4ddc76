import assert from 'node:assert/strict';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { InvalidArgument } from '../../src/errors.js';
import { binaryReadOptions, checkMessage } from '../../src/rpc/requestCheck.js';
import { random } from './randomDocuments.js';

// The checks every direct request decoder (appendWire.ts, memoryWire.ts) must pass against
// protobuf-es and the wire checks, which decode everything else: on any bytes it either declines
// or gives exactly what they give.

/** What GRPC_PORT made of these bytes before a direct decoder: protobuf-es, then the wire checks. */
export function general(schema: DescMessage, bytes: Uint8Array): unknown {
  try {
    const message = fromBinary(schema, bytes, binaryReadOptions);
    checkMessage(schema, message as never, '');
    return message;
  } catch (error) {
    return error instanceof InvalidArgument ? 'refused' : 'undecodable';
  }
}

/** 2,000 random requests from `seed`: the decoder takes each and gives what protobuf-es gives. */
export function readsRandomRequests<S extends DescMessage>(
  schema: S,
  decode: (bytes: Uint8Array) => unknown,
  request: (next: () => number) => MessageShape<S>,
  seed: number,
): void {
  const next = random(seed);
  for (let i = 0; i < 2_000; i++) {
    const bytes = toBinary(schema, request(next));
    const direct = decode(bytes);
    assert.ok(direct, `request ${i} was declined`);
    assert.deepEqual(direct, general(schema, bytes), `request ${i}`);
  }
}

/**
 * 20,000 random requests from `seed`, each with one byte changed, cut short or added: the decoder
 * declines or gives what protobuf-es and the checks give, and takes more than 1,000 of them.
 */
export function readsDamagedRequests<S extends DescMessage>(
  schema: S,
  decode: (bytes: Uint8Array) => unknown,
  request: (next: () => number) => MessageShape<S>,
  seed: number,
): void {
  const next = random(seed);
  let taken = 0;
  for (let i = 0; i < 20_000; i++) {
    const bytes = Buffer.from(toBinary(schema, request(next)));
    if (bytes.length === 0) continue;
    const damaged = Buffer.from(bytes);
    const at = Math.floor(next() * damaged.length);
    const how = next();
    let input: Buffer;
    if (how < 0.5) {
      damaged[at] = Math.floor(next() * 256);
      input = damaged;
    } else if (how < 0.75) input = damaged.subarray(0, at);
    else input = Buffer.concat([damaged.subarray(0, at), Buffer.from([Math.floor(next() * 256)]), damaged.subarray(at)]);
    const direct = decode(input);
    if (direct === undefined) continue;
    taken++;
    assert.deepEqual(direct, general(schema, input), `damaged request ${i}: ${input.toString('hex')}`);
  }
  assert.ok(taken > 1_000, `only ${taken} damaged requests were still plain`);
}
