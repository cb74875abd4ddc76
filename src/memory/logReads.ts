import { PermissionDenied } from '../auth/errors.js';
import { holds, inTenant } from '../auth/principal.js';
import { ACCESS_REFUSED } from '../auth/refusals.js';
import type { RefusalLog } from '../auth/refusals.js';
import type { StreamWriter } from '../events/eventStore.js';
import type { RecordedEvent } from '../events/types.js';
import { READ_RECORDS, recordPersonAccess } from './audit.js';
import { accessStream } from './model.js';
import type { Caller } from './model.js';

/**
 * Reads of the log (ReadStream, GetEvent, ReadAll, the tails) that return a person's data go
 * through here, so that no path to it is unaudited. An event is a person's data when it is in
 * one of the service's own streams (memories, access logs, refusals) or its metadata names a
 * user_id. Such events need the scope audit:read (and a tenant-bound key, the person in its
 * tenant), and each read of them is recorded on the person's access stream.
 */
export interface LogReads {
  /**
   * Refuses (PermissionDenied) a read of one of the service's own streams without audit:read, or of
   * the access stream of someone outside a tenant-bound key's tenant, before anything is read: its
   * mere version and times say whether a person exists and how often their data is read.
   */
  checkStream(caller: Caller, streamId: string): void;
  /** Whether the caller may see this event at all. */
  visible(caller: Caller, event: RecordedEvent): boolean;
  /**
   * Whether an event is about nobody and not of the service's own streams: every caller sees it
   * and its read is recorded nowhere, so a tail sends it without a round of withhold and record.
   */
  unrestricted(event: RecordedEvent): boolean;
  /** Refuses (PermissionDenied naming the person) when any event is not visible to the caller. */
  checkVisible(caller: Caller, events: readonly RecordedEvent[]): void;
  /**
   * The events the caller may see. Those it may not (ReadAll and SubscribeToAll skip them rather
   * than refuse the whole read) are left out, and their withholding is recorded as a refusal with
   * reason WITHHELD through the refusal log, which counts repeats rather than writing a record per
   * event or per page. Records of refusals are left out uncounted: a tail would count its own.
   */
  withhold(caller: Caller, events: readonly RecordedEvent[], procedure: string, source: string | undefined): Promise<RecordedEvent[]>;
  /** Records the read of the events about a person, one record per person; answer only once it returned. */
  record(caller: Caller, events: readonly RecordedEvent[], operation: string, signal?: AbortSignal): Promise<void>;
}

/** What the log reads need: the access streams' writer, the service's own stream prefixes, and where withholdings are recorded. */
export interface LogReadsOptions {
  writer: StreamWriter;
  ownPrefixes: () => readonly string[];
  refusals: RefusalLog;
}

/** The reason of the refusal recorded when events are left out of a read of the log. */
export const WITHHELD = 'WITHHELD';

// The prefix of a person's access stream (access-<user id>).
const ACCESS_PREFIX = accessStream('');

/** The person an event is about (metadata.user_id), or null. */
export function personOf(event: RecordedEvent): string | null {
  const userId = event.metadata.user_id;
  return typeof userId === 'string' ? userId : null;
}

/** Creates the audited log reads. */
export function createLogReads({ writer, ownPrefixes, refusals }: LogReadsOptions): LogReads {
  const restricted = (event: RecordedEvent) => personOf(event) !== null || ownPrefixes().some((p) => event.streamId.startsWith(p));

  function visible(caller: Caller, event: RecordedEvent): boolean {
    if (!restricted(event)) return true;
    return holds(caller, 'audit:read') && inTenant(caller, personOf(event));
  }

  return {
    visible,
    unrestricted: (event) => !restricted(event),
    checkStream(caller, streamId) {
      if (!ownPrefixes().some((p) => streamId.startsWith(p))) return;
      const person = streamId.startsWith(ACCESS_PREFIX) ? streamId.slice(ACCESS_PREFIX.length) : null;
      if (!holds(caller, 'audit:read'))
        throw new PermissionDenied(`the service's own streams are read only with the scope 'audit:read' (stream ${streamId})`, person);
      if (!inTenant(caller, person)) throw new PermissionDenied('this key may not read the data of someone outside its tenant', person);
    },
    checkVisible(caller, events) {
      const hidden = events.find((event) => !visible(caller, event));
      if (!hidden) return;
      const person = personOf(hidden);
      throw new PermissionDenied(
        holds(caller, 'audit:read')
          ? 'this key may not read the data of someone outside its tenant'
          : `events of the service's own streams and events about a person are read only with the scope 'audit:read' (event ${hidden.eventId})`,
        person,
      );
    },
    async withhold(caller, events, procedure, source) {
      const shown: RecordedEvent[] = [];
      let withheld = 0;
      for (const event of events) {
        if (visible(caller, event)) shown.push(event);
        else if (event.type !== ACCESS_REFUSED) withheld++;
      }
      if (withheld > 0) {
        await refusals.record({
          procedure,
          principal: caller,
          reason: WITHHELD,
          message: holds(caller, 'audit:read')
            ? "events about people outside this key's tenant were left out"
            : "events of the service's own streams and events about a person were left out: reading them needs the scope 'audit:read'",
          userId: null,
          source: source ?? null,
          events: withheld,
        });
      }
      return shown;
    },
    async record(caller, events, operation, signal) {
      const byPerson = new Map<string, string[]>();
      for (const event of events) {
        const person = personOf(event);
        // A record of a read is not itself recorded when read: a tail would record forever.
        if (person === null || READ_RECORDS.includes(event.type)) continue;
        const ids = byPerson.get(person) ?? [];
        ids.push(event.eventId);
        byPerson.set(person, ids);
      }
      const what = new Map([...byPerson].map(([person, ids]) => [person, { event_ids: ids }]));
      await recordPersonAccess(writer, caller, what, operation, signal);
    },
  };
}
