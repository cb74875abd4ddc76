import { sql } from 'slonik';
import { z } from 'zod';

// What the Redis projection reads from PostgreSQL besides the log's events: read-only, and
// only while it applies a batch, never on a read's path.

// Row types are made once: a zod schema costs more to build than to check a row with.
const createdAtRow = z.object({ id: z.string(), created_at_us: z.bigint() });
const foundRow = z.object({ found: z.boolean() });

/** The creation times, in epoch microseconds, of the memories among `ids` (a memory's never changes). */
export function createdAtUsQuery(ids: readonly string[]) {
  return sql.type(createdAtRow)`
    select id::text, (extract(epoch from created_at) * 1000000)::bigint as created_at_us
      from memories where id = any(${sql.array([...ids], 'uuid')})`;
}

/** Whether a memory's event lies in the log between two positions (exclusive, inclusive). */
export function memoryEventsBetweenQuery(after: bigint, upTo: bigint) {
  return sql.type(foundRow)`
    select exists (select 1 from events where position > ${after.toString()}::bigint and position <= ${upTo.toString()}::bigint
                                          and starts_with(stream_id, 'memory-')) as found`;
}
