import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import { noRows } from '../db/pool.js';
import type { Position } from '../events/types.js';

/** A consumer's row as stored: its checkpoint and how its handler is doing. */
export interface StoredCheckpoint {
  /** The last position handled or scanned past: processing resumes after it. */
  position: Position;
  handledEvents: number;
  lastError: string | null;
  failedAttempts: number;
  /** Milliseconds since the epoch; null while the handler succeeds. */
  failingSince: number | null;
}

/** The SQL of consumer checkpoints (table consumer_checkpoints, sql/002_consumers.sql). */
export interface ConsumerCheckpoints {
  /** The consumer's checkpoint; a consumer seen for the first time gets one at the log's start. */
  load(name: string): Promise<StoredCheckpoint>;
  /**
   * Moves the checkpoint from `expected` to `position` if it still stands at `expected`;
   * false when it does not, i.e. another replica moved it.
   */
  save(name: string, expected: Position, position: Position, handledEvents: number): Promise<boolean>;
  /** Records that the handler failed `attempts` times in a row, the last time with `error`. */
  recordFailure(name: string, error: string, attempts: number): Promise<void>;
  /** Records that the handler succeeds again. */
  clearFailure(name: string): Promise<void>;
  /** The consumer's checkpoint without creating it; undefined for a consumer never run. */
  find(name: string): Promise<StoredCheckpoint | undefined>;
  /**
   * Moves the checkpoint back to the log's start whatever it is: the consumer handles the whole
   * log again (a running replica notices at its next save, see CheckpointMoved, and restarts
   * from here).
   */
  reset(name: string): Promise<void>;
}

const checkpointRow = z.object({
  commit: z.string(),
  prepare: z.bigint(),
  handled_events: z.bigint(),
  last_error: z.string().nullable(),
  failed_attempts: z.number(),
  failing_since: z.number().nullable(),
});

const selectCheckpoint = (name: string) => sql.type(checkpointRow)`
  select commit::text as commit, prepare, handled_events, last_error, failed_attempts, failing_since
    from consumer_checkpoints where name = ${name}`;

function toCheckpoint(row: z.infer<typeof checkpointRow>): StoredCheckpoint {
  return {
    position: { commit: BigInt(row.commit), prepare: row.prepare },
    handledEvents: Number(row.handled_events),
    lastError: row.last_error,
    failedAttempts: row.failed_attempts,
    failingSince: row.failing_since,
  };
}

/** Creates the checkpoint queries over the pool. */
export function createCheckpoints(pool: DatabasePool): ConsumerCheckpoints {
  return {
    async load(name) {
      await pool.query(sql.type(noRows)`insert into consumer_checkpoints (name) values (${name}) on conflict (name) do nothing`);
      return toCheckpoint(await pool.one(selectCheckpoint(name)));
    },

    async find(name) {
      const row = await pool.maybeOne(selectCheckpoint(name));
      return row ? toCheckpoint(row) : undefined;
    },

    async reset(name) {
      await pool.query(sql.type(noRows)`
        insert into consumer_checkpoints (name) values (${name})
        on conflict (name) do update set commit = 0, prepare = 0, handled_events = 0, updated_at = now()`);
    },

    async save(name, expected, position, handledEvents) {
      const result = await pool.query(sql.type(noRows)`
        update consumer_checkpoints
           set commit = ${position.commit}, prepare = ${position.prepare},
               handled_events = ${handledEvents}, updated_at = now()
         where name = ${name} and commit = ${expected.commit} and prepare = ${expected.prepare}`);
      return result.rowCount === 1;
    },

    async recordFailure(name, error, attempts) {
      await pool.query(sql.type(noRows)`
        update consumer_checkpoints
           set last_error = ${error}, failed_attempts = ${attempts}, failing_since = coalesce(failing_since, now())
         where name = ${name}`);
    },

    async clearFailure(name) {
      await pool.query(sql.type(noRows)`
        update consumer_checkpoints set last_error = null, failed_attempts = 0, failing_since = null
         where name = ${name}`);
    },
  };
}
