// What authentication and the log's hash chain cost (issue 11): appends/s and GetMemory latency
// on GRPC_PORT with both on, against the same server without them (AUTH_ANONYMOUS=true, no key
// sent, and the hash-chain trigger disabled in its database once the server has migrated it),
// and with the hash chain alone (AUTH_ANONYMOUS=true). One checkout, so the configurations
// differ by these two costs only. Same run, rounds interleaved so that other load on the
// machine falls on every configuration alike.
// Load from h2load (one process per stream, one call in flight per connection).
//
//   npx tsx bench/security.ts            (BENCH_DATABASE_URL, BENCH_ROUNDS=3)
import { execSync } from 'node:child_process';
import os from 'node:os';
import { create, toBinary } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import pg from 'pg';
import { createKeyStore } from '../src/auth/keys.js';
import { loadServerSecret, PEPPER_PURPOSE } from '../src/auth/secret.js';
import { migrate } from '../src/db/migrate.js';
import { openPool } from '../src/db/pool.js';
import { AppendToStreamRequestSchema, ExpectedVersionKind } from '../src/gen/auren/v1/events_pb.js';
import { GetMemoryRequestSchema, MemoryService, MemoryType } from '../src/gen/auren/v1/memory_pb.js';
import { createLogger } from '../src/log.js';
import { databaseUrl } from './databases.js';
import { h2loadAll as h2loadOnce, p } from './h2load.js';
import { startServer } from './server.js';
import type { ServerProcess } from './server.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const SECRET = 'bench-secret-bench-secret-bench-secret-00';

interface Config {
  name: string;
  entry: string | undefined;
  env: Record<string, string>;
  /** Sends a key. */
  key: boolean;
  /** Events are hashed (else the events_chain trigger is disabled). */
  chain: boolean;
}
const CONFIGS: Config[] = [
  { name: 'on (keys + hash chain)', entry: undefined, env: { AUREN_SECRET: SECRET, AUTH_ANONYMOUS: 'false' }, key: true, chain: true },
  {
    name: 'off (no key checked, no hashes)',
    entry: undefined,
    env: { AUREN_SECRET: SECRET, AUTH_ANONYMOUS: 'true' },
    key: false,
    chain: false,
  },
  {
    name: 'hash chain only (AUTH_ANONYMOUS=true)',
    entry: undefined,
    env: { AUREN_SECRET: SECRET, AUTH_ANONYMOUS: 'true' },
    key: false,
    chain: true,
  },
];

interface Row {
  config: string;
  round: number;
  appends8: number;
  appendsP99_8: number;
  appends32: number;
  appendsP99_32: number;
  getP50: number;
  getP99: number;
  gets: number;
  load: string;
}

const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

async function recreate(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  return databaseUrl(ADMIN_URL, name);
}

// The schema and an admin key made beforehand, so the server makes none of its own.
async function adminKey(url: string): Promise<string> {
  const log = createLogger('warn');
  await migrate(url, log);
  const pool = await openPool({ url, maximumPoolSize: 1 });
  try {
    const secret = await loadServerSecret({ secret: SECRET, dataDir: '/nonexistent' });
    const keys = createKeyStore({ pool, peppers: secret.deriveAll(PEPPER_PURPOSE), cacheMs: 0 });
    return (await keys.create({ kind: 'admin', name: 'bench' })).key;
  } finally {
    await pool.end();
  }
}

async function measure(config: Config, round: number): Promise<Row> {
  const url = await recreate(`auren_security_bench_${CONFIGS.indexOf(config)}`);
  const key = config.key ? await adminKey(url) : undefined;
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  if (config.entry) process.env.BENCH_SERVER_ENTRY = config.entry;
  else delete process.env.BENCH_SERVER_ENTRY;
  const server: ServerProcess = await startServer(url, 16, config.env);
  try {
    if (!config.chain) {
      // After the server's own migration, which re-creates the trigger.
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      await db.query('alter table events disable trigger events_chain');
      await db.end();
    }
    const memory = createClient(MemoryService, createGrpcTransport({ baseUrl: server.grpcUrl }));
    const stored = await memory.storeMemory(
      { agentId: 'bench', userId: 'user_bench', type: MemoryType.FACT, content: { text: 'sleeps six hours' }, confidence: 0.9 },
      { headers },
    );
    const append = (streams: number, connectionsEach: number, requests: number) =>
      h2loadAll(
        Array.from({ length: streams }, (_, i) => ({
          url: server.grpcUrl,
          path: '/auren.v1.EventStoreService/AppendToStream',
          message: toBinary(
            AppendToStreamRequestSchema,
            create(AppendToStreamRequestSchema, {
              streamId: `bench-${round}-${streams}-${i}`,
              expected: { kind: ExpectedVersionKind.ANY },
              events: [{ type: 'measured', data: { heart_rate: 61, note: 'resting, after a walk' } }],
            }),
          ),
          requests,
          connections: connectionsEach,
          headers,
        })),
      );
    // Warm-up, then the measured runs.
    await append(8, 1, 300);
    const eight = await append(8, 1, 800);
    const thirtyTwo = await append(8, 4, 1_500);
    const get = (requests: number) =>
      h2loadAll([
        {
          url: server.grpcUrl,
          path: '/auren.v1.MemoryService/GetMemory',
          message: toBinary(GetMemoryRequestSchema, create(GetMemoryRequestSchema, { id: stored.memory!.id })),
          requests,
          connections: 8,
          headers,
        },
      ]);
    await get(500);
    const gets = await get(3_000);
    for (const r of [eight, thirtyTwo, gets]) if (r.failed > 0) throw new Error(`${config.name}: ${r.failed} calls failed`);
    const row: Row = {
      config: config.name,
      round,
      appends8: eight.requests / eight.seconds,
      appendsP99_8: p(eight, 0.99),
      appends32: thirtyTwo.requests / thirtyTwo.seconds,
      appendsP99_32: p(thirtyTwo, 0.99),
      getP50: p(gets, 0.5),
      getP99: p(gets, 0.99),
      gets: gets.requests / gets.seconds,
      load: loadAverage(),
    };
    // h2load counts a gRPC error as a success: the database says what was written.
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const { rows } = await db.query(`select count(*)::int as n from events where stream_id like 'bench-%'`);
    await db.end();
    if (rows[0].n < 8 * (300 + 800 + 1_500)) throw new Error(`${config.name}: only ${rows[0].n} appends stored`);
    return row;
  } finally {
    await server.stop();
  }
}

// h2load now and then ends without its summary on this loaded machine: such a run is repeated.
async function h2loadAll(runs: Parameters<typeof h2loadOnce>[0]): ReturnType<typeof h2loadOnce> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await h2loadOnce(runs);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("cannot read h2load's output")) throw error;
      process.stderr.write(`h2load gave no summary; again (${attempt})\n`);
    }
  }
}

const rows: Row[] = [];
const started = new Date().toISOString();
process.stderr.write(`load before: ${loadAverage()}\n`);
for (let round = 1; round <= ROUNDS; round++) {
  for (const config of round % 2 === 1 ? CONFIGS : [...CONFIGS].reverse()) {
    const row = await measure(config, round);
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f2 = (n: number) => n.toFixed(2);
const lines = [
  `Run ${started}, ${ROUNDS} rounds, configurations interleaved; medians of the rounds (every round: ${rows.length / CONFIGS.length}).`,
  `Checkout at ${execSync('git rev-parse --short HEAD').toString().trim()}.`,
  '',
  '| configuration | appends/s, 8 clients | p99 ms | appends/s, 32 clients | p99 ms | GetMemory/s, 8 clients | GetMemory p50 ms | GetMemory p99 ms |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...CONFIGS.map((c) => {
    const mine = rows.filter((r) => r.config === c.name);
    return `| ${c.name} | ${f0(median(mine.map((r) => r.appends8)))} | ${f2(median(mine.map((r) => r.appendsP99_8)))} | ${f0(median(mine.map((r) => r.appends32)))} | ${f2(median(mine.map((r) => r.appendsP99_32)))} | ${f0(median(mine.map((r) => r.gets)))} | ${f2(median(mine.map((r) => r.getP50)))} | ${f2(median(mine.map((r) => r.getP99)))} |`;
  }),
  '',
  'Every round (load average 1/5/15 min when it ended):',
  '',
  '| round | configuration | appends/s 8 | appends/s 32 | GetMemory p99 ms | load |',
  '| ---: | --- | ---: | ---: | ---: | --- |',
  ...rows.map((r) => `| ${r.round} | ${r.config} | ${f0(r.appends8)} | ${f0(r.appends32)} | ${f2(r.getP99)} | ${r.load} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
