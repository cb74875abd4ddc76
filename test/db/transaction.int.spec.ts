import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { sql } from 'slonik';
import { z } from 'zod';
import { inTransaction } from '../../src/db/transaction.js';
import { startTestApp } from '../support/app.js';
import { scrape } from '../support/prometheus.js';

// slonik's transaction context: an AsyncLocalStorage whose first run() turns on promise hooks
// for the whole process on Node 20 (src/db/transaction.ts says why that matters).
const { transactionContext } = createRequire(import.meta.url)('slonik/dist/contexts/transactionContext.js') as {
  transactionContext: { run: (...args: unknown[]) => unknown };
};

describe('Transactions (inTransaction)', () => {
  it("the service's own transactions (the first admin key, a metrics scrape) never enter slonik's transaction context", async () => {
    const run = transactionContext.run;
    let runs = 0;
    transactionContext.run = function (this: unknown, ...args: unknown[]) {
      runs += 1;
      return run.apply(this, args);
    };
    try {
      const t = await startTestApp();
      try {
        assert.equal((await t.app.keys.list()).filter((key) => key.name === 'first-admin').length, 1);
        assert.equal((await scrape(`${t.app.url}/metrics`)).sum('auren_postgres_up'), 1);
        assert.equal(runs, 0);
      } finally {
        await t.stop();
      }
    } finally {
      transactionContext.run = run;
    }
  });

  it('commits what the handler wrote, and rolls all of it back when the handler throws', async () => {
    const t = await startTestApp();
    const pool = t.app.pool;
    const count = sql.type(z.object({ n: z.number() }))`select count(*)::int as n from transaction_probe`;
    try {
      await pool.query(sql.type(z.object({}))`create table transaction_probe (v int)`);
      const answer = await inTransaction(pool, async (tx) => {
        await tx.query(sql.type(z.object({}))`insert into transaction_probe values (1)`);
        await tx.query(sql.type(z.object({}))`insert into transaction_probe values (2)`);
        return 'done';
      });
      assert.equal(answer, 'done');
      assert.equal((await pool.one(count)).n, 2);
      await assert.rejects(
        inTransaction(pool, async (tx) => {
          await tx.query(sql.type(z.object({}))`insert into transaction_probe values (3)`);
          throw new Error('the handler failed');
        }),
        /the handler failed/,
      );
      await assert.rejects(
        inTransaction(pool, async (tx) => {
          await tx.query(sql.type(z.object({}))`insert into transaction_probe values (4)`);
          await tx.query(sql.type(z.object({}))`insert into transaction_probe values ('not a number')`);
        }),
      );
      assert.equal((await pool.one(count)).n, 2);
      // The connections went back to the pool outside any transaction.
      const open = sql.type(z.object({ n: z.number() }))`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and state like 'idle in transaction%'`;
      assert.equal((await pool.one(open)).n, 0);
    } finally {
      await t.stop();
    }
  });
});
