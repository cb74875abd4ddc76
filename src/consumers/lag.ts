import { sql } from 'slonik';
import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { EventStore } from '../events/eventStore.js';
import { positionAt } from '../events/types.js';

/** How far one consumer (a projection, a durable handler) is behind the log. */
export interface ConsumerLag {
  name: string;
  /** Events appended after its checkpoint. */
  events: number;
  /** Age of the oldest event it has not handled; 0 when it has handled all. */
  seconds: number;
}

// The byte budget of reading the one event whose time is wanted: any event fits.
const ONE_EVENT_BYTES = 64 * 1024 * 1024;

const checkpointRow = z.object({ name: z.string(), commit: z.bigint() });

/**
 * Every consumer's lag: its checkpoint (one row each), the log's end and, for a consumer
 * behind, the time of the first event it has not handled (one lookup by position). Cheap at
 * any log size.
 */
export async function readConsumerLag(connection: CommonQueryMethods, store: EventStore): Promise<ConsumerLag[]> {
  const checkpoints = await connection.any(sql.type(checkpointRow)`select name, commit from consumer_checkpoints order by name`);
  if (checkpoints.length === 0) return [];
  const last = (await store.logEnd()).commit - 1n;
  const now = Date.now();
  return Promise.all(
    checkpoints.map(async ({ name, commit }) => {
      const behind = last > commit ? last - commit : 0n;
      if (behind === 0n) return { name, events: 0, seconds: 0 };
      const {
        events: [next],
      } = await store.readLog(positionAt(commit + 1n), 1, ONE_EVENT_BYTES);
      return { name, events: Number(behind), seconds: next ? Math.max(0, now - next.createdAt) / 1000 : 0 };
    }),
  );
}
