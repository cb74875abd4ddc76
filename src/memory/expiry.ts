import { newId } from '../ids.js';
import type { DatabasePool } from 'slonik';
import { WrongExpectedVersion } from '../events/errors.js';
import type { StreamWriter } from '../events/eventStore.js';
import type { Logger } from '../log.js';
import { appendChange, expiryData } from './changes.js';
import { MEMORY_EVENTS } from './model.js';
import { dueExpiriesQuery, toMemory } from './queries.js';
import type { Caller } from './model.js';
import { SERVICE_ITSELF } from '../auth/principal.js';

/** The caller named on memory_expired events: the service itself, not an agent. */
export const EXPIRY_CALLER: Caller = { ...SERVICE_ITSELF, name: 'auren.expiry-sweeper' };

/** What the sweeper needs. */
export interface ExpirySweeperOptions {
  pool: DatabasePool;
  /** The writer of the memory streams. */
  writer: StreamWriter;
  log: Logger;
  /** Time between sweeps. */
  intervalMs: number;
  /** Memories read per round (their memory_expired events are appended together). */
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
 * Starts recording expiries: every interval, memories whose expires_at has passed get a
 * memory_expired event (and so expired_at and a version, by the trigger). Replicas can all run
 * one: the exact expected version lets one memory_expired in per memory, and a memory changed
 * meanwhile is simply found again by the next round.
 */
export function startExpirySweeper({ pool, writer, log, intervalMs, batchSize }: ExpirySweeperOptions): ExpirySweeper {
  let stopped = false;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  // Records one round; returns how many were due and how many it recorded.
  async function sweepRound(): Promise<{ due: number; recorded: number }> {
    const due = (await pool.any(dueExpiriesQuery(batchSize))).map((row) => toMemory(row));
    const outcomes = await Promise.allSettled(
      due.map((memory) =>
        appendChange(writer, {
          memory,
          versionBefore: memory.version,
          eventId: newId(),
          type: MEMORY_EVENTS.expired,
          caller: EXPIRY_CALLER,
          data: { expires_at: expiryData(memory.expiresAt) },
        }),
      ),
    );
    let recorded = 0;
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') recorded++;
      else if (!(outcome.reason instanceof WrongExpectedVersion)) throw outcome.reason;
    }
    return { due: due.length, recorded };
  }

  async function sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const { due, recorded } = await sweepRound();
      total += recorded;
      if (due < batchSize || recorded === 0 || stopped) return total;
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
