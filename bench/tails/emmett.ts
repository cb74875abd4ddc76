import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  DefaultPostgreSQLEventStoreProcessorBatchSize, DefaultPostgreSQLEventStoreProcessorPullingFrequencyInMs,
  getPostgreSQLEventStore, messagesTable, postgreSQLEventStoreConsumer,
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
  const last = (await pool.query<{ last: string | null }>(`select max(global_position)::text as last from ${messagesTable.name}`)).rows[0]!.last;

  const consumer = postgreSQLEventStoreConsumer({ connectionString: databaseUrl, pulling: EMMETT_CONSUMER });
  consumer.reactor({
    processorId: 'tails-bench',
    startFrom: last === null ? 'BEGINNING' : { lastCheckpoint: BigInt(last) },
    eachMessage: async (message) => {
      const at = performance.now();
      const id = (message.data as { bench_id?: string }).bench_id;
      if (id) tracker?.received(id, at);
    },
  });
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
      await t.allReceived(run.graceMs);
      if (failure !== undefined) throw failure;
      return { ...t.result(), ...load };
    },
    async close() {
      await consumer.close();
      await running;
      await store.close();
      await pool.end();
    },
  };
}
