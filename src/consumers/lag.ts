import { sql } from 'slonik';
import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** How far one consumer (a projection, a durable handler) is behind the log. */
export interface ConsumerLag {
  name: string;
  /** Events appended after its checkpoint. */
  events: number;
  /** Age of the oldest event it has not handled; 0 when it has handled all. */
  seconds: number;
}

const lagRow = z.object({ name: z.string(), events: z.number(), seconds: z.number() });

/**
 * Every consumer's lag, from its checkpoint and the log's head: one statement, cheap at any
 * log size (the head is one row, the next event one index lookup).
 */
export async function readConsumerLag(connection: CommonQueryMethods): Promise<readonly ConsumerLag[]> {
  return connection.any(sql.type(lagRow)`
    select c.name,
           greatest(h.last - c.commit, 0)::float8 as events,
           coalesce(extract(epoch from now() - (select e.created_at from events e where e.position = c.commit + 1)), 0)::float8 as seconds
      from consumer_checkpoints c cross join log_head h
     order by c.name`);
}
