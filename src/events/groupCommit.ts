import { sql } from 'slonik';
import { randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import type { z } from 'zod';
import { isDatabaseUnavailable, noRows, sqlStateOf } from '../db/pool.js';
import { Cancelled, DatabaseUnavailable, DeadlineExceeded, DomainError } from '../errors.js';
import type { Logger } from '../log.js';
import { appendBatchQuery, batchTagPattern } from './queries.js';
import type { appendOutcomeRow, BatchAppend, Notification } from './queries.js';
import type { ChainPads } from './chain.js';

/** Appends waiting for their batch: usually one; several are committed together or not at all. */
export interface QueuedAppend {
  appends: BatchAppend[];
  /** Aborted when the caller gives up (its client left, its deadline passed). */
  signal?: AbortSignal | undefined;
}

/** What append_batch() answered for one append. */
export type AppendOutcome = z.infer<typeof appendOutcomeRow>;

/** Appends that arrive together, committed together. */
export interface GroupCommit {
  /** Queues appends; resolves with their outcomes, in order, once their batch committed. */
  submit(queued: QueuedAppend): Promise<AppendOutcome[]>;
  /** Commits what is queued, then stops; later appends are refused as unavailable. */
  stop(): Promise<void>;
  /** Counts since start, for metrics and tests. */
  stats(): GroupCommitStats;
}

/** What the group commit has done so far. */
export interface GroupCommitStats {
  /** Statements sent, each one commit. */
  batches: number;
  /** Appends committed (or refused) in them. */
  appends: number;
  /** Appends waiting now, in the queue or in the batch being sent. */
  queued: number;
}

/** Options of the group commit. */
export interface GroupCommitOptions {
  pool: DatabasePool;
  log: Logger;
  /** A batch takes appends until it holds this many events (at least one append). */
  maxBatchEvents: number;
  /** The hash-chain key's pads, handed to every batch (events/chain.ts); absent: events get no hash. */
  chain?: ChainPads | undefined;
  /**
   * Runs after each batch that appended anything committed, with the batch's appends and their
   * outcomes, index for index, and whether the batch sent the notification `notify` gave it.
   */
  afterCommit: (appends: readonly BatchAppend[], outcomes: readonly AppendOutcome[], notified: boolean) => void;
  /** Asked before each batch: a NOTIFY its transaction sends at commit, or none. */
  notify?: () => Notification | undefined;
}

interface Member extends QueuedAppend {
  resolve(outcomes: AppendOutcome[]): void;
  reject(error: unknown): void;
  /** Sent alone after its batch failed as a whole, so that its failure is its own. */
  alone: boolean;
  removeAbortListener(): void;
}

// What pg_notify() raises: the queue full (54000, at commit), a payload or channel too long (22023).
const NOTIFY_FAILURES = ['54000', '22023'];
const NOTIFY_PAUSE_MS = 60_000;

/**
 * Starts the group commit: each batch is one append_batch() statement, which commits on its own. Appends that arrive while a batch commits wait for the
 * next one, so a lone append goes at once and concurrent ones share a commit; the log's counter
 * (sql/001_event_store.sql) serializes appending transactions anyway, so one batch at a time
 * loses nothing. Each append keeps its own outcome. An append whose caller gives up before its
 * batch is sent is never written; during its batch, the batch is cancelled and the others are
 * sent again.
 */
export function createGroupCommit(options: GroupCommitOptions): GroupCommit {
  const { pool, log } = options;
  const queue: Member[] = [];
  let inFlight: Member[] = [];
  let stopped = false;
  let running: Promise<void> | undefined;
  let cancelling: Promise<unknown> | undefined;
  let inFlightTag = '';
  // Until then batches carry no NOTIFY: one made a batch fail (see send).
  let notifyAgainAt = 0;
  let batches = 0;
  let appends = 0;

  function take(): Member[] {
    const batch: Member[] = [];
    let events = 0;
    while (queue.length > 0 && events < options.maxBatchEvents) {
      const next = queue[0]!;
      if (next.alone && batch.length > 0) break;
      batch.push(queue.shift()!);
      for (const append of next.appends) events += append.events.length;
      if (next.alone) break;
    }
    return batch;
  }

  // A caller that gives up: out of the queue, or its batch cancelled.
  function abandon(member: Member): void {
    const at = queue.indexOf(member);
    if (at >= 0) {
      queue.splice(at, 1);
      member.reject(abortError(member.signal!));
      return;
    }
    if (inFlight.includes(member) && !cancelling) {
      // The running statement is found by its tag: whichever connection the pool gave it.
      cancelling = pool
        .query(
          sql.type(noRows)`
        select pg_cancel_backend(pid) from pg_stat_activity
         where datname = current_database() and state = 'active' and query like ${batchTagPattern(inFlightTag)}`,
        )
        .catch((error: unknown) => log.warn({ err: error }, 'cancelling an append batch failed'));
    }
  }

  async function send(batch: Member[]): Promise<void> {
    inFlight = batch;
    inFlightTag = randomUUID();
    const notification = Date.now() >= notifyAgainAt ? options.notify?.() : undefined;
    let rows: readonly AppendOutcome[];
    try {
      rows = await pool.any(
        appendBatchQuery(
          batch.flatMap((m) => m.appends),
          inFlightTag,
          options.chain,
          notification,
        ),
      );
    } catch (error) {
      inFlight = [];
      await settleCancel();
      if (notification && NOTIFY_FAILURES.includes(sqlStateOf(error) ?? '')) {
        // The NOTIFY only wakes other processes' tails sooner (they poll too): it never fails an
        // append. Seen when PostgreSQL's notification queue is full (a listener somewhere on the
        // server stopped reading): the batch goes again without it, and for a while batches
        // carry none (afterCommit is told, so the wake-up is sent apart, as it may fail).
        log.warn({ err: error }, 'a NOTIFY in an append batch failed: batches go without it for a minute');
        notifyAgainAt = Date.now() + NOTIFY_PAUSE_MS;
        fail(batch, error, true);
        return;
      }
      fail(batch, error);
      return;
    }
    inFlight = [];
    await settleCancel();
    batches++;
    appends += rows.length;
    let next = 0;
    if (rows.some((row) => row.outcome === 'appended')) {
      options.afterCommit(
        batch.flatMap((m) => m.appends),
        rows,
        notification !== undefined,
      );
    }
    for (const member of batch) {
      member.removeAbortListener();
      member.resolve(rows.slice(next, next + member.appends.length));
      next += member.appends.length;
    }
  }

  // A late cancel must not reach the next batch: wait until it was delivered.
  async function settleCancel(): Promise<void> {
    const pending = cancelling;
    cancelling = undefined;
    await pending;
  }

  function fail(batch: Member[], error: unknown, resend = false): void {
    const unavailable = isDatabaseUnavailable(error);
    const cancelled = sqlStateOf(error) === '57014';
    const requeue: Member[] = [];
    for (const member of batch) {
      if (member.signal?.aborted) {
        member.removeAbortListener();
        member.reject(abortError(member.signal));
      } else if (unavailable) {
        member.removeAbortListener();
        member.reject(new DatabaseUnavailable(error));
      } else if (resend || cancelled || batch.length > 1) {
        // Cancelled for a neighbour, failed as a whole (sent again alone), or only its NOTIFY
        // failed (sent again as it was).
        if (!resend) member.alone = !cancelled;
        requeue.push(member);
      } else {
        member.removeAbortListener();
        member.reject(error);
      }
    }
    queue.unshift(...requeue);
  }

  // One batch at a time, while there is work: the log's counter serializes appending
  // transactions anyway, and whatever arrives meanwhile makes the next batch.
  async function run(): Promise<void> {
    try {
      while (queue.length > 0) await send(take());
    } catch (error) {
      log.error({ err: error }, 'the group commit failed');
    } finally {
      running = undefined;
    }
  }

  return {
    submit(queued) {
      return new Promise<AppendOutcome[]>((resolve, reject) => {
        if (stopped) return reject(new DatabaseUnavailable(new Error('the server is stopping')));
        if (queued.signal?.aborted) return reject(abortError(queued.signal));
        const onAbort = () => abandon(member);
        const member: Member = {
          ...queued,
          resolve,
          reject,
          alone: false,
          removeAbortListener: () => queued.signal?.removeEventListener('abort', onAbort),
        };
        queued.signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(member);
        running ??= run();
      });
    },
    stats: () => ({ batches, appends, queued: queue.length + inFlight.length }),
    async stop() {
      stopped = true;
      await running;
      for (const member of queue.splice(0)) member.reject(new DatabaseUnavailable(new Error('the server is stopping')));
    },
  };
}

/** The error of a caller that gave up: its signal's reason when it is one of ours. */
export function abortError(signal: AbortSignal): DomainError {
  const reason: unknown = signal.reason;
  if (reason instanceof DomainError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new DeadlineExceeded();
  return new Cancelled();
}
