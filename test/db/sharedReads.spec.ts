import assert from 'node:assert/strict';
import { sharedReads } from '../../src/db/sharedReads.js';

// A read whose statements the test finishes by hand: it sees which keys went together.
function controlledRead(rows: ReadonlyMap<string, number>) {
  const statements: { keys: readonly string[]; finish(error?: Error): void }[] = [];
  const read = (keys: readonly string[]) =>
    new Promise<ReadonlyMap<string, number>>((resolve, reject) => {
      statements.push({
        keys,
        finish: (error) => (error ? reject(error) : resolve(new Map(keys.flatMap((k) => (rows.has(k) ? [[k, rows.get(k)!]] : []))))),
      });
    });
  return { read, statements };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('sharedReads', () => {
  const rows = new Map(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));

  it('sends a lone read at once, alone, and answers it', async () => {
    const { read, statements } = controlledRead(rows);
    const load = sharedReads(read, { maxBatch: 10, maxInFlight: 1 });
    const answer = load('k3');
    await tick();
    assert.deepEqual(
      statements.map((s) => s.keys),
      [['k3']],
    );
    statements[0]!.finish();
    assert.equal(await answer, 3);
  });

  it('sends reads that come while statements run together in the next one, each with its own answer', async () => {
    const { read, statements } = controlledRead(rows);
    const load = sharedReads(read, { maxBatch: 10, maxInFlight: 2 });
    const first = [load('k1'), load('k2')]; // the same turn: one statement
    await tick();
    const second = load('k3');
    await tick();
    const waiting = ['k4', 'missing', 'k5', 'k4'].map(load); // both statements run: they wait
    await tick();
    assert.deepEqual(
      statements.map((s) => s.keys),
      [['k1', 'k2'], ['k3']],
    );
    statements[1]!.finish();
    await tick();
    assert.deepEqual(statements[2]!.keys, ['k4', 'missing', 'k5', 'k4']);
    statements[0]!.finish();
    statements[2]!.finish();
    assert.deepEqual(await Promise.all([...first, second, ...waiting]), [1, 2, 3, 4, undefined, 5, 4]);
  });

  it('splits the waiting reads into statements of at most maxBatch keys', async () => {
    const { read, statements } = controlledRead(rows);
    const load = sharedReads(read, { maxBatch: 4, maxInFlight: 1 });
    const answers = Array.from({ length: 11 }, (_, i) => load(`k${i}`));
    for (let i = 0; i < 3; i++) {
      await tick();
      assert.equal(statements.length, i + 1, 'one statement at a time');
      statements[i]!.finish();
    }
    assert.deepEqual(
      statements.map((s) => s.keys.length),
      [4, 4, 3],
    );
    assert.deepEqual(
      await Promise.all(answers),
      Array.from({ length: 11 }, (_, i) => i),
    );
  });

  it('fails only the reads of a failed statement, and goes on with the next', async () => {
    const { read, statements } = controlledRead(rows);
    const load = sharedReads(read, { maxBatch: 10, maxInFlight: 1 });
    const failing = [load('k1'), load('k2')];
    await tick();
    const later = load('k7');
    await tick();
    statements[0]!.finish(new Error('connection lost'));
    for (const answer of failing) await assert.rejects(answer, /connection lost/);
    await tick();
    assert.deepEqual(statements[1]!.keys, ['k7']);
    statements[1]!.finish();
    assert.equal(await later, 7);
  });
});
