import assert from 'node:assert/strict';
import { z } from 'zod';
import { hasTwin, rowCheck } from '../../src/db/fastRows.js';
import { appendOutcomeRow, pageRow } from '../../src/events/queries.js';
import { listRow, readRow } from '../../src/memory/queries.js';
import { SchemaValidationError } from 'slonik';
import { noRows, parseRows } from '../../src/db/pool.js';

// The compiled twin of a row schema may only ever say yes where the schema itself says yes, with
// the same output; where it says no, the schema decides (parseRows parses the row again).
function agrees(schema: z.ZodTypeAny, row: unknown, label: string): boolean {
  const fast = rowCheck(schema)(row);
  const slow = schema.safeParse(row);
  if (fast.ok) {
    assert.ok(slow.success, `${label}: the twin took a row the schema refuses`);
    assert.deepEqual(fast.data, slow.data, `${label}: outputs differ`);
  }
  return fast.ok;
}

const memory = {
  id: '6f1c1c2e-3b7d-4e0a-9a51-0d8c3f5e2b10',
  agent_id: 'nutritionist',
  user_id: 'user-1',
  type: 'fact',
  content: { text: 'iron low', nested: { list: [1, null] } },
  metadata: {},
  confidence: 0.7,
  created_at: 1_796_165_290_340,
  updated_at: 1_796_165_290_341,
  expires_at: null,
  deleted_at: null,
  expired_at: null,
  version: 3n,
  last_event_id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  expired_now: false,
};

const event = {
  event_id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  stream_id: 'memory-1',
  version: 1n,
  type: 'memory_created',
  data: { a: 1 },
  metadata: { user_id: 'u' },
  correlation_id: null,
  causation_id: 'c',
  position: 42n,
  created_at: 1_796_165_290_340,
  size: 30,
  cut: null,
};

describe('Row checks compiled from the row schemas', () => {
  it('accept good rows with the schema’s own output, extra columns dropped as it drops them', () => {
    assert.ok(agrees(readRow, memory, 'memory'));
    assert.ok(agrees(readRow, { ...memory, user_id: null, expires_at: 5, extra: 'dropped' }, 'memory about nobody, extra column'));
    assert.ok(agrees(listRow, { ...memory, created_at_us: 1n, cut: true }, 'listed memory'));
    assert.ok(agrees(pageRow, event, 'event'));
    const outcome = { ord: 1, outcome: 'appended', stream_version: 1n, first_position: 1n, last_position: 1n };
    assert.ok(agrees(appendOutcomeRow, { ...outcome, created_at: 1, conflicting_ids: null, watched_version: null }, 'outcome'));
    assert.ok(agrees(noRows, { anything: 1 }, 'passthrough'));
  });

  it('refuse every kind of bad row, and the schema refuses it too', () => {
    const bad: [string, z.ZodTypeAny, unknown][] = [
      ['a missing column', readRow, { ...memory, version: undefined }],
      ['null where not nullable', readRow, { ...memory, agent_id: null }],
      ['a number as text', readRow, { ...memory, confidence: '0.7' }],
      ['NaN', readRow, { ...memory, confidence: Number.NaN }],
      ['an unknown type', readRow, { ...memory, type: 'gossip' }],
      ['a document that is a list', readRow, { ...memory, content: [1, 2] }],
      ['a document that is null', readRow, { ...memory, metadata: null }],
      ['a bigint as a number', pageRow, { ...event, position: 42 }],
      ['an unknown outcome', appendOutcomeRow, { ord: 1, outcome: 'maybe' }],
      ['not an object', readRow, 'row'],
    ];
    for (const [label, schema, row] of bad) {
      assert.equal(agrees(schema, row, label), false, `${label}: the twin took it`);
      assert.equal(schema.safeParse(row).success, false, `${label}: the schema took it`);
    }
  });

  it('compile the rows of the hot paths: memories, events, outcomes, shared context', () => {
    for (const [name, schema] of Object.entries({ readRow, listRow, pageRow, appendOutcomeRow, noRows })) {
      assert.ok(hasTwin(schema), name);
    }
  });

  it('leave schemas with checks, transforms or defaults to zod 3, with its answers', () => {
    const checked = z.object({ name: z.string().min(2), n: z.number().int() });
    const transformed = z.object({ at: z.string().transform((s) => s.length) });
    const defaulted = z.object({ n: z.number().default(3) });
    assert.deepEqual(rowCheck(checked)({ name: 'ab', n: 1 }), { ok: true, data: { name: 'ab', n: 1 } });
    assert.equal(rowCheck(checked)({ name: 'a', n: 1 }).ok, false);
    assert.equal(rowCheck(checked)({ name: 'ab', n: 1.5 }).ok, false);
    assert.deepEqual(rowCheck(transformed)({ at: 'abc' }), { ok: true, data: { at: 3 } });
    assert.deepEqual(rowCheck(defaulted)({}), { ok: true, data: { n: 3 } });
    for (const schema of [checked, transformed, defaulted]) assert.equal(hasTwin(schema), false);
  });

  it('keep zod 3’s rule where zod 4 is stricter: an infinite number is a number', () => {
    const schema = z.object({ x: z.number() });
    assert.equal(schema.safeParse({ x: Number.POSITIVE_INFINITY }).success, true);
    // The twin refuses it, so parseRows asks the schema, which takes it.
    assert.equal(agrees(schema, { x: Number.POSITIVE_INFINITY }, 'infinity'), false);
  });
});

describe('parseRows', () => {
  const transform = (schema: z.ZodTypeAny, row: Record<string, unknown>) =>
    parseRows.transformRow!({ resultParser: schema } as never, { sql: 'select', values: [] } as never, row as never, [] as never);

  it('answers what the schema answers, through the twin or not', () => {
    const schema = z.object({ x: z.number(), d: z.custom<object>((v) => typeof v === 'object' && v !== null) });
    assert.deepEqual(transform(schema, { x: 1, d: {}, extra: true }), { x: 1, d: {} });
    assert.deepEqual(transform(schema, { x: Number.POSITIVE_INFINITY, d: {} }), { x: Number.POSITIVE_INFINITY, d: {} });
  });

  it('fails loudly, with the schema’s own issues, on a row that drifted from its schema', () => {
    assert.throws(
      () => transform(readRow, { ...memory, version: '3' }),
      (error: unknown) => error instanceof SchemaValidationError && JSON.stringify(error.issues).includes('version'),
    );
  });
});
