import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { StructSchema } from '@bufbuild/protobuf/wkt';
import { toJson } from '@bufbuild/protobuf';
import { encodeStruct } from '../../src/rpc/structWire.js';

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
});
