import type { EventStore } from '../events/eventStore.js';
import { comparePositions, positionAfter } from '../events/types.js';
import type { Position, RecordedEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import type { Wakeups } from './wakeups.js';

/**
 * The head of the log, read once per process for every live tail: on each wake-up one reader
 * fetches the new events and keeps the most recent ones in a bounded window that
 * live subscribers read from memory. A subscriber behind the window reads the database itself.
 */
export interface LogHead {
  /** Inclusive position the head reads next: every event before it has been read. */
  next(): Position;
  /**
   * Up to `max` buffered events at or after `from`, in order; 'behind' when `from` lies
   * before the window (events there must be read from the database).
   */
  read(from: Position, max: number): RecordedEvent[] | 'behind';
  /** Start of the window: reads from here on are served from memory. */
  floor(): Position;
  /** Count of events published so far; with `since` it tells a waiter what it missed. */
  published(): number;
  /** Events published after the first `count`, or 'unknown' when they left the window. */
  since(count: number): RecordedEvent[] | 'unknown';
  /** Resolves at the next publication (or at once if stopped). */
  changed(): Promise<void>;
  /** Number of events held in memory. */
  buffered(): number;
  /**
   * Registers a live tail: while none is registered the head reads nothing (appends then cost
   * no reads); the first one waits until the head has caught up. Returns the release.
   */
  attach(): Promise<() => void>;
  stop(): void;
}

/** Options of the log head. */
export interface LogHeadOptions {
  store: EventStore;
  wakeups: Wakeups;
  log: Logger;
  /** Most events kept in memory. */
  windowSize: number;
  /** Most bytes of events (data and metadata as JSON) kept in memory. */
  windowMaxBytes: number;
  /** Events read per query. */
  pageSize: number;
  /** Most bytes of events read per query (at least one event). */
  pageMaxBytes: number;
  /** A read every this many ms even without a wake-up: covers lost notifications. */
  pollMs: number;
}

/**
 * Least time between the starts of two reads of the head: one read per wake-up would be one per
 * commit. Live tails and consumers see an event up to this much later.
 */
const MIN_READ_INTERVAL_MS = 10;

/** Starts the head at the current end of the log. */
export async function startLogHead(options: LogHeadOptions): Promise<LogHead> {
  const { store, log } = options;
  let next = await store.logEnd();
  let floor = next;
  let window: RecordedEvent[] = [];
  let windowBytes = 0;
  let publishedCount = 0;
  let stopped = false;
  let reading = false;
  let readAgain = false;
  let failing = false;
  let attached = 0;
  let stale = false;
  let notifyChanged: () => void = () => {};
  let changed = new Promise<void>((resolve) => (notifyChanged = resolve));

  const publish = (events: RecordedEvent[]) => {
    window.push(...events);
    for (const event of events) windowBytes += event.size ?? 0;
    publishedCount += events.length;
    if (window.length > options.windowSize || windowBytes > options.windowMaxBytes) {
      // Drop the oldest in one go, keeping a margin of both bounds so this is not done on every publish.
      let drop = Math.max(0, window.length - Math.floor(options.windowSize * 0.9));
      let bytes = windowBytes;
      for (let i = 0; i < drop; i++) bytes -= window[i]!.size ?? 0;
      while (drop < window.length - 1 && bytes > options.windowMaxBytes * 0.9) bytes -= window[drop++]!.size ?? 0;
      if (drop > 0) {
        floor = positionAfter(window[drop - 1]!.position);
        window = window.slice(drop);
        windowBytes = bytes;
      }
    }
    const resolve = notifyChanged;
    changed = new Promise<void>((r) => (notifyChanged = r));
    resolve();
  };

  // Wake-ups coalesced: a read starts at most every MIN_READ_INTERVAL_MS; the wake-ups that come
  // sooner are served by one read when the interval is over. Every commit wakes the head, its
  // own audit records' included: without this, a busy server read the log once per commit.
  let readAt = 0;
  let delayed: NodeJS.Timeout | undefined;
  async function readNewEvents(now = false): Promise<void> {
    if (attached === 0) {
      stale = true;
      return;
    }
    if (reading) {
      readAgain = true;
      return;
    }
    const wait = readAt + MIN_READ_INTERVAL_MS - Date.now();
    if (wait > 0 && !now) {
      delayed ??= setTimeout(() => {
        delayed = undefined;
        void readNewEvents();
      }, wait);
      return;
    }
    reading = true;
    readAt = Date.now();
    readAgain = false;
    try {
      for (;;) {
        const { events, more } = await store.readLog(next, options.pageSize, options.pageMaxBytes);
        if (events.length > 0) {
          next = positionAfter(events.at(-1)!.position);
          publish(events);
        }
        if (!more) break;
      }
      if (failing) log.info('reading the head of the log works again');
      failing = false;
    } catch (error) {
      // Said once per outage; the database probe reports the outage itself.
      if (!failing) log.warn({ err: error }, 'reading the head of the log failed; retrying at the next poll');
      failing = true;
    } finally {
      reading = false;
    }
    if (readAgain && !stopped) void readNewEvents();
  }

  const removeWakeListener = options.wakeups.onWake(() => void readNewEvents());
  const poll = setInterval(() => void readNewEvents(), options.pollMs);
  poll.unref();

  const indexOf = (from: Position) => {
    let low = 0;
    let high = window.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (comparePositions(window[mid]!.position, from) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  };

  return {
    next: () => next,
    floor: () => floor,
    read(from, max) {
      if (comparePositions(from, floor) < 0) return 'behind';
      const start = indexOf(from);
      return window.slice(start, start + max);
    },
    published: () => publishedCount,
    since(count) {
      const missed = publishedCount - count;
      if (missed > window.length) return 'unknown';
      return window.slice(window.length - missed);
    },
    changed: () => (stopped ? Promise.resolve() : changed),
    buffered: () => window.length,
    async attach() {
      attached++;
      if (stale) {
        // Idle meanwhile: rather than read everything appended since, start the window at
        // the current end; tails behind it read the database, as they would anyway.
        stale = false;
        const end = await store.logEnd();
        if (comparePositions(end, next) > 0) {
          next = end;
          floor = end;
          window = [];
          windowBytes = 0;
        }
        await readNewEvents(true);
      }
      let released = false;
      return () => {
        if (!released) attached--;
        released = true;
      };
    },
    stop() {
      stopped = true;
      clearInterval(poll);
      clearTimeout(delayed);
      removeWakeListener();
      notifyChanged();
    },
  };
}
