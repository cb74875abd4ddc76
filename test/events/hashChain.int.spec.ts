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

// The log's hash chain as append_batch writes it: every event hashed in the statement that inserts
// it (event_chain_hash, over its stream's events in version order), by the set-wise statement and
// by the loop alike; both must make one chain that `auren audit verify` (verifyChains) recomputes.
// The tamper cases are in test/auth/commands.
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
  // append() in a transaction of its own, with the rows of `streams` it wrote (inserted or updated):
  // the set-wise statement writes each stream once, the loop once per append it writes.
  // (pg_stat_xact_user_tables also holds earlier transactions' counts not yet reported: the difference.)
  const streamsWrites = async () =>
    (
      await db.query<{ written: number }>(
        `select (n_tup_ins + n_tup_upd)::int as written from pg_stat_xact_user_tables where relname = 'streams'`,
      )
    ).rows[0]!.written;
  const appendCounted = async (appends: unknown[]) => {
    await db.query('begin');
    try {
      const before = await streamsWrites();
      const result = await db.query<{ ord: number; outcome: string; stream_version: string; first_position: string | null }>(
        'select ord, outcome, stream_version, first_position from append_batch($1::jsonb, $2, $3)',
        [JSON.stringify(appends), pads.inner, pads.outer],
      );
      const streamsWritten = (await streamsWrites()) - before;
      await db.query('commit');
      return { rows: result.rows, streamsWritten };
    } catch (error) {
      await db.query('rollback');
      throw error;
    }
  };
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
    // Set-wise, one stream twice in a batch: the second append chains to the first.
    const twice = await appendCounted([
      { stream_id: c, expected: 'any', events: [event(2)] },
      { stream_id: c, expected: 'any', events: [event(3), event(4)] },
    ]);
    assert.equal(twice.streamsWritten, 1, 'the set-wise statement');
    // The loop (a retry in the batch): the stream twice again, behind the retry.
    const retried = { stream_id: a, expected: 'any', events: [event(4)] };
    await append([retried]);
    const loop = await appendCounted([
      { stream_id: c, expected: 'any', events: [event(5)] },
      retried,
      { stream_id: c, expected: 'exact', expected_version: 5, events: [event(6), event(7)] },
    ]);
    assert.deepEqual(
      loop.rows.map((r) => r.outcome),
      ['appended', 'duplicate', 'appended'],
    );
    assert.equal(loop.streamsWritten, 2, 'the loop: once per append');
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

  it('takes several appends to one stream in one set-wise statement: each checked against the ones before it, each answered as alone, all chained', async () => {
    const [s, n, m, w] = [`chain-s-${randomUUID()}`, `chain-n-${randomUUID()}`, `chain-m-${randomUUID()}`, `chain-w-${randomUUID()}`];
    await append([{ stream_id: s, expected: 'any', events: [event(1), event(2)] }]);
    const batch = [
      { stream_id: s, expected: 'exact', expected_version: 2, events: [event(3)] }, // appended: 3
      { stream_id: s, expected: 'exact', expected_version: 2, events: [event(4)] }, // wrong: the one before moved it to 3
      { stream_id: n, expected: 'no_stream', events: [event(1), event(2)] }, // appended: 2
      { stream_id: s, expected: 'stream_exists', events: [event(5), event(6)] }, // appended: 5
      { stream_id: n, expected: 'no_stream', events: [event(3)] }, // wrong: 2
      { stream_id: s, expected: 'any', watch: { stream_id: w, version: 1 }, events: [event(9)] }, // its condition fails: nothing, s at 5
      { stream_id: m, expected: 'stream_exists', events: [event(1)] }, // wrong: 0
      { stream_id: s, expected: 'exact', expected_version: 5, events: [event(7)] }, // appended: 6
      { stream_id: m, expected: 'no_stream', events: [event(2)] }, // appended: 1
      { stream_id: n, expected: 'exact', expected_version: 2, events: [event(4)] }, // appended: 3
      { stream_id: m, expected: 'any', events: [event(3)] }, // appended: 2
    ];
    const { rows, streamsWritten } = await appendCounted(batch);
    assert.equal(streamsWritten, 3, 'one set-wise statement: each stream written once');
    assert.deepEqual(
      rows.map((r) => [r.ord, r.outcome, Number(r.stream_version)]),
      [
        [1, 'appended', 3],
        [2, 'wrong_expected_version', 3],
        [3, 'appended', 2],
        [4, 'appended', 5],
        [5, 'wrong_expected_version', 2],
        [6, 'watch_mismatch', 5],
        [7, 'wrong_expected_version', 0],
        [8, 'appended', 6],
        [9, 'appended', 1],
        [10, 'appended', 3],
        [11, 'appended', 2],
      ],
    );
    // Positions in the order of the batch, with no gap for the refused ones.
    const firsts = rows.filter((r) => r.outcome === 'appended').map((r) => Number(r.first_position));
    const sizes = batch.filter((_, i) => rows[i]!.outcome === 'appended').map((b) => b.events.length);
    firsts.slice(1).forEach((first, i) => assert.equal(first, firsts[i]! + sizes[i]!));
    const versions = (
      await db.query<{ stream_id: string; version: string }>('select stream_id, version from streams where stream_id = any($1)', [
        [s, n, m],
      ])
    ).rows;
    assert.deepEqual(Object.fromEntries(versions.map((v) => [v.stream_id, Number(v.version)])), { [s]: 6, [n]: 3, [m]: 2 });
    for (const stream of [s, n, m]) {
      const report = await verifyChains(pool, keys, { streamId: stream });
      assert.deepEqual(report.problems, [], stream);
      const all = await hashes(stream);
      assert.equal(report.checked, BigInt(all.length));
      // The data of each version is the one its append carried: refused appends wrote nothing.
      const data = (
        await db.query<{ i: number }>(`select (data->>'i')::int as i from events where stream_id = $1 order by version`, [stream])
      ).rows.map((r) => r.i);
      assert.deepEqual(data, { [s]: [1, 2, 3, 5, 6, 7], [n]: [1, 2, 4], [m]: [2, 3] }[stream]);
    }
  });

  it("reads one event of a stream to chain to it, however long the stream (the connection's plan made while the log was small)", async () => {
    // This connection planned append_batch's statement in the tests above, on a nearly empty log.
    const stream = `chain-long-${randomUUID()}`;
    for (let i = 0; i < 20; i++)
      await append(Array.from({ length: 25 }, (_, k) => ({ stream_id: stream, expected: 'any', events: [event(i * 25 + k)] })));
    // Entries of the stream's index read in this transaction (PostgreSQL counts them per index).
    const indexReads = async () =>
      (await db.query<{ read: number }>(`select pg_stat_get_xact_tuples_returned('events_stream_version_key'::regclass)::int as read`))
        .rows[0]!.read;
    await db.query('begin');
    try {
      const before = await indexReads();
      await append([
        { stream_id: stream, expected: 'any', events: [event(1000)] },
        { stream_id: stream, expected: 'any', events: [event(1001)] },
      ]);
      const read = (await indexReads()) - before;
      await db.query('commit');
      assert.ok(read <= 2, `${read} entries of the stream's 500 read to chain two appends to it`);
    } catch (error) {
      await db.query('rollback');
      throw error;
    }
    const report = await verifyChains(pool, keys, { streamId: stream });
    assert.deepEqual(report.problems, []);
    assert.equal(report.checked, 502n);
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
    // Twice in one statement, and in the loop (a retry in the batch): refused alike.
    const twice = [
      { stream_id: stream, expected: 'any', events: [event(3)] },
      { stream_id: stream, expected: 'any', events: [event(4)] },
    ];
    await assert.rejects(append(twice), /version 3 of stream .* has no predecessor/);
    const retried = { stream_id: `chain-other-${randomUUID()}`, expected: 'any', events: [event(1)] };
    await append([retried]);
    await assert.rejects(append([retried, ...twice]), /version 3 of stream .* has no predecessor/);
  });
});
