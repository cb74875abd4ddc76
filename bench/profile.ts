// `npx tsx bench/profile.ts`: where the time of one AUREN append goes, layer by layer, at
// 1 event per append and 8 closed-loop clients (override with PROFILE_CLIENTS / PROFILE_EVENTS).
// Each layer adds one piece of the production path on top of the one before.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import pg from 'pg';
import { createPool, createTypeParserPreset } from 'slonik';
import type { DatabasePool } from 'slonik';
import { loadConfig } from '../src/config.js';
import { openPool, parseRows } from '../src/db/pool.js';
import { createEventStore } from '../src/events/eventStore.js';
import { appendBatchQuery } from '../src/events/queries.js';
import { createLogger } from '../src/log.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import * as grpcJs from '@grpc/grpc-js';
import {
  AppendToStreamRequestSchema,
  AppendToStreamResponseSchema,
  EventStoreService,
  ExpectedVersionKind,
} from '../src/gen/auren/v1/events_pb.js';
import { Health, HealthCheckRequestSchema, HealthCheckResponseSchema } from '../src/gen/health/v1/health_pb.js';
import { runClosedLoop } from './append.js';
import type { AppendFn, RunResult } from './append.js';
import { loadBenchConfig } from './config.js';
import { cpuMeter, isLocalHost } from './cpu.js';
import { analyze, checkpoint, DATABASES, machineFacts, postgresPids, recreateDatabases } from './databases.js';
import { EVENT_TYPE, payloads } from './payload.js';
import type { Payload } from './payload.js';
import { loadCells, markdownTable, textTable, writeSection } from './tables.js';
import { startServer } from './server.js';
import { emmettTarget } from './targets/emmett.js';

const REPORT = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
const SECTION = '## Append path breakdown';

/** One append of a layer, with the events made for it. */
type LayerAppend = (client: number, streamId: string, events: Payload[]) => Promise<void>;

interface Layer {
  name: string;
  /** The database it writes to. */
  db: 'auren' | 'emmett';
  /** Where the work of the layer runs. */
  open(): Promise<{ append: LayerAppend; close(): Promise<void> }>;
  serverPid?: number;
}

// The JSON the event store hands to append_to_stream(), as checkProposedEvents() builds it.
const asChecked = (events: Payload[]) =>
  JSON.stringify(
    events.map((data) => ({
      event_id: randomUUID(),
      type: EVENT_TYPE,
      data,
      metadata: {},
      correlation_id: null,
      causation_id: null,
    })),
  );

function poolWithoutReset(url: string, size: number): Promise<DatabasePool> {
  return createPool(url, {
    maximumPoolSize: size,
    interceptors: [parseRows],
    typeParsers: createTypeParserPreset(),
    statementTimeout: 'DISABLE_TIMEOUT',
    idleTimeout: 30_000,
    connectionTimeout: 10_000,
    resetConnection: async () => {},
  });
}

async function main(): Promise<void> {
  const bench = loadBenchConfig();
  const clients = Number(process.env.PROFILE_CLIENTS ?? 8);
  const eventsPerAppend = Number(process.env.PROFILE_EVENTS ?? 1);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const facts = await machineFacts(bench.adminUrl);
  const postgresIsLocal = isLocalHost(new URL(bench.adminUrl).hostname);
  const urls = await recreateDatabases(bench.adminUrl);
  const server = await startServer(urls.auren, bench.serverPoolSize); // also applies the schema to auren_bench
  const emmett = await emmettTarget(urls.emmett);
  const limits = loadConfig({}).events;
  const appendSql = (pool: DatabasePool, streamId: string, events: Payload[]) =>
    pool.one(
      appendBatchQuery([{ stream_id: streamId, expected: 'no_stream', expected_version: '0', events: JSON.parse(asChecked(events)) }]),
    );
  const check = (version: bigint | string | number, events: Payload[], streamId: string) => {
    if (BigInt(version) !== BigInt(events.length)) throw new Error(`${streamId}: version ${version}, expected ${events.length}`);
  };
  const grpc = (kind: 'health' | 'append', shared: boolean) => async () => {
    const sessions = Array.from({ length: shared ? 1 : clients }, () => new Http2SessionManager(server.baseUrl));
    const transports = sessions.map((sessionManager) => createGrpcTransport({ baseUrl: server.baseUrl, sessionManager }));
    const stores = transports.map((t) => createClient(EventStoreService, t));
    const health = transports.map((t) => createClient(Health, t));
    return {
      append:
        kind === 'health'
          ? async (client: number) => void (await health[client % health.length]!.check({ service: '' }))
          : async (client: number, streamId: string, events: Payload[]) => {
              const r = await stores[client % stores.length]!.appendToStream({
                streamId,
                expected: { kind: ExpectedVersionKind.NO_STREAM },
                events: events.map((data) => ({ type: EVENT_TYPE, data })),
              });
              check(r.nextExpectedVersion, events, streamId);
            },
      close: async () => sessions.forEach((s) => s.abort()),
    };
  };

  // The same calls through @grpc/grpc-js instead of the Connect client: separates client cost from server cost.
  const grpcJsClient = (kind: 'health' | 'append') => async () => {
    const address = new URL(server.baseUrl).host;
    const channels = Array.from(
      { length: clients },
      (_, i) => new grpcJs.Client(address, grpcJs.credentials.createInsecure(), { 'grpc.channel_id': i } as grpcJs.ChannelOptions),
    );
    const unary = <I extends DescMessage, O extends DescMessage>(
      client: grpcJs.Client,
      path: string,
      input: I,
      output: O,
      message: MessageInitShape<I>,
    ) =>
      new Promise<MessageShape<O>>((resolve, reject) => {
        client.makeUnaryRequest(
          path,
          (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
          (b: Buffer) => fromBinary(output, b),
          create(input, message),
          (error, value) => (error ? reject(error) : resolve(value!)),
        );
      });
    return {
      append:
        kind === 'health'
          ? async (client: number) =>
              void (await unary(channels[client]!, '/grpc.health.v1.Health/Check', HealthCheckRequestSchema, HealthCheckResponseSchema, {
                service: '',
              }))
          : async (client: number, streamId: string, events: Payload[]) => {
              const r = await unary(
                channels[client]!,
                '/auren.v1.EventStoreService/AppendToStream',
                AppendToStreamRequestSchema,
                AppendToStreamResponseSchema,
                {
                  streamId,
                  expected: { kind: ExpectedVersionKind.NO_STREAM },
                  events: events.map((data) => ({ type: EVENT_TYPE, data })),
                },
              );
              check(r.nextExpectedVersion, events, streamId);
            },
      close: async () => channels.forEach((c) => c.close()),
    };
  };

  const layers: Layer[] = [
    {
      name: '1 pg: select append_to_stream()',
      db: 'auren',
      async open() {
        const pool = new pg.Pool({ connectionString: urls.auren, max: clients });
        return {
          async append(_c, streamId, events) {
            const r = await pool.query('select * from append_to_stream($1, $2, $3, $4::jsonb)', [
              streamId,
              'no_stream',
              0,
              asChecked(events),
            ]);
            check(r.rows[0].stream_version, events, streamId);
          },
          close: () => pool.end(),
        };
      },
    },
    {
      name: '2 pg: same + DISCARD ALL (slonik reset)',
      db: 'auren',
      async open() {
        const pool = new pg.Pool({ connectionString: urls.auren, max: clients });
        return {
          async append(_c, streamId, events) {
            const client = await pool.connect();
            try {
              const r = await client.query('select * from append_to_stream($1, $2, $3, $4::jsonb)', [
                streamId,
                'no_stream',
                0,
                asChecked(events),
              ]);
              check(r.rows[0].stream_version, events, streamId);
              await client.query('discard all');
            } finally {
              client.release();
            }
          },
          close: () => pool.end(),
        };
      },
    },
    {
      name: '3 slonik, no reset on release',
      db: 'auren',
      async open() {
        const pool = await poolWithoutReset(urls.auren, clients);
        return {
          async append(_c, streamId, events) {
            check((await appendSql(pool, streamId, events)).stream_version, events, streamId);
          },
          close: () => pool.end(),
        };
      },
    },
    {
      name: '4 slonik as src/db/pool.ts (DISCARD ALL)',
      db: 'auren',
      async open() {
        const pool = await openPool({ url: urls.auren, maximumPoolSize: clients });
        return {
          async append(_c, streamId, events) {
            check((await appendSql(pool, streamId, events)).stream_version, events, streamId);
          },
          close: () => pool.end(),
        };
      },
    },
    {
      name: '5 eventStore.appendToStream, src pool',
      db: 'auren',
      async open() {
        const pool = await openPool({ url: urls.auren, maximumPoolSize: clients });
        const store = createEventStore({ pool, limits, log: createLogger('silent') });
        return {
          async append(_c, streamId, events) {
            const r = await store.appendToStream(
              streamId,
              { kind: 'no_stream' },
              events.map((data) => ({ type: EVENT_TYPE, data, metadata: {} })),
            );
            check(r.nextExpectedVersion, events, streamId);
          },
          close: () => pool.end(),
        };
      },
    },
    {
      name: '6 eventStore.appendToStream, no reset',
      db: 'auren',
      async open() {
        const pool = await poolWithoutReset(urls.auren, clients);
        const store = createEventStore({ pool, limits, log: createLogger('silent') });
        return {
          async append(_c, streamId, events) {
            const r = await store.appendToStream(
              streamId,
              { kind: 'no_stream' },
              events.map((data) => ({ type: EVENT_TYPE, data, metadata: {} })),
            );
            check(r.nextExpectedVersion, events, streamId);
          },
          close: () => pool.end(),
        };
      },
    },
    { name: '7 gRPC health.Check (no database)', db: 'auren', open: grpc('health', false), serverPid: server.pid },
    { name: '8 gRPC AppendToStream, conn per client', db: 'auren', open: grpc('append', false), serverPid: server.pid },
    { name: '9 gRPC AppendToStream, 1 shared conn', db: 'auren', open: grpc('append', true), serverPid: server.pid },
    { name: '10 grpc-js client: health.Check', db: 'auren', open: grpcJsClient('health'), serverPid: server.pid },
    { name: '11 grpc-js client: AppendToStream', db: 'auren', open: grpcJsClient('append'), serverPid: server.pid },
    {
      name: 'Emmett appendToStream (in-process)',
      db: 'emmett',
      async open() {
        const open = await emmett.open({ clients, eventsPerAppend });
        return { append: (c, streamId) => open.append(c, streamId, 0), close: () => open.close() };
      },
    },
  ];
  // The loop numbers the appends; a layer gets its events made here.
  const withEvents =
    (append: LayerAppend, n: number): AppendFn =>
    (c, streamId, seq) =>
      append(c, streamId, payloads(c, seq, n));

  const only = process.env.PROFILE_LAYERS?.split(',').map((s) => s.trim());
  const results: Array<[Layer, RunResult]> = [];
  try {
    // PROFILE_LAYERS=3,1,3 runs those layers in that order (Emmett is "emmett").
    const chosen = only
      ? only
          .map((o) => layers.find((l) => l.name.startsWith(`${o} `) || l.name.toLowerCase().startsWith(o.toLowerCase())))
          .filter((l) => l !== undefined)
      : layers;
    // Untimed: some thousands of rows in both databases first, as in the throughput bench.
    // (through the gRPC server, which also warms its JIT up, and through Emmett)
    for (const [i, layer] of [layers[7]!, layers.at(-1)!].entries()) {
      const open = await layer.open();
      try {
        await runClosedLoop({
          label: `prime${i}`,
          clients: 8,
          eventsPerAppend: 100,
          warmupMs: 0,
          measureMs: 120_000,
          maxAppends: Math.ceil(bench.primeEvents / 100),
          append: withEvents(open.append, 100),
        });
      } finally {
        await open.close();
      }
    }
    for (const layer of chosen) {
      await analyze(urls[layer.db]);
      await checkpoint(bench.adminUrl);
      const open = await layer.open();
      try {
        const meter = cpuMeter({ serverPid: layer.serverPid, postgresIsLocal });
        const r = await runClosedLoop({
          label: `p${results.length}`,
          clients,
          eventsPerAppend,
          warmupMs: bench.warmupSeconds * 1000,
          measureMs: seconds * 1000,
          append: withEvents(open.append, eventsPerAppend),
          window: meter,
        });
        if (r.cpu && postgresIsLocal) r.cpu = meter.restrict(r.cpu, await postgresPids(bench.adminUrl, DATABASES[layer.db]));
        results.push([layer, r]);
        process.stdout.write(
          `${layer.name.padEnd(42)} ${Math.round(r.appendsPerSecond).toString().padStart(6)} calls/s  p50 ${r.p50.toFixed(2)} ms\n`,
        );
      } finally {
        await open.close();
      }
    }
  } finally {
    await server.stop();
  }

  const per = (r: RunResult, v: number | null | undefined) =>
    r.cpu && v != null ? Math.round((v * 1000) / r.appends).toLocaleString('en-US') : 'n/a';
  const head = [
    'layer',
    'calls/s',
    'p50 ms',
    'p99 ms',
    'bench µs/call',
    'server µs/call',
    'PG µs/call',
    'total µs/call',
    'cores busy',
    'other load',
    'steal',
  ];
  const body = results.map(([layer, r]) => [
    layer.name,
    Math.round(r.appendsPerSecond).toLocaleString('en-US'),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    per(r, r.cpu?.bench),
    layer.serverPid ? per(r, r.cpu?.server) : '–',
    per(r, r.cpu?.postgres),
    per(r, r.cpu ? r.cpu.bench + (r.cpu.server ?? 0) + (r.cpu.postgres ?? 0) : null),
    ...loadCells(r.cpu, seconds),
  ]);
  process.stdout.write(`\n${textTable(head, body)}\n`);
  if (bench.write) {
    const md = markdownTable(head, body);
    writeSection(
      REPORT,
      `${SECTION}

Where one AUREN append spends its time, at ${eventsPerAppend} event(s) per append and ${clients} closed-loop clients,
${seconds} s per layer after ${bench.warmupSeconds} s warm-up, run ${new Date().toISOString()} on ${facts.cores} cores, Node ${facts.node},
${facts.postgres.split(' on ')[0]}. Command: \`npx tsx bench/profile.ts\`. Layers 1–6 run in the bench process against
\`auren_bench\`'s schema; 7–11 go through the server spawned as in the throughput bench (10–11 call it with @grpc/grpc-js
instead of the Connect client, to tell client cost from server cost). Both databases are primed
(${bench.primeEvents.toLocaleString('en-US')} events each, untimed, in appends of 100) and each layer's database is analyzed before its turn. CPU is per call, from /proc, over the measured window.

${md}
`,
      SECTION,
    );
    process.stdout.write(`\nwrote ${REPORT}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
