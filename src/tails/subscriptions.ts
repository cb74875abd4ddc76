import { ResourceExhausted } from '../errors.js';
import type { EventStore } from '../events/eventStore.js';
import { comparePositions, positionAfter, START, logPosition, positionAt } from '../events/types.js';
import type { EventFilter, EventPage, Position, RecordedEvent } from '../events/types.js';
import { checkFilter, checkStreamId } from '../events/validation.js';
import type { LogHead } from './logHead.js';

/** One message of a tail of the whole log. */
export type LogTailMessage =
  | { kind: 'event'; event: RecordedEvent }
  | { kind: 'caught_up'; position: Position }
  | { kind: 'checkpoint'; position: Position };

/** One message of a tail of one stream. */
export type StreamTailMessage = { kind: 'event'; event: RecordedEvent } | { kind: 'caught_up'; version: bigint };

/** Where a tail of the whole log starts: after a position (exclusive), or at the end. */
export type TailStart = { after: Position } | 'end';

/** Options of a tail of the whole log. */
export interface LogTailOptions {
  from: TailStart;
  filter: EventFilter;
  /** A checkpoint every this many scanned events. */
  checkpointInterval: number;
}

/** Live tails of the log: history first, then a caught-up marker, then events as they settle. */
export interface Subscriptions {
  /** Tails the whole log in Position order; ends when `signal` aborts. */
  subscribeToAll(options: LogTailOptions, signal: AbortSignal): AsyncGenerator<LogTailMessage>;
  /** Tails one stream in version order, after `afterVersion`; ends when `signal` aborts. */
  subscribeToStream(streamId: string, afterVersion: bigint, signal: AbortSignal): AsyncGenerator<StreamTailMessage>;
  /** Tails open now. */
  active(): number;
  /** Messages handed to clients' transports since start, over all tails. */
  sent(): number;
}

/** Sizes of the tails, and the signal that ends them all. */
export interface SubscriptionOptions {
  /** Events a subscriber holds at most: one page read from the database or the head. */
  pageSize: number;
  /** Bytes of events a subscriber behind the head's window reads at a time (at least one event). */
  pageMaxBytes: number;
  /** Tails open at once; another is refused with RESOURCE_EXHAUSTED. */
  maxTails: number;
  /** Aborted when the service stops: every tail ends. */
  shutdown: AbortSignal;
}

/**
 * Creates the tails. Each subscriber pulls: while its client takes one page of history, the
 * next is read from the database (so PostgreSQL's read and the server's sending overlap), and
 * no further, so a slow client holds at most two pages on the server and the transport's flow
 * control stops the reads. A subscriber within the head's window reads from memory; one
 * behind it reads settled events from the database.
 */
export function createSubscriptions(store: EventStore, head: LogHead, options: SubscriptionOptions): Subscriptions {
  let active = 0;
  let sent = 0;

  // Counts a tail and attaches it to the head until it ends. A tail suspended at a yield whose
  // client went away may never be resumed by the transport, so the end is also taken from the
  // abort itself: the count and the head are freed at once either way.
  async function open(clientSignal: AbortSignal): Promise<{ signal: AbortSignal; close: () => void }> {
    if (active >= options.maxTails) {
      throw new ResourceExhausted(
        'TOO_MANY_TAILS',
        `${options.maxTails} tails are open, the most this server holds (MAX_TAILS); retry later`,
        {
          max_tails: String(options.maxTails),
        },
      );
    }
    active++;
    const { signal, release } = either(clientSignal, options.shutdown);
    let detach: () => void;
    try {
      detach = await head.attach();
    } catch (error) {
      active--;
      release();
      throw error;
    }
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      signal.removeEventListener('abort', close);
      active--;
      release();
      detach();
    };
    signal.addEventListener('abort', close, { once: true });
    return { signal, close };
  }

  async function* subscribeToAll(tail: LogTailOptions, clientSignal: AbortSignal): AsyncGenerator<LogTailMessage> {
    checkFilter(tail.filter);
    const matches = matcher(tail.filter);
    const { signal, close } = await open(clientSignal);
    try {
      // `cursor` is the inclusive next position; `reached` the exclusive resume token.
      let cursor = tail.from === 'end' ? head.next() : positionAfter(tail.from.after);
      let reached = tail.from === 'end' ? before(cursor) : tail.from.after;
      let caughtUp = false;
      let scanned = 0;
      const history = readAhead(
        (from) => store.readLog(positionAt(from), options.pageSize, options.pageMaxBytes),
        (last) => logPosition(last.position) + 1n,
      );
      while (!signal.aborted) {
        const waitFor = head.changed();
        let page = head.read(cursor, options.pageSize);
        if (page === 'behind') {
          page = (await history.page(logPosition(cursor))).events;
          // Nothing from the cursor on, yet the window starts later: nothing lies between.
          if (page.length === 0 && comparePositions(cursor, head.floor()) < 0) cursor = head.floor();
        }
        if (page.length === 0) {
          if (!caughtUp) {
            caughtUp = true;
            sent++;
            yield { kind: 'caught_up', position: reached };
          }
          await until(waitFor, signal);
          continue;
        }
        for (const event of page) {
          cursor = positionAfter(event.position);
          reached = event.position;
          scanned++;
          if (matches(event)) {
            sent++;
            yield { kind: 'event', event };
          }
          if (scanned % tail.checkpointInterval === 0) {
            sent++;
            yield { kind: 'checkpoint', position: reached };
          }
        }
      }
    } finally {
      close();
    }
  }

  async function* subscribeToStream(streamId: string, afterVersion: bigint, clientSignal: AbortSignal): AsyncGenerator<StreamTailMessage> {
    checkStreamId('stream_id', streamId);
    const { signal, close } = await open(clientSignal);
    try {
      let version = afterVersion;
      let caughtUp = false;
      const history = readAhead(
        (from) => store.readStreamEvents(streamId, from, options.pageSize, options.pageMaxBytes),
        (last) => last.version + 1n,
      );
      while (!signal.aborted) {
        const seen = head.published();
        // Versions of one stream commit in order (appends hold the stream's row lock until
        // commit), so reading past the last version delivered never skips one.
        const { events, more } = await history.page(version + 1n);
        for (const event of events) {
          version = event.version;
          sent++;
          yield { kind: 'event', event };
        }
        if (more) continue;
        if (!caughtUp) {
          caughtUp = true;
          sent++;
          yield { kind: 'caught_up', version };
        }
        await untilStreamChanges(streamId, seen, signal);
      }
    } finally {
      close();
    }
  }

  // Waits until the head publishes an event of the stream after the `seen`-th publication.
  async function untilStreamChanges(streamId: string, seen: number, signal: AbortSignal): Promise<void> {
    let count = seen;
    while (!signal.aborted) {
      const changed = head.changed();
      const missed = head.since(count);
      if (missed === 'unknown' || missed.some((event) => event.streamId === streamId)) return;
      count += missed.length;
      await until(changed, signal);
    }
  }

  return { subscribeToAll, subscribeToStream, active: () => active, sent: () => sent };
}

/**
 * Pages of history read one ahead: a full page starts the read of the page after it (from
 * `after` its last event: a log position or a stream version) at once, which the next call takes
 * if it asks for that page (else it is dropped, as when the tail reached the head's window and
 * reads from memory instead).
 */
export function readAhead(read: (from: bigint) => Promise<EventPage>, after: (last: RecordedEvent) => bigint) {
  let ahead: { from: bigint; page: Promise<EventPage> } | undefined;
  async function page(from: bigint): Promise<EventPage> {
    const next = ahead?.from === from ? ahead.page : read(from);
    ahead = undefined;
    const result = await next;
    const last = result.events.at(-1);
    if (result.more && last) {
      const following = after(last);
      ahead = { from: following, page: read(following) };
      // Its failure is the next call's to report, if there is one.
      ahead.page.catch(() => undefined);
    }
    return result;
  }
  return { page };
}

/** The position just before an inclusive start, as an exclusive resume token. */
function before(p: Position): Position {
  return logPosition(p) > 0n ? positionAt(logPosition(p) - 1n) : START;
}

function matcher(filter: EventFilter): (event: RecordedEvent) => boolean {
  const types = filter.eventTypes.length > 0 ? new Set(filter.eventTypes) : undefined;
  const prefixes = filter.streamIdPrefixes;
  return (event) =>
    (!types || types.has(event.type)) && (prefixes.length === 0 || prefixes.some((prefix) => event.streamId.startsWith(prefix)));
}

// A signal aborted when either is, and the release of its listeners.
function either(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (a.aborted || b.aborted) abort();
  a.addEventListener('abort', abort, { once: true });
  b.addEventListener('abort', abort, { once: true });
  return {
    signal: controller.signal,
    release: () => {
      a.removeEventListener('abort', abort);
      b.removeEventListener('abort', abort);
    },
  };
}

// Waits for `changed` or the abort, whichever comes first. (Not Promise.race with one
// long-lived abort promise: every race would leave a reaction on it for the tail's lifetime.)
function until(changed: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    void changed.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
