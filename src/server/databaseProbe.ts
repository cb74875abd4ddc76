import { sql } from 'slonik';
import { noRows } from '../db/pool.js';
import type { DatabasePool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { ServingStatus } from './health.js';
import type { HealthStatus } from './health.js';

/**
 * Sets the health of the whole server ("") and of each of `services` from one `select 1`:
 * while PostgreSQL does not answer, nothing can be served. Logs only the changes.
 */
export async function probeDatabase(pool: DatabasePool, health: HealthStatus, services: readonly string[], log: Logger): Promise<void> {
  let status = ServingStatus.SERVING;
  try {
    await pool.query(sql.type(noRows)`select 1`);
  } catch (error) {
    status = ServingStatus.NOT_SERVING;
    if (health.get('') !== status) log.error({ err: error }, 'PostgreSQL does not answer: health is NOT_SERVING');
  }
  if (health.get('') !== status && status === ServingStatus.SERVING) log.info('PostgreSQL answers again: health is SERVING');
  for (const service of ['', ...services]) health.set(service, status);
}
