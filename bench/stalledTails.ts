import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import { EventStoreService } from '../src/gen/auren/v1/events_pb.js';
import { databaseUrl } from './databases.js';
import { startServer } from './server.js';
import pg from 'pg';

// Issue 10, finding 4: tails behind the shared window that never read cost ~1.6 MB each and
// their number had no bound. This opens TAILS tails from the start of a log of EVENTS events of
// ~1 KB (the window holds only the newest TAIL_WINDOW), pauses every one (it reads nothing),
// and reports the server's resident memory before and after, per tail.
// Run: npx tsx bench/stalledTails.ts  (TAILS, EVENTS to change the sizes).

const TAILS = Number(process.env.TAILS ?? 500);
const EVENTS = Number(process.env.EVENTS ?? 20_000);
const admin = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const adminClient = new pg.Client({ connectionString: admin });
await adminClient.connect();
await adminClient.query('drop database if exists auren_stalled_tails with (force)');
await adminClient.query('create database auren_stalled_tails');
await adminClient.end();
const url = databaseUrl(admin, 'auren_stalled_tails');
const server = await startServer(url, 16, { TAIL_WINDOW: '1000', MAX_TAILS: String(TAILS + 100) });
try {
  const client = createClient(EventStoreService, createGrpcTransport({ baseUrl: server.grpcUrl }));
  const data = { text: 'x'.repeat(1_000) };
  for (let i = 0; i < EVENTS; i += 500) {
    await client.appendToStream({ streamId: `stalled-${i}`, events: Array.from({ length: 500 }, () => ({ type: 'filler', data })) });
  }
  await sleep(2_000);
  const before = rssMiB(server.pid);
  // Raw grpc-js calls, paused: HTTP/2 flow control stops the server once the client's window is full.
  const raw = new grpc.Client(server.grpcUrl.replace('http://', ''), grpc.credentials.createInsecure());
  const calls = Array.from({ length: TAILS }, () => {
    const call = raw.makeServerStreamRequest(
      '/auren.v1.EventStoreService/SubscribeToAll',
      () => Buffer.from([0x0a, 0x00]), // from: start
      (b: Buffer) => b,
      {},
    );
    call.on('error', () => undefined);
    call.pause();
    return call;
  });
  await sleep(10_000);
  const after = rssMiB(server.pid);
  for (const call of calls) call.cancel();
  raw.close();
  console.log(
    JSON.stringify({
      tails: TAILS,
      events: EVENTS,
      rssBeforeMiB: Math.round(before),
      rssAfterMiB: Math.round(after),
      perTailKiB: Math.round(((after - before) * 1024) / TAILS),
    }),
  );
} finally {
  await server.stop();
}
