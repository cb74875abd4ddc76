import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { InvalidArgument } from '../../src/errors.js';
import { noRows } from '../../src/db/pool.js';
import type { JsonObject } from '../../src/events/types.js';
import type { MemoryType } from '../../src/memory/model.js';
import type { Principal, Scope } from '../../src/auth/principal.js';

/** A memory row as a test wants it; what it leaves out gets a plain default. Times are SQL timestamptz text. */
export interface MemoryFixture {
  id?: string;
  agentId?: string;
  userId?: string | null;
  type?: MemoryType;
  content?: JsonObject;
  metadata?: JsonObject;
  confidence?: number;
  /** Default: the insert's clock_timestamp(), so rows inserted one after another are in order. */
  createdAt?: string;
  expiresAt?: string | null;
  deletedAt?: string | null;
  expiredAt?: string | null;
}

/**
 * Inserts memories straight into the table, bypassing the write side (tests of the reads do not
 * depend on it); each gets a random last_event_id. Returns their ids in the order given.
 */
export async function insertMemories(pool: DatabasePool, fixtures: MemoryFixture[]): Promise<string[]> {
  const ids: string[] = [];
  for (const f of fixtures) {
    const id = f.id ?? randomUUID();
    ids.push(id);
    await pool.query(sql.type(noRows)`
      insert into memories (id, agent_id, user_id, type, content, metadata, confidence, created_at, updated_at,
                            expires_at, deleted_at, expired_at, version, last_event_id)
      select ${id}::uuid, ${f.agentId ?? 'agent-fixture'}, ${f.userId === undefined ? 'user-fixture' : f.userId},
             ${f.type ?? 'fact'}, ${JSON.stringify(f.content ?? { text: 'a fixture' })}::jsonb,
             ${JSON.stringify(f.metadata ?? {})}::jsonb, ${f.confidence ?? 0.5}, at, at,
             ${f.expiresAt ?? null}::timestamptz, ${f.deletedAt ?? null}::timestamptz, ${f.expiredAt ?? null}::timestamptz,
             1, ${randomUUID()}::uuid
        from (select coalesce(${f.createdAt ?? null}::timestamptz, clock_timestamp()) as at) t`);
  }
  return ids;
}

/** How insertGenerated spreads its rows. */
export interface GeneratedMemories {
  count: number;
  /** Rows cycle through agent-<prefix>-0 … and user-<prefix>-0 …. */
  prefix: string;
  agents: number;
  users: number;
  /** The first row's created_at; each next group of `tie` rows is 1.001 ms later (so times share milliseconds and differ in microseconds). */
  from: string;
  /** Rows sharing one created_at. */
  tie?: number;
}

// Words of the generated content: health terms, each in about 1 row in 25.
const WORDS = [
  'sleep',
  'magnesium',
  'protein',
  'cortisol',
  'recovery',
  'hydration',
  'glucose',
  'fasting',
  'zinc',
  'iron',
  'vitamin',
  'omega',
  'creatine',
  'caffeine',
  'melatonin',
  'stress',
  'anxiety',
  'mood',
  'focus',
  'heart',
  'running',
  'squat',
  'mobility',
  'posture',
  'breathing',
];

/**
 * Inserts `count` memories in one statement (generate_series): types cycle, confidence runs
 * through 0..0.99, content holds two words of WORDS as text values; one row in 1000 also says
 * 'ashwagandha'. Returns nothing: read them back by prefix.
 */
export async function insertGenerated(pool: DatabasePool, g: GeneratedMemories): Promise<void> {
  await pool.query(sql.type(noRows)`
    insert into memories (id, agent_id, user_id, type, content, metadata, confidence, created_at, updated_at,
                          version, last_event_id)
    select gen_random_uuid(), ${`agent-${g.prefix}-`} || (n % ${g.agents}), ${`user-${g.prefix}-`} || (n % ${g.users}),
           (array['fact', 'analysis', 'recommendation', 'hypothesis', 'insight', 'conversation', 'decision'])[1 + n % 7],
           jsonb_build_object(
             'note', words[1 + n % ${WORDS.length}] || ' and ' || words[1 + (n / 7) % ${WORDS.length}]
                     || case when n % 1000 = 0 then ' ashwagandha' else '' end,
             'n', n),
           '{}'::jsonb, (n % 100) / 100.0, at, at, 1, gen_random_uuid()
      from generate_series(0, ${g.count - 1}) n,
           lateral (select ${g.from}::timestamptz + (n / ${g.tie ?? 1}) * interval '1001 microseconds' as at) t,
           (select ${sql.array(WORDS, 'text')} as words) w`);
}

/** Asserts that a call fails with InvalidArgument naming `field`. */
export async function rejectsInvalid(call: Promise<unknown>, field: string, message?: RegExp): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof InvalidArgument, `expected InvalidArgument, got ${String(error)}`);
    assert.equal(error.field, field);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** A caller of the memory module as an agent key makes it: acts as `agentId` only. */
export function agentCaller(agentId: string, scopes: Scope[] = ['memory:read', 'memory:write'], tenant: string[] | null = null): Principal {
  return { keyId: null, name: agentId, kind: 'agent', agentId, scopes: new Set(scopes), tenant: tenant === null ? null : new Set(tenant) };
}

/** A caller that reads for every agent (a service key with memory:read), named `name`. */
export function serviceCaller(name: string): Principal {
  return { keyId: null, name, kind: 'service', agentId: null, scopes: new Set<Scope>(['memory:read', 'memory:write']), tenant: null };
}
