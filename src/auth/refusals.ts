import type { StreamWriter } from '../events/eventStore.js';
import type { JsonObject } from '../events/types.js';
import type { Logger } from '../log.js';
import { principalStamp, RESERVED_METADATA_KEY } from './principal.js';
import type { Principal } from './principal.js';

/** A call refused for who made it: recorded, like every read of a person's data. */
export interface Refusal {
  /** The RPC, as `Service/Method`. */
  procedure: string;
  /** The caller, when its key was valid. */
  principal: Principal | null;
  /** The error's reason (UNAUTHENTICATED, PERMISSION_DENIED, MISSING_SCOPE). */
  reason: string;
  message: string;
  /** The person the call would have touched; null when none is known. */
  userId: string | null;
}

/** Records refusals. */
export interface RefusalLog {
  /** Appends the refusal's event; a failure is logged, never thrown: the caller is refused either way. */
  record(refusal: Refusal): Promise<void>;
}

/** The stream of refusals that touch nobody in particular (no key, a missing scope). */
export const REFUSALS_STREAM = 'auren-refusals';
/** The stream-id prefix the auth module writes (the service's own: clients' streams rarely start so). */
export const AUTH_STREAM_PREFIXES = ['auren-'] as const;
/** The type of a refusal's event. */
export const ACCESS_REFUSED = 'access_refused';

/** What the refusal log writes with. */
export interface RefusalLogOptions {
  /** The writer of the auth- streams. */
  own: StreamWriter;
  /** The writer of the people's access streams, and the stream of one person: a refusal about someone goes on their audit trail. */
  people: StreamWriter;
  personStream: (userId: string) => string;
  log: Logger;
}

/** Creates the refusal log. */
export function createRefusalLog({ own, people, personStream, log }: RefusalLogOptions): RefusalLog {
  return {
    async record(refusal) {
      const principal = refusal.principal === null ? null : principalStamp(refusal.principal);
      const data: JsonObject = {
        procedure: refusal.procedure,
        reason: refusal.reason,
        message: refusal.message,
        principal,
        user_id: refusal.userId,
      };
      const metadata: JsonObject = { [RESERVED_METADATA_KEY]: { principal } };
      try {
        if (refusal.userId === null)
          await own.appendEach([{ streamId: REFUSALS_STREAM, events: [{ type: ACCESS_REFUSED, data, metadata }] }]);
        else
          await people.appendEach([
            {
              streamId: personStream(refusal.userId),
              events: [{ type: ACCESS_REFUSED, data, metadata: { ...metadata, user_id: refusal.userId } }],
            },
          ]);
      } catch (error) {
        log.warn({ err: error, procedure: refusal.procedure, reason: refusal.reason }, 'could not record a refused call');
      }
    },
  };
}
