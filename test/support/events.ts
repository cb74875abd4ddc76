import { randomUUID } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import assert from 'node:assert/strict';
import { ExpectedVersionKind } from '../../src/gen/auren/v1/events_pb.js';
import type { ExpectedVersion, ProposedEvent } from '../../src/gen/auren/v1/events_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ProposedEventSchema, ExpectedVersionSchema } from '../../src/gen/auren/v1/events_pb.js';

/** A proposed event with defaults for what a test does not care about. */
export function proposed(init: Partial<MessageInitShape<typeof ProposedEventSchema>> = {}): MessageInitShape<typeof ProposedEventSchema> {
  return { type: 'test_event', data: { n: 1 }, ...init } as MessageInitShape<typeof ProposedEventSchema>;
}

/** A stream id no other test uses. */
export function freshStream(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

export const any: MessageInitShape<typeof ExpectedVersionSchema> = { kind: ExpectedVersionKind.ANY };
export const noStream: MessageInitShape<typeof ExpectedVersionSchema> = { kind: ExpectedVersionKind.NO_STREAM };
export const streamExists: MessageInitShape<typeof ExpectedVersionSchema> = { kind: ExpectedVersionKind.STREAM_EXISTS };
/** Expect the stream at exactly this version. */
export const exact = (version: bigint | number): MessageInitShape<typeof ExpectedVersionSchema> => ({
  kind: ExpectedVersionKind.EXACT,
  version: BigInt(version),
});

/** Asserts that a call fails with the given code and a message matching `message`. */
export async function rejectsWith(call: Promise<unknown>, code: Code, message?: RegExp): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    assert.equal(Code[e.code], Code[code], `expected ${Code[code]}, got ${Code[e.code]}: ${e.rawMessage}`);
    if (message) assert.match(e.rawMessage, message);
    return e;
  }
  assert.fail(`expected the call to fail with ${Code[code]}`);
}

export type { ExpectedVersion, ProposedEvent };
