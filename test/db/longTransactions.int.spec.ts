import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { oldestTransaction } from '../../src/db/longTransactions.js';
import { startTestApp } from '../support/app.js';

describe('Long-running transactions', () => {
  it('reports the age of the oldest open transaction of its database', async () => {
    const t = await startTestApp();
    const holder = new pg.Client({ connectionString: t.databaseUrl });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select pg_current_xact_id()'); // takes a transaction id, as a write would
      const pid = (await holder.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      await sleep(300);
      const oldest = await oldestTransaction(t.app.pool);
      // Ours, or an older one elsewhere on the server: either way at least this old.
      assert.ok(oldest.ageMs >= 250, `age ${oldest.ageMs} ms`);
      await holder.query('commit');
      const after = await oldestTransaction(t.app.pool);
      assert.notEqual(after.pid, pid);
    } finally {
      await holder.end();
      await t.stop();
    }
  });
});
