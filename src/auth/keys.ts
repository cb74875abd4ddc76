import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import type { z } from 'zod';
import { inTransaction } from '../db/transaction.js';
import { InvalidArgument } from '../errors.js';
import { Unauthenticated } from './errors.js';
import { DEFAULT_SCOPES, KEY_KINDS, SCOPES } from './principal.js';
import type { KeyKind, Principal, Scope } from './principal.js';
import { firstKeyLockQuery, insertKeyQuery, keyByIdQuery, listKeysQuery, rehashKeyQuery, revokeKeyQuery } from './queries.js';
import type { DerivedKey } from './secret.js';
import type { keyRow, keyWithHashRow } from './queries.js';

/** A key as listed: everything but its secret, which is never stored. */
export type KeyRecord = z.infer<typeof keyRow>;

/** A key to create. */
export interface NewKey {
  kind: KeyKind;
  /** Default: the agent id for an agent key, else the kind. */
  name?: string;
  /** Required for an agent key, refused for the others. */
  agentId?: string;
  /** Default: DEFAULT_SCOPES of the kind. */
  scopes?: string[];
  /** People the key may touch; absent: everyone. */
  tenant?: string[];
}

/** A key just made: `key` is the secret, shown this once. */
export interface CreatedKey {
  key: string;
  record: KeyRecord;
}

/** API keys: made, listed, revoked, and checked on every call. */
export interface KeyStore {
  create(key: NewKey): Promise<CreatedKey>;
  list(): Promise<KeyRecord[]>;
  /** Revokes a key; at once in this process, within the cache time in the others. */
  revoke(id: string): Promise<KeyRecord>;
  /** The first admin key, when no key exists yet; null otherwise (another replica, or an earlier start, made one). */
  createFirstAdminKey(): Promise<CreatedKey | null>;
  /** The principal a bearer key stands for; Unauthenticated when there is none or it is not valid. */
  authenticate(authorization: string | undefined): Promise<Principal>;
}

/** What the key store needs. */
export interface KeyStoreOptions {
  pool: DatabasePool;
  /**
   * HMAC keys of the stored hashes, derived from the server's current secret (first) and the
   * previous ones: a key hashed under a previous one verifies, and is rehashed under the current.
   */
  peppers: readonly DerivedKey[];
  /** How long a key's row is trusted without reading it again (a revocation elsewhere takes this long). */
  cacheMs: number;
}

// `auren_<key id, 32 hex>_<secret, 32 random bytes in base64url>`: the id finds the row, the
// secret proves the caller holds the key.
const KEY_PATTERN = /^auren_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,199}$/;

const NO_HASH = Buffer.alloc(32);

interface Found {
  hash: Buffer;
  /** The secret whose pepper made the hash; null: unknown (made before ids were kept). */
  pepperId: string | null;
  principal: Principal | 'revoked';
}

function principalOf(row: z.infer<typeof keyWithHashRow>): Principal | 'revoked' {
  if (row.revoked_at !== null) return 'revoked';
  return {
    keyId: row.id,
    name: row.name,
    kind: row.kind,
    agentId: row.agent_id,
    scopes: new Set(row.scopes as Scope[]),
    tenant: row.tenant === null ? null : new Set(row.tenant),
  };
}

/** Creates the key store over the api_keys table. */
export function createKeyStore({ pool, peppers, cacheMs }: KeyStoreOptions): KeyStore {
  // Rows by key id, and the read of a row under way: concurrent first calls of a key share one read.
  const cache = new Map<string, { row: Promise<Found | null>; at: number }>();
  const current = peppers[0]!;

  const hashUnder = (pepper: Buffer, id: string, secret: string) => createHmac('sha256', pepper).update(`${id}:${secret}`).digest();
  const hash = (id: string, secret: string) => hashUnder(current.key, id, secret);

  // The pepper a row's hash was made under: the one it names, else (rows older than pepper ids)
  // each in turn. A row naming a secret this server no longer has matches none.
  function matches(found: Found | null, compact: string, secret: string): DerivedKey | undefined {
    const named = found === null ? [current] : found.pepperId ? peppers.filter((p) => p.secretId === found.pepperId) : peppers;
    // The same work whether the key exists or not, and each comparison in constant time.
    let match: DerivedKey | undefined;
    for (const pepper of named.length > 0 ? named : [current]) {
      const equal = timingSafeEqual(hashUnder(pepper.key, compact, secret), found?.hash ?? NO_HASH);
      if (equal && named.length > 0 && match === undefined) match = pepper;
    }
    return found === null ? undefined : match;
  }

  function mint(input: NewKey): { key: string; row: Parameters<typeof insertKeyQuery>[0] } {
    if (!(KEY_KINDS as readonly string[]).includes(input.kind))
      throw new InvalidArgument('kind', `expects one of ${KEY_KINDS.join(', ')}, got '${input.kind}'`);
    const agentId = input.agentId === undefined || input.agentId === '' ? null : input.agentId;
    if (input.kind === 'agent' && agentId === null) throw new InvalidArgument('agent', 'an agent key needs the agent it acts as');
    if (input.kind !== 'agent' && agentId !== null) throw new InvalidArgument('agent', `only an agent key acts as an agent`);
    if (agentId !== null && !NAME_PATTERN.test(agentId)) throw new InvalidArgument('agent', 'is not a valid agent id');
    const name = input.name ?? agentId ?? input.kind;
    if (!NAME_PATTERN.test(name)) throw new InvalidArgument('name', 'expects 1 to 200 letters, digits or _.:@- (first a letter or digit)');
    // The service's own principals (auren.expiry-sweeper, auren.importer) cannot be impersonated by name.
    if (name.toLowerCase().startsWith('auren'))
      throw new InvalidArgument(agentId === null ? 'name' : 'agent', "names starting with 'auren' are the service's own");
    const scopes = input.scopes ?? DEFAULT_SCOPES[input.kind];
    for (const scope of scopes) {
      if (!(SCOPES as readonly string[]).includes(scope))
        throw new InvalidArgument('scopes', `unknown scope '${scope}'; expects some of ${SCOPES.join(', ')}`);
    }
    const tenant = input.tenant === undefined ? null : [...new Set(input.tenant)];
    if (tenant !== null && tenant.some((person) => !NAME_PATTERN.test(person)))
      throw new InvalidArgument('tenant', 'holds an invalid user id');
    const id = randomUUID();
    const compact = id.replaceAll('-', '');
    const secret = randomBytes(32).toString('base64url');
    return {
      key: `auren_${compact}_${secret}`,
      row: {
        id,
        name,
        kind: input.kind,
        agentId,
        scopes: [...new Set(scopes)] as Scope[],
        tenant,
        hash: hash(compact, secret),
        pepperId: current.secretId,
      },
    };
  }

  function row(id: string): Promise<Found | null> {
    const cached = cache.get(id);
    if (cached && Date.now() - cached.at < cacheMs) return cached.row;
    const read = pool
      .maybeOne(keyByIdQuery(id))
      .then((found) =>
        found ? { hash: Buffer.from(found.hash, 'base64'), pepperId: found.pepper_id, principal: principalOf(found) } : null,
      );
    const entry = { row: read, at: Date.now() };
    cache.set(id, entry);
    // A failed read is not kept: the next call reads again.
    read.catch(() => cache.get(id) === entry && cache.delete(id));
    return read;
  }

  // A key hashed under a previous secret's pepper is hashed again under the current one on use,
  // so that the previous secret can be dropped once every key in use was (auren secret status).
  // The caller is authentic either way: a rehash that fails is tried again on the key's next use.
  async function rehash(id: string, found: Found, fresh: Buffer): Promise<void> {
    try {
      await pool.query(rehashKeyQuery(id, found.hash, fresh, current.secretId));
      cache.delete(id);
    } catch {
      // Left for the next use.
    }
  }

  return {
    async create(input) {
      const { key, row } = mint(input);
      return { key, record: await pool.one(insertKeyQuery(row)) };
    },

    list: () => pool.any(listKeysQuery).then((rows) => [...rows]),

    async revoke(id) {
      if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(id))
        throw new InvalidArgument('id', 'is not a key id');
      const record = await pool.maybeOne(revokeKeyQuery(id));
      cache.delete(record?.id ?? id);
      if (!record) throw new InvalidArgument('id', `no key has the id ${id}`);
      return record;
    },

    async createFirstAdminKey() {
      const { key, row } = mint({ kind: 'admin', name: 'first-admin' });
      const record = await inTransaction(pool, async (tx) => {
        await tx.query(firstKeyLockQuery);
        return tx.maybeOne(insertKeyQuery(row, true));
      });
      return record ? { key, record } : null;
    },

    async authenticate(authorization) {
      if (authorization === undefined) throw new Unauthenticated('no API key was sent');
      const match = /^Bearer ([^\s]+)$/i.exec(authorization.trim());
      if (!match) throw new Unauthenticated("the authorization header is not 'Bearer <key>'");
      const parts = KEY_PATTERN.exec(match[1]!);
      if (!parts) throw new Unauthenticated('the key is not an API key of this service');
      const [, compact, secret] = parts as unknown as [string, string, string];
      const id = `${compact.slice(0, 8)}-${compact.slice(8, 12)}-${compact.slice(12, 16)}-${compact.slice(16, 20)}-${compact.slice(20)}`;
      const found = await row(id);
      const pepper = matches(found, compact, secret);
      if (!pepper || !found) throw new Unauthenticated('the key is not valid');
      if (found.principal === 'revoked') throw new Unauthenticated('the key was revoked');
      if (pepper !== current) await rehash(id, found, hash(compact, secret));
      return found.principal;
    },
  };
}
