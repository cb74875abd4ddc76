import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';

/** Whether the service can serve: what `GET /readyz` answers. */
export interface Readiness {
  ready: boolean;
  /** Each check: `ok`, or what is wrong. */
  checks: { database: string; migrations: string };
}

const versionRow = z.object({ version: z.number() });

/**
 * Checks readiness: PostgreSQL answers within `timeoutMs`, and every numbered schema file this
 * build ships (`expected`) is applied there (a replica of an older build started against a
 * newer schema is ready; one whose schema is behind is not).
 */
export async function checkReadiness(pool: DatabasePool, expected: readonly number[], timeoutMs: number): Promise<Readiness> {
  const query = pool.anyFirst(sql.type(versionRow)`select version from schema_migrations`);
  const timeout = sleep(timeoutMs, 'timeout' as const, { ref: false });
  try {
    const result = await Promise.race([query, timeout]);
    if (result === 'timeout') {
      query.catch(() => undefined);
      return { ready: false, checks: { database: `no answer within ${timeoutMs} ms`, migrations: 'unknown' } };
    }
    const applied = new Set(result);
    const missing = expected.filter((version) => !applied.has(version));
    const migrations = missing.length === 0 ? 'ok' : `not applied: ${missing.join(', ')}`;
    return { ready: missing.length === 0, checks: { database: 'ok', migrations } };
  } catch (error) {
    return { ready: false, checks: { database: error instanceof Error ? error.message : String(error), migrations: 'unknown' } };
  }
}
