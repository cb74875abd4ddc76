// The two costs issue 11 adds to every call, each measured alone:
// - the hash chain, in PostgreSQL: append_batch() statements of 1 and of 16 single-event appends
//   (to streams that have events, as most appends do), 16 to 4 streams (4 each, as at 32 clients)
//   and 8 to one stream (as GetMemory's records), on one connection, with the chain on (the
//   key's pads given, the trigger events_chain enabled) and off (the trigger disabled: nothing is
//   hashed), in blocks that take turns; CPU of the connection's backend from /proc/<pid>/schedstat
//   (ns; so the database must run on this machine), which other load on the machine moves far
//   less than the wall time, also given;
// - the key check, in the server: KeyStore.authenticate() of a cached key.
//   npx tsx bench/securityParts.ts   (BENCH_DATABASE_URL, BENCH_BLOCKS=8, BENCH_STATEMENTS=60,
//                                     BENCH_DATABASE=auren_security_parts)
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { createKeyStore } from '../src/auth/keys.js';
import { migrate } from '../src/db/migrate.js';
import { openPool } from '../src/db/pool.js';
import { chainPads } from '../src/events/chain.js';
import { createLogger } from '../src/log.js';
import { databaseUrl } from './databases.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const BLOCKS = Number(process.env.BENCH_BLOCKS || 8);
const STATEMENTS = Number(process.env.BENCH_STATEMENTS || 60);
const DATABASE = process.env.BENCH_DATABASE || 'auren_security_parts';
// Appends a statement, and the streams they go to (in turn).
const BATCHES = [
  { appends: 1, streams: 1 },
  { appends: 16, streams: 16 },
  { appends: 16, streams: 4 },
  { appends: 8, streams: 1 },
];
type Batch = (typeof BATCHES)[number];
const named = (b: Batch) => (b.appends === 1 ? '1 append' : `${b.appends} appends to ${b.streams} stream${b.streams > 1 ? 's' : ''}`);

const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`drop database if exists ${DATABASE} with (force)`);
await admin.query(`create database ${DATABASE}`);
await admin.end();
const url = databaseUrl(ADMIN_URL, DATABASE);
await migrate(url, createLogger('warn'));
const loadBefore = os.loadavg();

const pads = chainPads(randomBytes(32));
const db = new pg.Client({ connectionString: url });
await db.connect();
const { pid } = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!;
const backendNs = () => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);

const statement = (mode: 'on' | 'off', batch: Batch) =>
  db.query('select * from append_batch($1::jsonb, $2, $3)', [
    JSON.stringify(
      Array.from({ length: batch.appends }, (_, i) => ({
        stream_id: `${mode}-${named(batch)}-${i % batch.streams}`,
        expected: 'any',
        events: [
          {
            event_id: randomUUID(),
            type: 'measured',
            data: { heart_rate: 61, note: 'resting, after a walk' },
            metadata: { user_id: 'user_bench', principal: 'admin:bench' },
          },
        ],
      })),
    ),
    pads.inner,
    pads.outer,
  ]);

interface Block {
  mode: 'on' | 'off';
  batch: Batch;
  /** Per event: backend CPU µs, and wall µs (median of the block's statements). */
  cpuUs: number;
  wallUs: number;
}
const blocks: Block[] = [];
for (let round = 0; round <= BLOCKS; round++) {
  for (const batch of BATCHES) {
    for (const mode of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      await db.query(`alter table events ${mode === 'on' ? 'enable' : 'disable'} trigger events_chain`);
      // The first statement after the switch plans again: not measured.
      await statement(mode, batch);
      const walls: number[] = [];
      const cpuBefore = backendNs();
      for (let i = 0; i < STATEMENTS; i++) {
        const started = process.hrtime.bigint();
        await statement(mode, batch);
        walls.push(Number(process.hrtime.bigint() - started) / 1000 / batch.appends);
      }
      const cpuUs = (backendNs() - cpuBefore) / 1000 / STATEMENTS / batch.appends;
      // Round 0 warms up (streams made, plans cached).
      if (round > 0) blocks.push({ mode, batch, cpuUs, wallUs: median(walls) });
    }
  }
}
await db.query('alter table events enable trigger events_chain');
const { rows } = await db.query<{ hashed: number; plain: number }>(
  `select count(*) filter (where hash is not null)::int as hashed, count(*) filter (where hash is null)::int as plain from events`,
);
await db.end();

const pool = await openPool({ url, maximumPoolSize: 1 });
const keys = createKeyStore({ pool, peppers: [{ secretId: 'bench', key: randomBytes(32) }], cacheMs: 60_000 });
const { key } = await keys.create({ kind: 'agent', agentId: 'bench' });
await keys.authenticate(`Bearer ${key}`);
const n = 200_000;
const started = process.hrtime.bigint();
for (let i = 0; i < n; i++) await keys.authenticate(`Bearer ${key}`);
const authUs = Number(process.hrtime.bigint() - started) / 1000 / n;
await pool.end();

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
const spread = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return `${median(s).toFixed(1)} (${s[0]!.toFixed(1)}–${s.at(-1)!.toFixed(1)})`;
};
const of = (mode: 'on' | 'off', batch: Batch) => blocks.filter((b) => b.mode === mode && b.batch === batch);
// The chain's cost per event, paired by round: on minus off of the same round.
const paired = (batch: Batch, field: 'cpuUs' | 'wallUs') => {
  const on = of('on', batch);
  const off = of('off', batch);
  return spread(on.map((b, i) => b[field] - off[i]![field]));
};
const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
process.stdout.write(
  [
    `Run ${new Date().toISOString()}, load average before ${load(loadBefore)}, after ${load(os.loadavg())}; ${BLOCKS} rounds of one block per`,
    `configuration (${STATEMENTS} statements each), taking turns; ${rows[0]!.hashed} hashed and ${rows[0]!.plain} plain events written.`,
    'Per event: the median of the blocks, (min–max) beside it; the difference paired by round.',
    '',
    '| append_batch() of | hash chain | backend CPU µs per event | wall µs per event |',
    '| --- | --- | ---: | ---: |',
    ...BATCHES.flatMap((batch) => [
      `| ${named(batch)} | on | ${spread(of('on', batch).map((b) => b.cpuUs))} | ${spread(of('on', batch).map((b) => b.wallUs))} |`,
      `| ${named(batch)} | off (trigger disabled) | ${spread(of('off', batch).map((b) => b.cpuUs))} | ${spread(of('off', batch).map((b) => b.wallUs))} |`,
      `| ${named(batch)} | **on − off** | ${paired(batch, 'cpuUs')} | ${paired(batch, 'wallUs')} |`,
    ]),
    '',
    `KeyStore.authenticate() of a cached key (HMAC-SHA256 + constant-time compare): ${authUs.toFixed(2)} µs per call (${n.toLocaleString('en-US')} calls).`,
  ].join('\n') + '\n',
);
