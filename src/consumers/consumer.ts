import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabasePool } from '../db/pool.js';
import { comparePositions, START } from '../events/types.js';
import type { EventFilter, Position, RecordedEvent } from '../events/types.js';
import { checkFilter } from '../events/validation.js';
import type { Logger } from '../log.js';
import type { LogTailMessage, Subscriptions } from '../tails/subscriptions.js';
import { acquireConsumerLock } from './acquireConsumerLock.js';
import type { ConsumerLock } from './acquireConsumerLock.js';
import { createCheckpoints } from './checkpoints.js';

/** Handles one event. A rejection is retried, with backoff, for the same event. */
export type EventHandler = (event: RecordedEvent) => Promise<void> | void;

/**
 * Handles several events at once, in log order, as one step: all of them or (on a rejection,
 * retried with backoff for the same events) none of them count as handled.
 */
export type BatchHandler = (events: RecordedEvent[]) => Promise<void>;

/** Options of a durable consumer. */
export interface ConsumerOptions {
  /** Names the checkpoint and the lock: the replicas of one consumer share it. */
  name: string;
  handle: EventHandler;
  /**
   * When set, used instead of `handle` for the events already waiting when one arrives (up to
   * `batchMax`): a projection writes them with one round trip instead of one per event.
   */
  handleBatch?: BatchHandler;
  /** Most events handed to `handleBatch` at once; default 200. */
  batchMax?: number;
  /** Only matching events reach `handle`; the checkpoint still moves past the others. */
  filter?: Partial<EventFilter>;
  pool: DatabasePool;
  /** For the consumer's own lock connection. */
  databaseUrl: string;
  subscriptions: Subscriptions;
  log: Logger;
  /** How often a standby replica tries to take the lock; default 2 s. */
  lockRetryMs?: number;
  /** Backoff of a failing handler: the first wait and the longest; default 100 ms doubling to 30 s. */
  retry?: { initialMs?: number; maxMs?: number };
  /** Scanned events between checkpoints of a filtered consumer; default 1000. */
  checkpointInterval?: number;
}

/** A consumer as a projection defines it; the running service supplies the rest. */
export type ConsumerDefinition = Omit<ConsumerOptions, 'pool' | 'databaseUrl' | 'subscriptions' | 'log'>;

/** What a consumer reports about itself, as this replica knows it. */
export interface ConsumerStatus {
  name: string;
  /** Holds the lock: this replica is the one processing. */
  active: boolean;
  /** The saved checkpoint: a restart resumes after it. */
  checkpoint: Position;
  /** Successful handler calls over every run (re-deliveries after a crash count again). */
  handledEvents: number;
  lastError: string | null;
  /** Failures in a row on the event after the checkpoint; 0 while the handler succeeds. */
  failedAttempts: number;
}

/**
 * A durable consumer: handles every event of the log (or of its filter) in log order, at least
 * once. Progress is saved in batches (every 100 events or 200 ms, and when caught up or idle),
 * so after a crash the events handled since the last save are handled again: a handler must be
 * idempotent.
 */
export interface Consumer {
  /** Starts taking the lock and processing, in the background. */
  start(): void;
  /** Ends processing: waits for the handler in flight, saves the checkpoint, releases the lock. */
  stop(): Promise<void>;
  status(): ConsumerStatus;
}

/** The checkpoint moved under a replica that believed it held the lock: it stops and takes the lock again. */
export class CheckpointMoved extends Error {
  constructor(readonly consumer: string) {
    super(`another replica moved the checkpoint of consumer '${consumer}'`);
    this.name = 'CheckpointMoved';
  }
}

const SAVE_EVERY_EVENTS = 100;
const SAVE_EVERY_MS = 200;
const IDLE = Symbol('idle');

/**
 * Creates a durable consumer. One replica at a time processes: the one holding
 * `pg_try_advisory_lock` on a key derived from the name. When that replica's process dies its
 * session ends, PostgreSQL frees the lock and a standby replica takes over from the checkpoint.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  const { name, subscriptions } = options;
  const filter = checkFilter({ eventTypes: options.filter?.eventTypes ?? [], streamIdPrefixes: options.filter?.streamIdPrefixes ?? [] });
  const lockRetryMs = options.lockRetryMs ?? 2_000;
  const retryInitialMs = options.retry?.initialMs ?? 100;
  const retryMaxMs = options.retry?.maxMs ?? 30_000;
  const checkpointInterval = options.checkpointInterval ?? 1_000;
  const batchMax = options.batchMax ?? 200;
  const log = options.log.child({ consumer: name });
  const checkpoints = createCheckpoints(options.pool);
  const stopping = new AbortController();
  const state: ConsumerStatus = { name, active: false, checkpoint: START, handledEvents: 0, lastError: null, failedAttempts: 0 };
  let running: Promise<void> | undefined;

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      const lock = await acquireConsumerLock({
        name,
        databaseUrl: options.databaseUrl,
        log,
        retryMs: lockRetryMs,
        stopping: stopping.signal,
      });
      if (!lock) return;
      state.active = true;
      log.info('took the consumer lock: processing');
      try {
        await follow(lock);
      } catch (error) {
        log.warn(
          { err: error, retryInMs: lockRetryMs },
          'consumer stopped on an error; it takes the lock again and resumes from its checkpoint',
        );
      } finally {
        state.active = false;
        await lock.release();
      }
      await sleep(lockRetryMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  }

  // Where this replica got to when it last held the lock: had it lost the lock to an outage
  // (PostgreSQL restarted, its connection cut) and nobody moved the checkpoint since, it goes on
  // from there instead of handling again what it handled after its last save.
  let progress: { saved: Position; reached: Position; handledEvents: number } | undefined;

  // Processes from the stored checkpoint until the lock's signal aborts (stop, lost connection) or something fails.
  async function follow(lock: ConsumerLock): Promise<void> {
    const stored = await checkpoints.load(name);
    const own =
      progress && comparePositions(stored.position, progress.saved) === 0 && comparePositions(progress.reached, stored.position) > 0;
    Object.assign(state, {
      checkpoint: stored.position,
      handledEvents: own ? progress!.handledEvents : stored.handledEvents,
      lastError: stored.lastError,
      failedAttempts: stored.failedAttempts,
    });
    let saved = stored.position;
    // Handled, or scanned past by a filtered tail: what the next save stores.
    let reached = own ? progress!.reached : stored.position;
    let unsaved = 0;
    let savedAt = Date.now();
    const save = async () => {
      savedAt = Date.now();
      if (comparePositions(reached, saved) === 0) return;
      const target = reached;
      if (!(await checkpoints.save(name, saved, target, state.handledEvents))) throw new CheckpointMoved(name);
      saved = target;
      unsaved = 0;
      state.checkpoint = target;
    };

    const tail = subscriptions.subscribeToAll({ from: { after: reached }, filter, checkpointInterval }, lock.signal);
    let next: Promise<IteratorResult<LogTailMessage>> | undefined;
    // Read ahead while a batch is being handled (pipelined): what arrives meanwhile is the next batch.
    const buffered: IteratorResult<LogTailMessage>[] = [];
    // The next result, from the read-ahead or the tail; IDLE when none comes within `ms`.
    const pull = async (ms: number | undefined): Promise<IteratorResult<LogTailMessage> | typeof IDLE> => {
      if (buffered.length > 0) return buffered.shift()!;
      next ??= tail.next();
      const result = ms === undefined ? await next : await nextOrIdle(next, ms);
      if (result !== IDLE) next = undefined;
      return result;
    };
    try {
      while (!lock.signal.aborted) {
        const result = await pull(comparePositions(reached, saved) > 0 ? SAVE_EVERY_MS : undefined);
        if (result === IDLE) {
          await save();
          continue;
        }
        if (result.done) break;
        const message = result.value;
        if (message.kind === 'event') {
          const batch = [message.event];
          // Scanned up to here: a checkpoint or caught_up among the batch's messages.
          let scanned: Position | undefined;
          let ended = false;
          // The events already waiting join the batch (a filtered tail's checkpoints do not cut
          // it); the first read that would wait stays pending (a zero timer lets a ready read resolve first).
          while (options.handleBatch && batch.length < batchMax) {
            const more = await pull(0);
            if (more === IDLE) break;
            if (more.done) {
              ended = true;
              break;
            }
            if (more.value.kind === 'event') batch.push(more.value.event);
            else {
              scanned = more.value.position;
              if (more.value.kind === 'caught_up') break;
            }
          }
          const handling = handleUntilDone(batch, lock.signal);
          if (options.handleBatch && !ended) await readAhead(handling);
          if (!(await handling)) break;
          reached = batch.at(-1)!.position;
          unsaved += batch.length;
          state.handledEvents += batch.length;
          if (scanned && comparePositions(scanned, reached) > 0) reached = scanned;
          if (unsaved >= SAVE_EVERY_EVENTS || Date.now() - savedAt >= SAVE_EVERY_MS || scanned) await save();
          if (ended) break;
        } else {
          // Caught up, or a filtered tail scanned past events that do not match.
          if (comparePositions(message.position, reached) > 0) reached = message.position;
          if (message.kind === 'caught_up' || Date.now() - savedAt >= SAVE_EVERY_MS) await save();
        }
      }
      // Not after losing the lock: the checkpoint may be another replica's by now.
      if (!lock.lost()) await save();
    } finally {
      progress = { saved, reached, handledEvents: state.handledEvents };
      // A read still in flight ends on the aborted signal; then the tail closes.
      lock.end();
      await next?.catch(() => undefined);
      await tail.return(undefined);
    }

    // Reads the tail into the read-ahead until the handling ends or a batch's worth is there.
    async function readAhead(handling: Promise<boolean>): Promise<void> {
      const handled = handling.then((): typeof IDLE => IDLE);
      while (buffered.length < batchMax) {
        next ??= tail.next();
        const result = await Promise.race([next, handled]);
        if (result === IDLE) return;
        next = undefined;
        buffered.push(result);
        if (result.done) return;
      }
    }
  }

  // Calls the handler until it succeeds; false when the lock's signal aborted first.
  async function handleUntilDone(events: RecordedEvent[], signal: AbortSignal): Promise<boolean> {
    const event = events[0]!;
    let delay = retryInitialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        if (options.handleBatch && events.length > 1) await options.handleBatch(events);
        else await options.handle(event);
        break;
      } catch (error) {
        state.lastError = describe(error);
        state.failedAttempts = attempt;
        log.warn(
          { err: error, attempt, eventId: event.eventId, position: formatPosition(event.position), retryInMs: delay },
          'consumer handler failed; retrying the same event',
        );
        // The status is for operators; failing to write it must not stop the retries.
        await checkpoints
          .recordFailure(name, state.lastError, attempt)
          .catch((e: unknown) => log.warn({ err: e }, 'could not record the handler failure'));
        await sleep(delay, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) return false;
        delay = Math.min(delay * 2, retryMaxMs);
      }
    }
    if (state.failedAttempts > 0) {
      log.info({ failedAttempts: state.failedAttempts, eventId: event.eventId }, 'consumer handler recovered');
      state.lastError = null;
      state.failedAttempts = 0;
      await checkpoints.clearFailure(name);
    }
    return true;
  }

  return {
    start() {
      running ??= run().catch((error: unknown) => log.error({ err: error }, 'consumer stopped unexpectedly'));
    },
    async stop() {
      stopping.abort();
      await running;
    },
    status: () => ({ ...state }),
  };
}

// The next message, or IDLE when none comes within `ms` (the read goes on). A plain timer:
// an aborted timers/promises sleep costs an AbortError per event.
async function nextOrIdle<T>(next: Promise<T>, ms: number): Promise<T | typeof IDLE> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<typeof IDLE>((resolve) => (timer = setTimeout(resolve, ms, IDLE)));
  try {
    return await Promise.race([next, idle]);
  } finally {
    clearTimeout(timer);
  }
}

function formatPosition(p: Position): string {
  return `${p.commit}/${p.prepare}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
