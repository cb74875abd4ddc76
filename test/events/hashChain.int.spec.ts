import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { DatabasePool } from 'slonik';
import { migrate } from '../../src/db/migrate.js';
import { openPool } from '../../src/db/pool.js';
import { chainPads } from '../../src/events/chain.js';
import { verifyChains } from '../../src/events/verifyChains.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../support/database.js';

// The log's hash chain as append_batch writes it: each append's first event hashed in the batch
// statement itself, the rest by the trigger event_chain; both must make one chain that
// `auren audit verify` (verifyChains) recomputes. The tamper cases are in test/auth/commands.
describe('The hash chain written by append_batch', () => {
  const pads = chainPads(randomBytes(32));
  const keys = [{ secretId: 'test', pads }];
  let db: pg.Client;
  let pool: DatabasePool;
  before(async () => {
    const url = await createTestDatabase();
    await migrate(url, createLogger('warn'));
    db = new pg.Client({ connectionString: url });
    await db.connect();
    pool = await openPool({ url, maximumPoolSize: 1 });
  });
  after(async () => {
    await db.end();
    await pool.end();
  });

  const event = (i: number) => ({ event_id: randomUUID(), type: 'measured', data: { i, note: 'ünïcode ✓' }, metadata: { user_id: 'u1' } });
  const append = (appends: unknown[], withKey = true) =>
    db.query(`select ord, outcome from append_batch($1::jsonb${withKey ? ', $2, $3' : ''})`, [
      JSON.stringify(appends),
      ...(withKey ? [pads.inner, pads.outer] : []),
    ]);
  const hashes = async (stream: string) =>
    (await db.query<{ hash: Buffer | null }>('select hash from events where stream_id = $1 order by version', [stream])).rows.map(
      (r) => r.hash,
    );

  it('chains set-wise batches, multi-event appends and the loop alike: every event verifies', async () => {
    const [a, b, c] = [`chain-a-${randomUUID()}`, `chain-b-${randomUUID()}`, `chain-c-${randomUUID()}`];
    // Set-wise: new streams, one of them with three events.
    const first = await append([
      { stream_id: a, expected: 'no_stream', events: [event(1)] },
      { stream_id: b, expected: 'any', events: [event(1), event(2), event(3)] },
    ]);
    assert.deepEqual(
      first.rows.map((r) => r.outcome),
      ['appended', 'appended'],
    );
    // Set-wise again: each first event chains to its stream's last, written by an earlier statement.
    await append([
      { stream_id: a, expected: 'exact', expected_version: 1, events: [event(2), event(3)] },
      { stream_id: b, expected: 'any', events: [event(4)] },
      { stream_id: c, expected: 'any', events: [event(1)] },
    ]);
    // The loop: one stream twice in a batch.
    await append([
      { stream_id: c, expected: 'any', events: [event(2)] },
      { stream_id: c, expected: 'any', events: [event(3), event(4)] },
    ]);
    for (const stream of [a, b, c]) {
      const all = await hashes(stream);
      assert.ok(all.length >= 3 && all.every((h) => h !== null && h.length === 32), `${stream}: every event hashed`);
      const report = await verifyChains(pool, keys, { streamId: stream });
      assert.deepEqual(report.problems, [], stream);
      assert.equal(report.checked, BigInt(all.length));
    }
    const whole = await verifyChains(pool, keys, { streamId: null });
    assert.deepEqual(whole.problems, []);
  });

  it('hashes nothing without the key, nor with the trigger events_chain disabled (the one switch)', async () => {
    const stream = `chain-off-${randomUUID()}`;
    await append([{ stream_id: stream, expected: 'any', events: [event(1)] }], false);
    await db.query('alter table events disable trigger events_chain');
    try {
      await append([{ stream_id: stream, expected: 'any', events: [event(2), event(3)] }]);
    } finally {
      await db.query('alter table events enable trigger events_chain');
    }
    assert.deepEqual(await hashes(stream), [null, null, null]);
    const report = await verifyChains(pool, keys, { streamId: stream });
    assert.deepEqual(
      report.problems.map((p) => p.kind),
      ['unhashed', 'unhashed', 'unhashed'],
    );
  });

  it("refuses to chain to a stream whose last event was removed behind the service's back", async () => {
    const stream = `chain-gap-${randomUUID()}`;
    await append([{ stream_id: stream, expected: 'any', events: [event(1), event(2)] }]);
    await db.query('alter table events disable trigger events_append_only_rows');
    try {
      await db.query('delete from events where stream_id = $1 and version = 2', [stream]);
    } finally {
      await db.query('alter table events enable trigger events_append_only_rows');
    }
    await assert.rejects(append([{ stream_id: stream, expected: 'any', events: [event(3)] }]), /version 3 of stream .* has no predecessor/);
  });
});
