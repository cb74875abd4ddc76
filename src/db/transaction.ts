import { sql } from 'slonik';
import type { DatabasePool, DatabasePoolConnection } from 'slonik';
import { noRows } from './pool.js';

const begin = sql.type(noRows)`begin`;
const commit = sql.type(noRows)`commit`;
const rollback = sql.type(noRows)`rollback`;

/**
 * Runs `handler` in one transaction on one connection of the pool: BEGIN, the handler's
 * statements, COMMIT, or ROLLBACK if the handler throws.
 *
 * slonik's own `pool.transaction()` keeps its transaction in an AsyncLocalStorage. On Node 20
 * the first `run()` of one turns on promise hooks for the whole process, for good, and from
 * then on every promise of every call pays `promiseInitHook` (seen in the profiles of the
 * append and health benches). The service takes no nested transactions and no retries, so it
 * needs none of what that context is for.
 */
export async function inTransaction<T>(pool: DatabasePool, handler: (connection: DatabasePoolConnection) => Promise<T>): Promise<T> {
  return pool.connect(async (connection) => {
    await connection.query(begin);
    let result: T;
    try {
      result = await handler(connection);
    } catch (error) {
      // A failed rollback means a broken connection, which the pool drops; the handler's error
      // is what the caller needs to see.
      await connection.query(rollback).catch(() => undefined);
      throw error;
    }
    await connection.query(commit);
    return result;
  });
}
