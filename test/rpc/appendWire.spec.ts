import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { AppendToStreamRequestSchema, ExpectedVersionKind } from '../../src/gen/auren/v1/events_pb.js';
import { decodeAppendRequest } from '../../src/rpc/appendWire.js';
import { installWireTextDecoding } from '../../src/rpc/requestCheck.js';
import { readsDamagedRequests, readsRandomRequests } from '../support/directDecoders.js';
import { document, TEXTS } from '../support/randomDocuments.js';

// The direct decoder of AppendToStreamRequest (GRPC_PORT's hot path) against protobuf-es and the
// wire checks, which decode everything else: on any bytes, it either declines or gives exactly
// what they give, and it declines whatever they would refuse or change.

function request(next: () => number) {
  const kinds = [ExpectedVersionKind.ANY, ExpectedVersionKind.NO_STREAM, ExpectedVersionKind.STREAM_EXISTS, ExpectedVersionKind.EXACT];
  return create(AppendToStreamRequestSchema, {
    streamId: next() < 0.1 ? '' : `stream-${TEXTS[Math.floor(next() * TEXTS.length)]!}`,
    expected: next() < 0.2 ? undefined : { kind: kinds[Math.floor(next() * kinds.length)]!, version: BigInt(Math.floor(next() * 1e6)) },
    events: Array.from({ length: Math.floor(next() * 5) }, () => ({
      eventId: next() < 0.5 ? '' : '3f2b8c1e-5d6a-4f7b-9c0d-1e2f3a4b5c6d',
      type: TEXTS[Math.floor(next() * TEXTS.length)]!.replace('__proto__', 't'),
      data: next() < 0.2 ? undefined : document(next, 1, 'short'),
      metadata: next() < 0.5 ? undefined : document(next, 1, 'short'),
      correlationId: next() < 0.7 ? '' : 'c-1',
      causationId: next() < 0.7 ? '' : 'c-2',
    })),
  });
}

describe('AppendToStreamRequest read straight from the wire', () => {
  before(() => installWireTextDecoding());

  it('reads random requests exactly as protobuf-es does', () =>
    readsRandomRequests(AppendToStreamRequestSchema, decodeAppendRequest, request, 7));

  it('on damaged bytes, declines or gives what protobuf-es and the checks give', () =>
    readsDamagedRequests(AppendToStreamRequestSchema, decodeAppendRequest, request, 11));

  // Bytes written by hand: each is something the general way refuses or changes.
  const cases: [string, (w: BinaryWriter) => void][] = [
    ['an unknown field', (w) => w.tag(9, 2).string('x')],
    ['a field twice', (w) => w.tag(1, 2).string('a').tag(1, 2).string('b')],
    ['invalid UTF-8 in the stream id', (w) => w.tag(1, 2).bytes(Buffer.from([0x61, 0xff]))],
    ['NUL in the stream id', (w) => w.tag(1, 2).string('a\u0000b')],
    [
      'a version over int64',
      (w) =>
        w.tag(2, 2).bytes(
          new BinaryWriter()
            .tag(2, 0)
            .uint64(2n ** 63n)
            .finish(),
        ),
    ],
    ['an unknown expected-version kind', (w) => w.tag(2, 2).bytes(new BinaryWriter().tag(1, 0).int32(99).finish())],
    [
      'a "__proto__" key in data',
      (w) =>
        w.tag(3, 2).bytes(
          new BinaryWriter()
            .tag(3, 2)
            .bytes(
              new BinaryWriter()
                .tag(1, 2)
                .bytes(
                  new BinaryWriter()
                    .tag(1, 2)
                    .string('__proto__')
                    .tag(2, 2)
                    .bytes(new BinaryWriter().tag(4, 0).bool(true).finish())
                    .finish(),
                )
                .finish(),
            )
            .finish(),
        ),
    ],
    [
      'a NaN in data',
      (w) =>
        w.tag(3, 2).bytes(
          new BinaryWriter()
            .tag(3, 2)
            .bytes(
              new BinaryWriter()
                .tag(1, 2)
                .bytes(new BinaryWriter().tag(1, 2).string('n').tag(2, 2).bytes(new BinaryWriter().tag(2, 1).double(NaN).finish()).finish())
                .finish(),
            )
            .finish(),
        ),
    ],
  ];
  for (const [what, write] of cases) {
    it(`declines ${what}`, () => {
      const w = new BinaryWriter();
      write(w);
      assert.equal(decodeAppendRequest(w.finish()), undefined);
    });
  }
});
