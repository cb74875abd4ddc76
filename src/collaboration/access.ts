import { PermissionDenied } from '../auth/errors.js';
import { holds, inTenant } from '../auth/principal.js';
import type { Caller } from '../memory/model.js';

// Who may do what here, by the same rules as memories (src/memory/access.ts): an agent key acts
// only as its own agent, reads what other agents recorded only with memory:shared, and a key
// bound to a tenant touches only its people.

/** Refuses a caller whose key may not touch `userId`'s data. */
export function checkPerson(caller: Caller, userId: string): void {
  if (!inTenant(caller, userId)) throw new PermissionDenied(`this key may not touch the data of '${userId}'`, userId);
}

/** Refuses an agent key acting as another agent than its own (`what`: the request's field). */
export function checkActsAs(caller: Caller, agentId: string, what: string, userId: string | null): void {
  if (caller.agentId !== null && caller.agentId !== agentId)
    throw new PermissionDenied(`an agent key for '${caller.agentId}' acts only as its own agent, not as ${what} '${agentId}'`, userId);
}

/**
 * The agent whose records an agent key may list: its own unless it holds memory:shared (a
 * filter naming another is refused); other keys list what they asked for.
 */
export function readableAgent(caller: Caller, agentId: string | null, userId: string | null): string | null {
  if (caller.agentId === null || holds(caller, 'memory:shared')) return agentId;
  if (agentId !== null && agentId !== caller.agentId)
    throw new PermissionDenied(
      `an agent key for '${caller.agentId}' reads other agents' records only with the scope 'memory:shared'`,
      userId,
    );
  return caller.agentId;
}
