import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import type { EventStore } from '../events/eventStore.js';
import type { Logger } from '../log.js';
import { appendChange, changeRow, expiryData } from './changes.js';
import { MEMORY_EVENTS } from './model.js';
import { dueExpiriesQuery, toMemory } from './queries.js';
import type { Caller } from './model.js';

/** The caller named on memory_expired events: the service itself, not an agent. */
export const EXPIRY_CALLER: Caller = { agentId: 'auren.expiry-sweeper' };

/** What the sweeper needs. */
export interface ExpirySweeperOptions {
  store: EventStore;
  log: Logger;
  /** Time between sweeps. */
  intervalMs: number;
  /** Memories expired per transaction. */
  batchSize: number;
}

/** A running expiry sweeper. */
export interface ExpirySweeper {
  /** Sweeps now, until no expired memory is left unrecorded; returns how many it recorded. */
  sweep(): Promise<number>;
  /** Stops sweeping and waits for a sweep under way to finish. */
  stop(): Promise<void>;
}

/**
 * Starts recording expiries: every interval, memories whose expires_at has passed get
 * expired_at, a version and a memory_expired event, in one transaction per batch. Replicas
 * can all run one: `skip locked` hands each memory to one sweeper, and the exact expected
 * version refuses a second memory_expired should two ever meet.
 */
export function startExpirySweeper({ store, log, intervalMs, batchSize }: ExpirySweeperOptions): ExpirySweeper {
  let stopped = false;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function sweepBatch(): Promise<number> {
    return store.transaction(async (tx) => {
      const due = await tx.db.any(dueExpiriesQuery(batchSize));
      for (const row of due) {
        const before = toMemory(row);
        const eventId = randomUUID();
        const changed = await changeRow(tx, before.id, eventId, [sql.fragment`expired_at = now()`]);
        await appendChange(tx, {
          memory: changed, versionBefore: before.version, eventId, type: MEMORY_EVENTS.expired, caller: EXPIRY_CALLER,
          data: { expires_at: expiryData(before.expiresAt) },
        });
      }
      return due.length;
    });
  }

  async function sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const count = await sweepBatch();
      total += count;
      if (count < batchSize || stopped) return total;
    }
  }

  // One sweep at a time in this process; the next is scheduled when this one ends.
  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep()
        .then((count) => {
          if (count > 0) log.info({ count }, 'recorded expired memories');
          return count;
        })
        .catch((error: unknown) => {
          log.error({ err: error }, 'expiry sweep failed; trying again at the next interval');
          return 0;
        })
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, intervalMs);
    timer.unref();
  }

  schedule();
  return {
    sweep,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
