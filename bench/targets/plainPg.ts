import pg from 'pg';
import { countRows } from '../databases.js';
import { payloads } from '../payload.js';
import type { BenchTarget } from './target.js';

/** Baseline: plain INSERTs with pg, one row per event; a batch is one multi-row INSERT. */
export async function plainPgTarget(databaseUrl: string): Promise<BenchTarget> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('create table pg_events (id bigserial primary key, stream_id text not null, data jsonb not null)');
  } finally {
    await client.end();
  }
  const statements = new Map<number, string>();
  const insert = (rows: number) => {
    let text = statements.get(rows);
    if (!text) {
      const values = Array.from({ length: rows }, (_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ');
      statements.set(rows, (text = `insert into pg_events (stream_id, data) values ${values}`));
    }
    return text;
  };
  return {
    name: 'pg',
    async open({ clients, eventsPerAppend }) {
      const pool = new pg.Pool({ connectionString: databaseUrl, max: clients });
      return {
        async append(client, streamId, seq) {
          const events = payloads(client, seq, eventsPerAppend);
          const params: string[] = [];
          for (const data of events) params.push(streamId, JSON.stringify(data));
          const result = await pool.query(insert(events.length), params);
          if (result.rowCount !== events.length) throw new Error(`pg: inserted ${result.rowCount} rows, expected ${events.length}`);
        },
        close: () => pool.end(),
      };
    },
    countEvents: () => countRows(databaseUrl, 'pg_events'),
    close: async () => {},
  };
}
