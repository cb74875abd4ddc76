import type { JsonObject } from '../events/types.js';

/** What a key may do. `memory:shared` reads other agents' memories (the seed's shared context); `admin` is every scope. */
export const SCOPES = ['events:read', 'events:append', 'memory:read', 'memory:write', 'memory:shared', 'audit:read', 'admin'] as const;
/** One scope. */
export type Scope = (typeof SCOPES)[number];

/** The kinds of key: an agent acts only as itself; a service is a program of ours; an admin may do anything. */
export const KEY_KINDS = ['agent', 'service', 'admin'] as const;
/** One kind of key. */
export type KeyKind = (typeof KEY_KINDS)[number];

/** Scopes a new key of each kind gets when none are named. */
export const DEFAULT_SCOPES: Record<KeyKind, Scope[]> = {
  agent: ['memory:read', 'memory:write'],
  service: ['events:read', 'events:append'],
  admin: ['admin'],
};

/**
 * Who is calling, as their key says: never what a request header claims. Stamped on every
 * event the call appends and on every audit record it causes.
 */
export interface Principal {
  /** The key's id; null for the anonymous principal. */
  keyId: string | null;
  /** The key's name (an agent key's is its agent id). */
  name: string;
  kind: KeyKind | 'anonymous';
  /** The agent an agent key acts as; null: may act for any agent. */
  agentId: string | null;
  scopes: ReadonlySet<Scope>;
  /** The people the key may touch; null: everyone. */
  tenant: ReadonlySet<string> | null;
}

/** Whether the principal holds `scope` (admin holds every scope). */
export function holds(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has('admin') || principal.scopes.has(scope);
}

/** Whether the principal may touch this person's data (a memory about nobody is nobody's). */
export function inTenant(principal: Principal, userId: string | null): boolean {
  return principal.tenant === null || userId === null || principal.tenant.has(userId);
}

/** The principal as recorded in event metadata (`auren.principal`) and audit records. */
export function principalStamp(principal: Principal): JsonObject {
  return { name: principal.name, kind: principal.kind, key_id: principal.keyId };
}

/** The metadata key the service writes and clients may not: where the principal is stamped. */
export { STAMP_KEY as RESERVED_METADATA_KEY } from '../events/eventStore.js';

/** The principal of every call when anonymous access is configured (AUTH_ANONYMOUS=true): it may do anything. */
export const ANONYMOUS: Principal = {
  keyId: null,
  name: 'anonymous',
  kind: 'anonymous',
  agentId: null,
  scopes: new Set<Scope>(['admin']),
  tenant: null,
};

/** The service itself (expiry sweeper, bootstrap): what its own events are stamped with. */
export const SERVICE_ITSELF: Principal = {
  keyId: null,
  name: 'auren',
  kind: 'service',
  agentId: null,
  scopes: new Set<Scope>(['admin']),
  tenant: null,
};
