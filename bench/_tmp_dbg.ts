import { readFileSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { createPool, createTypeParserPreset, sql } from 'slonik';
import { randomUUID } from 'node:crypto';
import { analyze, checkpoint, recreateDatabases } from './databases.js';
import { startServer } from './server.js';
import { runClosedLoop } from './append.js';
import { appendRow } from '../src/events/queries.js';
const admin = 'postgres://postgres@127.0.0.1:5432/test';
const urls = await recreateDatabases(admin);
const server = await startServer(urls.auren, 32);
const snap = () => { const m = new Map<number, number>(); for (const n of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) { try { if (readFileSync(`/proc/${n}/comm`, 'utf8').trim() !== 'postgres') continue; const st = readFileSync(`/proc/${n}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); m.set(+n, (+f[11]! + +f[12]!) * 10); } catch {} } return m; };
const adm = new pg.Client({ connectionString: admin }); await adm.connect();
const noCheckpoint = process.env.NOCP === '1'; await new Promise((r) => setTimeout(r, Number(process.env.SLEEP ?? 0)));
for (let round = 0; round < 5; round++) {
  await analyze(urls.auren); if (!noCheckpoint) await checkpoint(admin);
  const pool = await createPool(urls.auren, { maximumPoolSize: 8, typeParsers: createTypeParserPreset(), resetConnection: async () => {} });
  let s0 = new Map<number, number>();
  const t0 = performance.now();
  const w0 = (await adm.query('select wal_fpi, wal_bytes, wal_sync, (select checkpoints_req + checkpoints_timed from pg_stat_bgwriter) cps from pg_stat_wal')).rows[0];
  const r = await runClosedLoop({ label: `d${round}`, clients: 8, eventsPerAppend: 1, warmupMs: 1000, measureMs: 3000,
    window: { start: () => { s0 = snap(); }, stop: () => { const s1 = snap(); (globalThis as any).delta = [...s1].map(([p, v]) => [p, v - (s0.get(p) ?? v)]).filter(([, d]) => d > 0); return { bench: 0, server: null, postgres: 0, other: null, steal: null }; } },
    append: async (_c, streamId, events) => { await pool.one(sql.type(appendRow)`select * from append_to_stream(${streamId}, 'no_stream', 0, ${JSON.stringify(events.map((data) => ({ event_id: randomUUID(), type: 'memory_created', data, metadata: {}, correlation_id: null, causation_id: null })))}::jsonb)`); } });
  const w1 = (await adm.query('select wal_fpi, wal_bytes, wal_sync, (select checkpoints_req + checkpoints_timed from pg_stat_bgwriter) cps from pg_stat_wal')).rows[0];
  console.log(`   WAL per append: fpi ${((w1.wal_fpi - w0.wal_fpi) / r.totalAppends).toFixed(2)} bytes ${((w1.wal_bytes - w0.wal_bytes) / r.totalAppends).toFixed(0)} syncs ${((w1.wal_sync - w0.wal_sync) / r.totalAppends).toFixed(2)} checkpoints ${w1.cps - w0.cps}`);
  const act = new Map((await adm.query('select pid, backend_type, datname from pg_stat_activity')).rows.map((x) => [x.pid, `${x.backend_type}/${x.datname ?? ''}`]));
  const delta = (globalThis as any).delta as [number, number][];
  const total = delta.reduce((a, [, d]) => a + d, 0);
  console.log(`round ${round}: ${r.appendsPerSecond.toFixed(0)}/s, PG µs/append ${(total * 1000 / r.appends).toFixed(0)}  t=${((performance.now() - t0) / 1000).toFixed(1)}s`);
  console.log('   ', delta.sort((a, b) => b[1] - a[1]).slice(0, 12).map(([p, d]) => `${act.get(p) ?? 'gone'}:${d}`).join(', '));
  await pool.end();
}
await adm.end(); await server.stop();
