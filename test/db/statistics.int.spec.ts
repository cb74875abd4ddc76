import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { staleTables } from '../../src/db/statistics.js';
import { startTestApp } from '../support/app.js';
import { eventually } from '../support/events.js';

describe('Planner statistics', () => {
  it('are kept by the service when autovacuum is off (and left to it when on): changed tables get analyzed', async () => {
    const t = await startTestApp({ STATISTICS_CHECK_MS: '200' });
    const db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    try {
      const autovacuum = (await db.query(`select current_setting('autovacuum')::boolean as on`)).rows[0].on as boolean;
      assert.equal(t.app.statistics.active(), !autovacuum);
      const analyzedAt = async () =>
        (await db.query(`select last_analyze, last_autoanalyze from pg_stat_user_tables where relname = 'events'`)).rows[0] as {
          last_analyze: Date | null;
          last_autoanalyze: Date | null;
        };
      const before = await analyzedAt();
      // 300 appends: past autovacuum's threshold (50 rows + 10 %) for events and streams.
      for (let i = 0; i < 30; i++) {
        await Promise.all(
          Array.from({ length: 10 }, () =>
            t.events.appendToStream({ streamId: `stats-${randomUUID()}`, events: [{ type: 'noted', data: { i } }] }),
          ),
        );
      }
      // A backend that goes idle may hold its counts up to 10 s before PostgreSQL's statistics see
      // them (PGSTAT_IDLE_INTERVAL); under a loaded machine's full suite 10 s was not always enough.
      await eventually(
        async () => {
          const now = await analyzedAt();
          const last = now.last_analyze ?? now.last_autoanalyze;
          return last !== null && last.getTime() !== (before.last_analyze ?? before.last_autoanalyze)?.getTime();
        },
        'events analyzed after its changes',
        30_000,
      );
      if (!autovacuum) {
        assert.ok(t.app.statistics.analyzed() > 0);
        await eventually(async () => !(await staleTables(t.app.pool)).includes('events'), 'events no longer stale', 30_000);
      }
    } finally {
      await db.end();
      await t.stop();
    }
  }).timeout(90_000);
});
