import { sql } from 'slonik';
import type { FragmentSqlToken } from 'slonik';
import { z } from 'zod';

/** What every page query selects besides its rows' columns: how many rows came before the byte cut. */
export const cutColumns = { fetched: z.bigint() };

/**
 * The rows of `source` — a query ordered by `order` and limited to a page's count, selecting a
 * `size` column — cut where their sizes add up past `maxBytes`, selected as `columns`, in
 * `order`. The first row is always kept: a page is never empty for its size (one document is
 * bounded by the limits of writes). Each row carries `fetched`, the rows before the cut.
 *
 * The rows leave in `order` with no sort of their own: the window's aggregation emits them in
 * its order, over input the source already sorted (by an index, usually), and the filter keeps
 * it. (An outer ORDER BY would sort again, by output columns such as `id::text`.)
 */
export function withinBytes(
  columns: FragmentSqlToken,
  source: FragmentSqlToken,
  order: FragmentSqlToken,
  maxBytes: number,
): FragmentSqlToken {
  return sql.fragment`
    select ${columns}, fetched from (
      select limited.*, sum(size) over w as running, row_number() over w as n, count(*) over () as fetched
        from (${source}) limited
      window w as (order by ${order})
    ) sized
    where n = 1 or running <= ${maxBytes}`;
}

/** Whether a page's rows were cut by its byte budget: more rows follow than the page holds. */
export function wasCut(rows: readonly { fetched: bigint }[]): boolean {
  return rows.length > 0 && BigInt(rows.length) < rows[0]!.fetched;
}
