// `npx tsx bench/profileServer.ts [append1|append100|health|catchup] [clients] [seconds]`: the
// server under one load, with `node --cpu-prof`, then where its samples went (bench/cpuProfile.ts).
// The load comes from the bench's wire client (bench/wire/h2c.ts), so the profile is the server's.
// Profiling slows the server: its figures are for finding hot spots, not for BENCHMARKS.md.
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatProfile, summarizeProfile } from './cpuProfile.js';
import { recreateDatabases } from './databases.js';
import { payloads } from './payload.js';
import { startServer } from './server.js';
import { loadEvents } from './tails/catchup.js';
import { connectWire, headerBlock } from './wire/h2c.js';
import { appendRequests, PATHS } from './wire/messages.js';

const LOADS = ['append1', 'append100', 'health', 'catchup'] as const;
type Load = (typeof LOADS)[number];

async function main(): Promise<void> {
  const load = (process.argv[2] ?? 'append1') as Load;
  if (!LOADS.includes(load)) throw new Error(`load ${load}: expects ${LOADS.join(', ')}`);
  const clients = Number(process.argv[3] ?? 8);
  const seconds = Number(process.argv[4] ?? 10);
  const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'auren-profile-'));
  process.env.BENCH_SERVER_CPU_PROF = dir;
  const urls = await recreateDatabases(adminUrl);
  // The profile starts with the process: the load's window in it, roughly (to a few ms).
  const spawned = performance.now();
  const server = await startServer(urls.auren, 32);
  const url = new URL(server.grpcUrl);
  let calls = 0;
  let window = { from: 0, to: Number.POSITIVE_INFINITY };
  try {
    if (load === 'catchup') await loadEvents(urls.auren, 200_000);
    const connections = await Promise.all(Array.from({ length: clients }, () => connectWire(url.hostname, Number(url.port))));
    const started = performance.now();
    const until = started + seconds * 1000;
    if (load === 'catchup') {
      const headers = headerBlock(url.host, PATHS.subscribeToAll);
      // SubscribeToAll from the start ({start: {}}: field 1, empty), read until caught_up (field 2).
      await connections[0]!.stream(headers, PATHS.subscribeToAll, Buffer.from([0x0a, 0x00]), (m) => {
        calls++;
        return m[0] !== 0x12 && performance.now() < until;
      });
    } else {
      const path = load === 'health' ? PATHS.health : PATHS.append;
      const headers = headerBlock(url.host, path);
      const request = appendRequests(payloads(0, 0, load === 'append100' ? 100 : 1) as never, 'no_stream');
      await Promise.all(connections.map(async (connection, c) => {
        for (let n = 0; performance.now() < until; n++) {
          await connection.unary(headers, path, load === 'health' ? Buffer.alloc(0) : request(`profile-${c}-${n}`));
          calls++;
        }
      }));
    }
    const elapsed = (performance.now() - started) / 1000;
    window = { from: (started - spawned) / 1000, to: (performance.now() - spawned) / 1000 };
    process.stdout.write(`${load}: ${calls} calls (messages for catchup) in ${elapsed.toFixed(1)} s, ${Math.round(calls / elapsed)}/s, on ${server.grpcListener}\n`);
    for (const connection of connections) connection.close();
  } finally {
    await server.stop();
  }
  // One profile per thread (tsx's loader runs in a worker): the main thread's is the largest.
  const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(path.join(dir, b)).size - statSync(path.join(dir, a)).size)[0];
  if (!file) throw new Error(`no profile in ${dir}`);
  process.stdout.write(`profile: ${path.join(dir, file)}\n${formatProfile(summarizeProfile(path.join(dir, file), 30, window.from, window.to))}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
