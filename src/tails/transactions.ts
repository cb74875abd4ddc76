import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import type { Logger } from '../log.js';

/** The oldest transaction holding a transaction id, which holds back every tail. */
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
 * Finds the oldest open transaction that has a transaction id, in this database or another
 * (ids are cluster-wide), including prepared transactions. Tails deliver only events older
 * than it, so its age is how far tails can lag. Seeing other users' sessions needs the
 * pg_read_all_stats role (or superuser); without it those count as age 0.
 */
export async function oldestTransaction(pool: DatabasePool): Promise<OldestTransaction> {
  const row = await pool.maybeOne(sql.type(oldestRow)`
    select (extract(epoch from now() - started) * 1000)::float8 as age_ms, pid, state, query
      from (
        select xact_start as started, pid, state, left(query, 200) as query
          from pg_stat_activity where backend_xid is not null and xact_start is not null
        union all
        select prepared, null, 'prepared', gid from pg_prepared_xacts
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
        log.warn({ ageMs: Math.round(last.ageMs), pid: last.pid, state: last.state, query: last.query }, 'a long-running transaction is holding back every live tail');
      }
    } catch (error) {
      log.debug({ err: error }, 'could not read the oldest transaction');
    }
  };
  const timer = setInterval(() => void check(), Math.min(5_000, thresholdMs));
  timer.unref();
  return { last: () => last, stop: () => clearInterval(timer) };
}
