// The two costs issue 11 adds to every call, each measured alone and interleaved with its
// absence so that other load on the machine falls on both alike:
// - the hash chain, in PostgreSQL: one single-event append_batch() statement on one
//   connection, with the chain key's pads (the trigger hashes) and without (no hash);
// - the key check, in the server: KeyStore.authenticate() of a cached key.
//   npx tsx bench/securityParts.ts   (BENCH_DATABASE_URL)
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { createKeyStore } from '../src/auth/keys.js';
import { migrate } from '../src/db/migrate.js';
import { openPool } from '../src/db/pool.js';
import { chainPads } from '../src/events/chain.js';
import { createLogger } from '../src/log.js';
import { databaseUrl } from './databases.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.BENCH_STATEMENTS || 3000);

const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query('drop database if exists auren_security_parts with (force)');
await admin.query('create database auren_security_parts');
await admin.end();
const url = databaseUrl(ADMIN_URL, 'auren_security_parts');
await migrate(url, createLogger('warn'));

const pads = chainPads(randomBytes(32));
const db = new pg.Client({ connectionString: url });
await db.connect();
const statement = (withChain: boolean, stream: string) => {
  const appends = JSON.stringify([
    {
      stream_id: stream,
      expected: 'any',
      expected_version: '0',
      events: [{ event_id: randomUUID(), type: 'measured', data: { heart_rate: 61, note: 'resting, after a walk' }, metadata: { a: 1 } }],
    },
  ]);
  return withChain
    ? db.query('select * from append_batch($1::jsonb, $2, $3)', [appends, pads.inner, pads.outer])
    : db.query('select * from append_batch($1::jsonb)', [appends]);
};
const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let i = 0; i < ROUNDS + 200; i++) {
  for (const mode of i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
    // Ten streams per mode, so that each append has a predecessor to chain to, as most do.
    const started = process.hrtime.bigint();
    await statement(mode === 'on', `${mode}-${i % 10}`);
    if (i >= 200) times[mode].push(Number(process.hrtime.bigint() - started) / 1000);
  }
}
const { rows } = await db.query(
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

const stat = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { mean: values.reduce((s, v) => s + v, 0) / values.length, p50: at(0.5), p99: at(0.99) };
};
const on = stat(times.on);
const off = stat(times.off);
const f = (v: number) => v.toFixed(0);
process.stdout.write(
  [
    `Run ${new Date().toISOString()}, load average ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}; ${ROUNDS} statements each, interleaved; ${rows[0].hashed} hashed and ${rows[0].plain} plain events written.`,
    '',
    '| one single-event append_batch() on one connection | mean µs | p50 µs | p99 µs |',
    '| --- | ---: | ---: | ---: |',
    `| with the hash chain (trigger event_chain hashes) | ${f(on.mean)} | ${f(on.p50)} | ${f(on.p99)} |`,
    `| without (no pads: no hash) | ${f(off.mean)} | ${f(off.p50)} | ${f(off.p99)} |`,
    `| difference | ${f(on.mean - off.mean)} (${(((on.mean - off.mean) / off.mean) * 100).toFixed(1)} %) | ${f(on.p50 - off.p50)} | ${f(on.p99 - off.p99)} |`,
    '',
    `KeyStore.authenticate() of a cached key (HMAC-SHA256 + constant-time compare): ${authUs.toFixed(2)} µs per call (${n.toLocaleString('en-US')} calls).`,
  ].join('\n') + '\n',
);
