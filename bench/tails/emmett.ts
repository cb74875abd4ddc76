import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DefaultPostgreSQLEventStoreProcessorBatchSize,
  DefaultPostgreSQLEventStoreProcessorPullingFrequencyInMs,
  getPostgreSQLEventStore,
  messagesTable,
  postgreSQLEventStoreConsumer,
} from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import { EVENT_TYPE, payloads } from '../payload.js';
import type { LatencyResult, LatencyRun } from './latency.js';
import { LatencyTracker, runOpenLoop } from './openLoop.js';

/**
 * Emmett's consumer settings used: its defaults. (Its puller waits 100 ms after the first
 * read, doubles the wait after every batch that was not full, up to 1 s, and waits
 * pullingFrequencyInMs only after a full batch.)
 */
export const EMMETT_CONSUMER = {
  batchSize: DefaultPostgreSQLEventStoreProcessorBatchSize,
  pullingFrequencyInMs: DefaultPostgreSQLEventStoreProcessorPullingFrequencyInMs,
};

const PRIME_BATCH = 100;

/**
 * An Emmett store and a running consumer on a fresh database, for the runs at each rate. The
 * store first gets `primeEvents` (appends of 100, untimed, then ANALYZE); the consumer starts
 * after them.
 */
export async function emmettTails(databaseUrl: string, lanes: number, primeEvents: number) {
  const setup = getPostgreSQLEventStore(databaseUrl);
  await setup.schema.migrate();
  await setup.close();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: lanes });
  const store = getPostgreSQLEventStore(databaseUrl, { connectionOptions: { pool }, schema: { autoMigration: 'None' } });
  let tracker: LatencyTracker | undefined;

  for (let b = 0; b * PRIME_BATCH < primeEvents; b++) {
    const events = payloads(0, b, Math.min(PRIME_BATCH, primeEvents - b * PRIME_BATCH)).map((data) => ({ type: EVENT_TYPE, data }));
    await store.appendToStream(`prime-${b}`, events);
  }
  await pool.query('analyze');
  // After the primed events: the consumer's 'END' reads from the first stored event in 0.42
  // (readLastMessageGlobalPosition orders ascending), so start from an explicit checkpoint.
  const last = (await pool.query<{ last: string | null }>(`select max(global_position)::text as last from ${messagesTable.name}`)).rows[0]!
    .last;

  const consumer = postgreSQLEventStoreConsumer({ connectionString: databaseUrl, pulling: EMMETT_CONSUMER });
  consumer.reactor({
    processorId: 'tails-bench',
    startFrom: last === null ? 'BEGINNING' : { lastCheckpoint: BigInt(last) },
    eachMessage: async (message) => {
      const at = performance.now();
      const id = (message.data as { bench_id?: string }).bench_id;
      if (id) tracker?.received(id, at);
      if (message.metadata.globalPosition > lastHandled) lastHandled = message.metadata.globalPosition;
    },
  });
  let lastHandled = -1n;
  let failure: unknown;
  const running = consumer.start().catch((error: unknown) => (failure = error));

  return {
    /** Single-event appends through appendToStream at a fixed rate; latency to the handler call. */
    async run(run: LatencyRun): Promise<LatencyResult> {
      tracker = new LatencyTracker();
      const t = tracker;
      let seq = 0;
      const load = await runOpenLoop({
        ...run,
        async append(lane, measured) {
          const id = randomUUID();
          const data = { ...payloads(lane, seq++, 1)[0]!, bench_id: id };
          t.sent(id, measured);
          await store.appendToStream(`tails-${run.label}-${lane}`, [{ type: EVENT_TYPE, data }]);
          t.acked(id);
        },
      });
      // Wait until every measured event was handled, or until the consumer has handled an event
      // stored after all of them: whatever is still missing then was skipped, not late.
      const last = BigInt(
        (
          await pool.query<{ last: string }>(
            `select max(global_position)::text as last from ${messagesTable.name} where message_data->>'bench_id' = any($1)`,
            [t.missing()],
          )
        ).rows[0]!.last ?? '-1',
      );
      const deadline = performance.now() + run.graceMs;
      while (!t.complete() && lastHandled < last && performance.now() < deadline && failure === undefined) await sleep(50);
      // Past them all: give it two more polls (it waits at most 1 s between reads) before calling them skipped.
      if (!t.complete()) await sleep(Math.max(0, Math.min(2_000, deadline - performance.now())));
      if (failure !== undefined) throw failure;
      const missing = t.missing();
      let skipped = 0;
      if (missing.length > 0) {
        skipped = Number(
          (
            await pool.query<{ n: string }>(
              `select count(*) as n from ${messagesTable.name} where message_data->>'bench_id' = any($1) and global_position < $2`,
              [missing, lastHandled.toString()],
            )
          ).rows[0]!.n,
        );
      }
      return { ...t.result(), ...load, skipped };
    },
    async close() {
      await consumer.close();
      await running;
      await store.close();
      await pool.end();
    },
  };
}
