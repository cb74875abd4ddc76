import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import type { Logger } from '../log.js';

/** The oldest open transaction of this database that holds a transaction id. */
export interface OldestTransaction {
  ageMs: number;
  pid: number | null;
  state: string | null;
  /** The start of its current query, for the log. */
  query: string | null;
}

const oldestRow = z.object({
  age_ms: z.number(),
  pid: z.number().nullable(),
  state: z.string().nullable(),
  query: z.string().nullable(),
});

/**
 * Finds the oldest open transaction of this database that has a transaction id, prepared
 * ones included. It no longer holds back tails (positions follow commit order), but while it
 * stays open VACUUM cannot clean up behind it, and an appending one holds every other append.
 * Other databases on the server are none of this service's business and are not looked at.
 */
export async function oldestTransaction(pool: DatabasePool): Promise<OldestTransaction> {
  const row = await pool.maybeOne(sql.type(oldestRow)`
    select (extract(epoch from now() - started) * 1000)::float8 as age_ms, pid, state, query
      from (
        select xact_start as started, pid, state, left(query, 200) as query
          from pg_stat_activity
         where backend_xid is not null and xact_start is not null and datname = current_database()
        union all
        select prepared, null, 'prepared', gid from pg_prepared_xacts where database = current_database()
      ) open
     order by started limit 1`);
  return row ? { ageMs: row.age_ms, pid: row.pid, state: row.state, query: row.query } : { ageMs: 0, pid: null, state: null, query: null };
}

/** Checks the oldest transaction periodically and logs a warning while it is over the threshold. */
export function watchLongTransactions(pool: DatabasePool, thresholdMs: number, log: Logger): { last(): OldestTransaction; stop(): void } {
  let last: OldestTransaction = { ageMs: 0, pid: null, state: null, query: null };
  const check = async () => {
    try {
      last = await oldestTransaction(pool);
      if (last.ageMs > thresholdMs) {
        // No query text above debug: a session's statement may hold a person's data (an append's events).
        log.warn(
          { ageMs: Math.round(last.ageMs), pid: last.pid, state: last.state },
          'a long-running transaction is open: VACUUM cannot clean up behind it, and if it appends, other appends wait',
        );
        log.debug({ pid: last.pid, query: last.query }, "the long-running transaction's current statement");
      }
    } catch (error) {
      log.debug({ err: error }, 'could not read the oldest transaction');
    }
  };
  const timer = setInterval(() => void check(), Math.min(5_000, thresholdMs));
  timer.unref();
  return { last: () => last, stop: () => clearInterval(timer) };
}
