import { getPostgreSQLEventStore, messagesTable } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import { countRows } from '../databases.js';
import { EVENT_TYPE, payloads } from '../payload.js';
import type { BenchTarget } from './target.js';

/**
 * Emmett's PostgreSQL event store in this process. Its schema is migrated once before any
 * timing; each scenario then gets a store over a pg.Pool sized to its clients.
 */
export async function emmettTarget(databaseUrl: string): Promise<BenchTarget> {
  const setup = getPostgreSQLEventStore(databaseUrl);
  await setup.schema.migrate();
  await setup.close();
  return {
    name: 'emmett',
    async open({ clients, eventsPerAppend }) {
      const pool = new pg.Pool({ connectionString: databaseUrl, max: clients });
      const store = getPostgreSQLEventStore(databaseUrl, { connectionOptions: { pool }, schema: { autoMigration: 'None' } });
      return {
        async append(client, streamId, seq) {
          const events = payloads(client, seq, eventsPerAppend);
          // 0n: the stream must not exist yet, as NO_STREAM. (Emmett 0.42 maps its
          // STREAM_DOES_NOT_EXIST constant to "no check", so the explicit version is the true equivalent.)
          const result = await store.appendToStream(
            streamId,
            events.map((data) => ({ type: EVENT_TYPE, data })),
            { expectedStreamVersion: 0n },
          );
          if (result.nextExpectedStreamVersion !== BigInt(events.length)) {
            throw new Error(`emmett: ${streamId} is at version ${result.nextExpectedStreamVersion}, expected ${events.length}`);
          }
        },
        async close() {
          await store.close();
          await pool.end();
        },
      };
    },
    countEvents: () => countRows(databaseUrl, messagesTable.name),
    close: async () => {},
  };
}
