import { PermissionDenied } from '../auth/errors.js';
import { holds, inTenant } from '../auth/principal.js';
import type { Caller, Memory } from './model.js';
import type { MemoryFilter } from './queries.js';

// Who may touch which memory. An agent key acts only as its agent: it writes and changes only
// its own memories, and reads another agent's only with the shared-context scope
// (memory:shared; the read's record says so). A key bound to a tenant touches only its people.

/** Refuses a write of `agentId`'s memory about `userId` by a caller that may not make it. */
export function checkWrite(caller: Caller, agentId: string, userId: string | null): void {
  checkTenant(caller, userId);
  if (caller.agentId !== null && caller.agentId !== agentId)
    throw new PermissionDenied(`an agent key for '${caller.agentId}' writes only its own memories, not '${agentId}'s`, userId);
}

/** Refuses a read of `memory` by a caller that may not make it. */
export function checkRead(caller: Caller, memory: Memory): void {
  checkTenant(caller, memory.userId);
  if (caller.agentId !== null && memory.agentId !== caller.agentId && !holds(caller, 'memory:shared'))
    throw new PermissionDenied(
      `an agent key for '${caller.agentId}' reads another agent's memories only with the scope 'memory:shared'`,
      memory.userId,
    );
}

/** A list or search filter narrowed to what the caller may read; a filter naming what it may not is refused. */
export function readableFilter(caller: Caller, filter: MemoryFilter): MemoryFilter {
  let { agentId, userIds } = filter;
  if (caller.agentId !== null && !holds(caller, 'memory:shared')) {
    if (agentId !== null && agentId !== caller.agentId)
      throw new PermissionDenied(
        `an agent key for '${caller.agentId}' reads another agent's memories only with the scope 'memory:shared'`,
        filter.userId,
      );
    agentId = caller.agentId;
  }
  if (caller.tenant !== null) {
    if (filter.userId !== null) checkTenant(caller, filter.userId);
    else userIds = [...caller.tenant];
  }
  return { ...filter, agentId, userIds };
}

// The message names no one: the caller may have asked by a memory's id, not knowing whose it is.
function checkTenant(caller: Caller, userId: string | null): void {
  if (!inTenant(caller, userId)) throw new PermissionDenied('this key may not touch the data of someone outside its tenant', userId);
}
