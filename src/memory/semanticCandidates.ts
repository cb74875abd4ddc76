import type { DatabasePool } from 'slonik';
import { matchingIdsQuery } from './queries.js';
import type { MemoryFilter } from './queries.js';

/**
 * The ids of every memory the filter covers, when there are fewer than `cap`; undefined when
 * there are more. A semantic index ranks a selective filter's few memories itself instead of
 * asking its store to filter (one indexed read here against a scan of the store's metadata).
 */
export async function semanticCandidates(pool: DatabasePool, filter: MemoryFilter, cap: number): Promise<string[] | undefined> {
  const rows = await pool.any(matchingIdsQuery(filter, cap + 1));
  return rows.length > cap ? undefined : rows.map((row) => row.id);
}
