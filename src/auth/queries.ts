import { sql } from 'slonik';
import type { QuerySqlToken } from 'slonik';
import { z } from 'zod';
import { KEY_KINDS } from './principal.js';
import type { KeyKind, Scope } from './principal.js';

// Every statement of the auth module, and the rows they return.

/** An api_keys row, without its hash unless asked for. */
export const keyRow = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(KEY_KINDS),
  agent_id: z.string().nullable(),
  scopes: z.array(z.string()),
  tenant: z.array(z.string()).nullable(),
  created_at: z.number(),
  revoked_at: z.number().nullable(),
});

const columns = sql.fragment`id::text, name, kind, agent_id, scopes, tenant, created_at, revoked_at`;

/** A key's row with its hash (base64) and the id of the secret whose pepper made it, for verification. */
export const keyWithHashRow = keyRow.extend({ hash: z.string(), pepper_id: z.string().nullable() });

/** One key by id, with its hash. */
export function keyByIdQuery(id: string): QuerySqlToken<typeof keyWithHashRow> {
  return sql.type(keyWithHashRow)`
    select ${columns}, encode(hash, 'base64') as hash, pepper_id from api_keys where id = ${id}::uuid`;
}

/** Replaces a key's hash with one under the current pepper, unless it changed meanwhile. */
export function rehashKeyQuery(id: string, from: Buffer, to: Buffer, pepperId: string): QuerySqlToken<z.ZodObject<{}>> {
  return sql.type(z.object({}))`
    update api_keys set hash = ${sql.binary(to)}, pepper_id = ${pepperId}
     where id = ${id}::uuid and hash = ${sql.binary(from)}`;
}

/** How many keys (not revoked) each secret's pepper hashed; null: made before pepper ids were kept. */
export const keysByPepperQuery = sql.type(z.object({ pepper_id: z.string().nullable(), keys: z.number() }))`
  select pepper_id, count(*)::int as keys from api_keys where revoked_at is null group by pepper_id order by pepper_id nulls first`;

/** A new key as stored. */
export interface NewKeyRow {
  id: string;
  name: string;
  kind: KeyKind;
  agentId: string | null;
  scopes: Scope[];
  tenant: string[] | null;
  hash: Buffer;
  /** The id of the secret whose pepper made the hash. */
  pepperId: string;
}

/** Inserts a key; `onlyIfNone`: only when the table has no key at all (the first admin key). */
export function insertKeyQuery(key: NewKeyRow, onlyIfNone = false): QuerySqlToken<typeof keyRow> {
  const guard = onlyIfNone ? sql.fragment`where not exists (select 1 from api_keys)` : sql.fragment``;
  return sql.type(keyRow)`
    insert into api_keys (id, name, kind, agent_id, scopes, tenant, hash, pepper_id)
    select ${key.id}::uuid, ${key.name}, ${key.kind}, ${key.agentId}, ${sql.array(key.scopes, 'text')},
           ${key.tenant === null ? null : sql.array(key.tenant, 'text')}, decode(${key.hash.toString('base64')}, 'base64'),
           ${key.pepperId}
    ${guard}
    returning ${columns}`;
}

/** Every key, oldest first. */
export const listKeysQuery = sql.type(keyRow)`select ${columns} from api_keys order by created_at, id`;

/** Revokes a key (once: a revoked key keeps its first revocation time). */
export function revokeKeyQuery(id: string): QuerySqlToken<typeof keyRow> {
  return sql.type(keyRow)`
    update api_keys set revoked_at = coalesce(revoked_at, now()) where id = ${id}::uuid returning ${columns}`;
}

/** Serializes the first-admin-key check of replicas starting together (any fixed number). */
export const firstKeyLockQuery = sql.type(z.object({}).passthrough())`select pg_advisory_xact_lock(7300421552)`;
