import type { StreamWriter } from '../events/eventStore.js';
import type { JsonObject, ProposedEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import { principalStamp, RESERVED_METADATA_KEY } from './principal.js';
import type { Principal } from './principal.js';

/** A call refused for who made it: recorded, like every read of a person's data. */
export interface Refusal {
  /** The RPC, as `Service/Method`. */
  procedure: string;
  /** The caller, when its key was valid. */
  principal: Principal | null;
  /** The error's reason (UNAUTHENTICATED, PERMISSION_DENIED, MISSING_SCOPE, WITHHELD). */
  reason: string;
  message: string;
  /** The person the call would have touched; null when none is known. */
  userId: string | null;
  /** The client's address, as the listener saw it; null when unknown. */
  source: string | null;
  /** Events left out of an answer (reason WITHHELD): counted with the refusal. */
  events?: number;
}

/** What the refusal log has counted since the start, for /metrics. */
export interface RefusalTally {
  /** Refused calls, by reason. */
  refused: ReadonlyMap<string, number>;
  /** Refusals in no record of their own: `overflow` (more kinds in a window than the table holds: only counted), `failed` (a write failed). */
  unrecorded: { overflow: number; failed: number };
}

/**
 * Records refusals without letting a flood of them flood the log. The first refusal of each kind
 * (source address, RPC, reason, message, key, person) in a window is written at once; repeats in
 * the window are counted and written as one record with their count when the window ends. Kinds
 * are held in a bounded table: past its size, new kinds are counted per reason only.
 */
export interface RefusalLog {
  /** Records (or counts) a refusal; a failure is logged, never thrown: the caller is refused either way. */
  record(refusal: Refusal): Promise<void>;
  /** Writes the counts of repeats and overflow gathered so far, and starts a new window. */
  flush(): Promise<void>;
  /** Counts since the start. */
  tally(): RefusalTally;
  /** Stops the window's timer and writes what it counted. */
  stop(): Promise<void>;
}

/** The stream of refusals that touch nobody in particular (no key, a missing scope). */
export const REFUSALS_STREAM = 'auren-refusals';
/** The stream-id prefix the auth module writes (the service's own: clients' streams rarely start so). */
export const AUTH_STREAM_PREFIXES = ['auren-'] as const;
/** The type of a refusal's event. */
export const ACCESS_REFUSED = 'access_refused';

/** What the refusal log writes with, and how much it holds. */
export interface RefusalLogOptions {
  /** The writer of the auth- streams. */
  own: StreamWriter;
  /** The writer of the people's access streams, and the stream of one person: a refusal about someone goes on their audit trail. */
  people: StreamWriter;
  personStream: (userId: string) => string;
  log: Logger;
  /** Length of a window (REFUSAL_WINDOW_MS): a kind of refusal is written once per window, with the count of its repeats. */
  windowMs: number;
  /** Kinds of refusal one window holds (REFUSAL_KINDS_MAX). */
  maxKinds: number;
}

interface Kind {
  refusal: Refusal;
  /** Repeats after the first, and the events they withheld. */
  repeats: number;
  events: number;
  firstRepeat: number;
  lastRepeat: number;
}

/** Creates the refusal log and starts its window's timer. */
export function createRefusalLog({ own, people, personStream, log, windowMs, maxKinds }: RefusalLogOptions): RefusalLog {
  let kinds = new Map<string, Kind>();
  // Past maxKinds: refusals counted by reason only (their source and key are not kept).
  let overflow = new Map<string, { calls: number; events: number }>();
  const refused = new Map<string, number>();
  const unrecorded = { overflow: 0, failed: 0 };

  async function write(refusal: Refusal, count: JsonObject): Promise<void> {
    const principal = refusal.principal === null ? null : principalStamp(refusal.principal);
    const data: JsonObject = {
      procedure: refusal.procedure,
      reason: refusal.reason,
      message: refusal.message,
      principal,
      user_id: refusal.userId,
      source: refusal.source,
      ...count,
    };
    const event: ProposedEvent = { type: ACCESS_REFUSED, data, metadata: { [RESERVED_METADATA_KEY]: { principal } } };
    if (refusal.userId === null) await own.appendEach([{ streamId: REFUSALS_STREAM, events: [event] }]);
    else
      await people.appendEach([
        { streamId: personStream(refusal.userId), events: [{ ...event, metadata: { ...event.metadata, user_id: refusal.userId } }] },
      ]);
  }

  async function writeOrWarn(refusal: Refusal, count: JsonObject, calls: number): Promise<void> {
    try {
      await write(refusal, count);
    } catch (error) {
      unrecorded.failed += calls;
      log.warn({ err: error, procedure: refusal.procedure, reason: refusal.reason, calls }, 'could not record refused calls');
    }
  }

  async function flush(): Promise<void> {
    const ended = kinds;
    const overflowed = overflow;
    kinds = new Map();
    overflow = new Map();
    const writes: Promise<void>[] = [];
    for (const kind of ended.values()) {
      if (kind.repeats === 0) continue;
      const count: JsonObject = {
        count: kind.repeats,
        repeated: true,
        first_at: new Date(kind.firstRepeat).toISOString(),
        last_at: new Date(kind.lastRepeat).toISOString(),
        ...(kind.events > 0 && { withheld_events: kind.events }),
      };
      writes.push(writeOrWarn(kind.refusal, count, kind.repeats));
    }
    for (const [reason, { calls, events }] of overflowed) {
      const refusal: Refusal = {
        procedure: '*',
        principal: null,
        reason,
        message: `more kinds of refusal in one window than REFUSAL_KINDS_MAX (${maxKinds}): these were counted only`,
        userId: null,
        source: null,
      };
      writes.push(writeOrWarn(refusal, { count: calls, overflow: true, ...(events > 0 && { withheld_events: events }) }, calls));
    }
    await Promise.all(writes);
  }

  const timer = setInterval(() => void flush(), windowMs);
  timer.unref();

  return {
    async record(refusal) {
      refused.set(refusal.reason, (refused.get(refusal.reason) ?? 0) + 1);
      const events = refusal.events ?? 0;
      const key = JSON.stringify([
        refusal.source,
        refusal.procedure,
        refusal.reason,
        refusal.message,
        refusal.principal?.keyId ?? null,
        refusal.userId,
      ]);
      const kind = kinds.get(key);
      if (kind) {
        const now = Date.now();
        if (kind.repeats === 0) kind.firstRepeat = now;
        kind.repeats++;
        kind.events += events;
        kind.lastRepeat = now;
        return;
      }
      if (kinds.size >= maxKinds) {
        const counted = overflow.get(refusal.reason) ?? { calls: 0, events: 0 };
        counted.calls++;
        counted.events += events;
        overflow.set(refusal.reason, counted);
        unrecorded.overflow++;
        return;
      }
      kinds.set(key, { refusal, repeats: 0, events: 0, firstRepeat: 0, lastRepeat: 0 });
      await writeOrWarn(refusal, { count: 1, ...(events > 0 && { withheld_events: events }) }, 1);
    },
    flush,
    tally: () => ({ refused, unrecorded: { ...unrecorded } }),
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
