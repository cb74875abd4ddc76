import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import { noRows } from './pool.js';
import type { Logger } from '../log.js';

// PostgreSQL plans every statement from its tables' statistics, which autovacuum keeps current
// (ANALYZE once a table changed by 50 rows + 10 %). A server with autovacuum off keeps the
// statistics of the day each table was created, nearly empty: measured here, GetMemory's
// PostgreSQL CPU per call grew 771 -> 1,130 -> 1,659 µs over three 5 s rounds on a new
// database, and fell to 515 µs after one ANALYZE. So when autovacuum is off the service says so
// and analyzes its own tables by autovacuum's rule; with autovacuum on it does nothing.

/** Autovacuum's default analyze threshold: this many changed rows, plus the scale factor of the table's rows. */
export const ANALYZE_THRESHOLD = { rows: 50, scaleFactor: 0.1 } as const;

const settingRow = z.object({ autovacuum: z.boolean(), track_counts: z.boolean() });
const staleRow = z.object({ table_name: z.string() });

/** The service's tables (this schema's) that changed enough since their last ANALYZE to need one. */
export async function staleTables(pool: DatabasePool): Promise<string[]> {
  const rows = await pool.any(sql.type(staleRow)`
    select relname as table_name from pg_stat_user_tables
     where schemaname = current_schema()
       and n_mod_since_analyze > ${ANALYZE_THRESHOLD.rows} + ${ANALYZE_THRESHOLD.scaleFactor}::float8 * greatest(n_live_tup, 0)
     order by n_mod_since_analyze desc`);
  return rows.map((row) => row.table_name);
}

/** What keepStatistics does, for health and tests. */
export interface StatisticsKeeper {
  /** Whether the service analyzes its tables itself (autovacuum is off). */
  active(): boolean;
  /** Tables analyzed since start. */
  analyzed(): number;
  /** Stops checking; resolves once an ANALYZE under way finished. */
  stop(): Promise<void>;
}

/**
 * Reads whether autovacuum is on; if not, warns and every `intervalMs` analyzes the tables that
 * changed past autovacuum's threshold, one at a time. Failures are logged and retried next time.
 */
export async function keepStatistics(pool: DatabasePool, intervalMs: number, log: Logger): Promise<StatisticsKeeper> {
  let analyzed = 0;
  const setting = await pool
    .one(
      sql.type(settingRow)`
      select current_setting('autovacuum')::boolean as autovacuum, current_setting('track_counts')::boolean as track_counts`,
    )
    .catch((error: unknown) => {
      log.warn({ err: error }, 'could not read whether autovacuum is on; the service leaves statistics to PostgreSQL');
      return { autovacuum: true, track_counts: true };
    });
  if (setting.autovacuum || !setting.track_counts) {
    if (!setting.autovacuum)
      log.warn('autovacuum and track_counts are off on this PostgreSQL: nothing keeps the planner statistics current');
    return { active: () => false, analyzed: () => analyzed, stop: async () => {} };
  }
  log.warn(
    'autovacuum is off on this PostgreSQL: the service analyzes its own tables when they change (as autovacuum would); dead rows are not cleaned up, so turn autovacuum on',
  );
  let running: Promise<void> | undefined;
  const check = async () => {
    try {
      for (const table of await staleTables(pool)) {
        await pool.query(sql.type(noRows)`analyze ${sql.identifier([table])}`);
        analyzed++;
        log.debug({ table }, 'analyzed');
      }
    } catch (error) {
      log.warn({ err: error }, 'analyzing the tables failed; tried again later');
    } finally {
      running = undefined;
    }
  };
  const timer = setInterval(() => (running ??= check()), intervalMs);
  timer.unref();
  return {
    active: () => true,
    analyzed: () => analyzed,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
