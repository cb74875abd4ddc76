// The cost of the read audit, measured beside the server: the read GetMemory makes, alone, and
// with the memory_retrieved append the server makes in the same transaction, straight from pg.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { closedLoop } from './loop.js';
import type { LoopResult } from './loop.js';

/** The row GetMemory reads (src/memory/queries.ts getQuery), as the server writes it. */
export const GET_SQL = `
  select id::text, agent_id, user_id, type, content, metadata, confidence, created_at, updated_at,
         expires_at, deleted_at, expired_at, version, last_event_id::text,
         not (expired_at is null and (expires_at is null or expires_at > now())) as expired_now
    from memories where id = $1::uuid and deleted_at is null`;

// What src/memory/audit.ts appends for a GetMemory: one event on the person's access stream.
const APPEND_SQL = `select * from append_to_stream($1, 'any', 0, $2::jsonb)`;

export type AuditVariant = 'select' | 'transaction' | 'audited' | 'audited-async';

export const AUDIT_VARIANTS: Record<AuditVariant, string> = {
  select: 'select alone (autocommit)',
  transaction: 'BEGIN; select; COMMIT',
  audited: 'BEGIN; select; append_to_stream(memory_retrieved); COMMIT',
  'audited-async': 'the same with synchronous_commit = off (comparison only)',
};

export interface AuditResult {
  variant: AuditVariant;
  result: LoopResult;
}

/** Sequential, one connection per variant, random ids from `ids`. */
export async function measureAuditCost(
  url: string,
  ids: string[],
  caller: string,
  warmupMs: number,
  measureMs: number,
  variants: AuditVariant[] = ['select', 'transaction', 'audited', 'audited-async'],
): Promise<AuditResult[]> {
  const results: AuditResult[] = [];
  for (const variant of variants) {
    const client = new pg.Client({
      connectionString: url,
      ...(variant === 'audited-async' ? { options: '-c synchronous_commit=off' } : {}),
    });
    await client.connect();
    try {
      const result = await closedLoop({
        clients: 1,
        warmupMs,
        measureMs,
        op: async () => {
          const id = ids[Math.floor(Math.random() * ids.length)]!;
          if (variant === 'select') {
            const { rows } = await client.query(GET_SQL, [id]);
            if (rows.length !== 1) throw new Error(`memory ${id} not found`);
            return;
          }
          await client.query('begin');
          try {
            const { rows } = await client.query<{ user_id: string }>(GET_SQL, [id]);
            const userId = rows[0]?.user_id;
            if (!userId) throw new Error(`memory ${id} not found`);
            if (variant !== 'transaction') {
              const event = {
                event_id: randomUUID(),
                type: 'memory_retrieved',
                data: { caller, user_id: userId, operation: 'get_memory', memory_ids: [id], query: { id, include_expired: false } },
                metadata: { user_id: userId, caller },
                correlation_id: null,
                causation_id: null,
              };
              const appended = await client.query<{ outcome: string }>(APPEND_SQL, [`access-${userId}`, JSON.stringify([event])]);
              if (appended.rows[0]?.outcome !== 'appended') throw new Error(`append: ${appended.rows[0]?.outcome}`);
            }
            await client.query('commit');
          } catch (error) {
            await client.query('rollback');
            throw error;
          }
        },
      });
      results.push({ variant, result });
    } finally {
      await client.end();
    }
  }
  return results;
}
