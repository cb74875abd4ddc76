// `npx tsx bench/callCost.ts`: server CPU per call on PORT (connect-node) and GRPC_PORT
// (grpc-js), driven by h2load (Debian's nghttp2-client) over gRPC, read from /proc/<pid>/stat.
// Calls: grpc.health.v1.Health/Check (no database) and a one-event AppendToStream.
// BENCH_CALLS (default 20000), BENCH_CONNECTIONS (8), BENCH_STREAMS (concurrent streams per
// connection, 1), BENCH_DATABASE_URL (server to create the bench database on).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import pg from 'pg';
import { AppendToStreamRequestSchema } from '../src/gen/auren/v1/events_pb.js';
import { HealthCheckRequestSchema } from '../src/gen/health/v1/health_pb.js';
import { startServer } from './server.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 1);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DATABASE = 'auren_bench_call_cost';

/** utime + stime of a process, in milliseconds. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** A gRPC request body: the 5-byte envelope and the message. */
function grpcBody<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Buffer {
  const message = toBinary(schema, create(schema, init));
  const envelope = Buffer.alloc(5);
  envelope.writeUInt32BE(message.length, 1);
  return Buffer.concat([envelope, message]);
}

function h2load(url: string, bodyFile: string, calls: number): string {
  return execFileSync(
    'h2load',
    [
      '-n',
      String(calls),
      '-c',
      String(CONNECTIONS),
      '-m',
      String(STREAMS),
      '-d',
      bodyFile,
      '-H',
      'content-type: application/grpc',
      '-H',
      'te: trailers',
      url,
    ],
    { encoding: 'utf8' },
  );
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${DATABASE} with (force)`);
  await admin.query(`create database ${DATABASE}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DATABASE}`;
  const server = await startServer(url.toString(), 16);
  const dir = mkdtempSync(path.join(tmpdir(), 'auren-call-cost-'));
  const bodies = {
    'Health/Check': ['/grpc.health.v1.Health/Check', grpcBody(HealthCheckRequestSchema, {})],
    'AppendToStream (1 event)': [
      '/auren.v1.EventStoreService/AppendToStream',
      grpcBody(AppendToStreamRequestSchema, {
        streamId: 'bench-call-cost',
        events: [{ type: 'sleep_logged', data: { hours: 6.5, quality: 'poor', tags: ['night', 'wake'] } }],
      }),
    ],
  } as const;
  try {
    process.stdout.write(`${CALLS} calls, ${CONNECTIONS} connections, ${STREAMS} streams each; server CPU per call\n`);
    for (const [name, [route, body]] of Object.entries(bodies)) {
      const file = path.join(dir, name.replace(/\W+/g, '_'));
      writeFileSync(file, body);
      for (const [listener, base] of [
        ['PORT', server.baseUrl],
        ['GRPC_PORT', server.grpcUrl],
      ] as const) {
        h2load(base + route, file, Math.min(CALLS, 2_000)); // warm-up: JIT, connections, pool
        const before = cpuMs(server.pid);
        const started = process.hrtime.bigint();
        const output = h2load(base + route, file, CALLS);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const perCall = ((cpuMs(server.pid) - before) * 1000) / CALLS;
        const succeeded = /(\d+) succeeded/.exec(output)?.[1];
        process.stdout.write(
          `${name.padEnd(26)} ${listener.padEnd(9)} ${perCall.toFixed(0).padStart(5)} µs/call  ` +
            `${(CALLS / seconds).toFixed(0).padStart(6)} calls/s  (${succeeded} of ${CALLS} succeeded at HTTP level)\n`,
        );
      }
    }
  } finally {
    await server.stop();
  }
}

await main();
