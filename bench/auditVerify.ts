// How fast `auren audit verify` walks the log, and what memory it holds (issue 11): a log of
// BENCH_EVENTS events in streams of 100, chained by the event store, verified in pages of
// BENCH_PAGE events (verifyChains, as the command runs it). Prints events/s and the process's
// peak RSS above what it held before verifying.
//
//   npx tsx bench/auditVerify.ts          (BENCH_DATABASE_URL, BENCH_EVENTS=200000, BENCH_PAGE=10000)
import os from 'node:os';
import pg from 'pg';
import { CHAIN_KEY_PURPOSE, loadServerSecret } from '../src/auth/secret.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { openPool } from '../src/db/pool.js';
import { chainPads } from '../src/events/chain.js';
import { createEventStore } from '../src/events/eventStore.js';
import { verifyChains } from '../src/events/verifyChains.js';
import { createLogger } from '../src/log.js';
import { databaseUrl } from './databases.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = Number(process.env.BENCH_EVENTS || 200_000);
const PAGE = Number(process.env.BENCH_PAGE || 10_000);
const SECRET = 'bench-secret-bench-secret-bench-secret-00';

const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query('drop database if exists auren_verify_bench with (force)');
await admin.query('create database auren_verify_bench');
await admin.end();
const url = databaseUrl(ADMIN_URL, 'auren_verify_bench');
const log = createLogger('warn');
await migrate(url, log);
const pool = await openPool({ url, maximumPoolSize: 8 });
const secret = await loadServerSecret({ secret: SECRET, dataDir: '/nonexistent' });
const store = createEventStore({ pool, limits: loadConfig({ DATABASE_URL: url }).events, log, chainKey: secret.derive(CHAIN_KEY_PURPOSE) });
const streams = EVENTS / 100;
for (let s = 0; s < streams; s += 8) {
  await Promise.all(
    Array.from({ length: Math.min(8, streams - s) }, (_, i) =>
      store.appendToStream(
        `verify-${s + i}`,
        { kind: 'any' },
        Array.from({ length: 100 }, (_, n) => ({ type: 'measured', data: { n, text: 'x'.repeat(200) }, metadata: {} })),
      ),
    ),
  );
}
await store.stop();

const before = process.memoryUsage().rss;
let peak = before;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const started = process.hrtime.bigint();
const report = await verifyChains(pool, [{ secretId: secret.id, pads: chainPads(secret.derive(CHAIN_KEY_PURPOSE)) }], {
  streamId: null,
  pageSize: PAGE,
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(sampler);
await pool.end();
console.log(
  JSON.stringify({
    events: EVENTS,
    page: PAGE,
    checked: String(report.checked),
    problems: report.problemCount,
    seconds: Number(seconds.toFixed(2)),
    eventsPerSecond: Math.round(EVENTS / seconds),
    peakRssAboveStartMiB: Number(((peak - before) / 2 ** 20).toFixed(1)),
    load: os.loadavg().map((n) => n.toFixed(2)),
  }),
);
