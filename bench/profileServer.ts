// `npx tsx bench/profileServer.ts [all|append1|append100|health|catchup|store|get] [clients] [seconds]`:
// the server under one load (or the first four in turn: `all`, the default), with `node --cpu-prof`,
// then where its samples went (bench/cpuProfile.ts). BENCH_NO_PROFILE=1: no profiler, only the
// rate and the server's CPU per call (for A/B runs of one load). The load comes from the bench's wire client
// (bench/wire/h2c.ts), so the profile is the server's. Profiling slows the server: its rates are
// for finding hot spots, not for comparing. `all` writes its section of BENCHMARKS.md (BENCH_WRITE=0: print only).
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { cpuMeter } from './cpu.js';
import { formatProfile, summarizeProfile } from './cpuProfile.js';
import type { ProfileSummary } from './cpuProfile.js';
import { machineFacts, recreateDatabases } from './databases.js';
import { payloads } from './payload.js';
import { serverArgs, startServer } from './server.js';
import { markdownTable, writeSection } from './tables.js';
import { loadEvents } from './tails/catchup.js';
import type { StoreRequest } from './memory/grpc.js';
import { encodeStores, wireMemoryClient } from './memory/wire.js';
import { WORDS } from './memory/words.js';
import { connectWire, headerBlock } from './wire/h2c.js';
import { appendRequests, PATHS, subscribeToAllRequest, tailMessageKind } from './wire/messages.js';

const LOADS = {
  append1: 'AppendToStream, 1 event, new stream each',
  append100: 'AppendToStream, 100 events, new stream each',
  health: 'grpc.health.v1.Health/Check',
  catchup: 'SubscribeToAll from the start of 200,000 stored events (one reader)',
  store: 'StoreMemory, a new memory each (x-auren-agent set)',
  get: 'GetMemory of a random one of 20,000 memories stored first (read audit on)',
} as const;
type Load = keyof typeof LOADS;

const REPORT = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
const SECTION = "## Where the server's CPU goes";
const CATCHUP_EVENTS = 200_000;

interface Profiled {
  load: Load;
  clients: number;
  calls: number;
  seconds: number;
  listener: string;
  summary: ProfileSummary;
}

async function profile(load: Load, clients: number, seconds: number, adminUrl: string): Promise<Profiled> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'auren-profile-'));
  if (process.env.BENCH_NO_PROFILE !== '1') process.env.BENCH_SERVER_CPU_PROF = dir;
  const urls = await recreateDatabases(adminUrl);
  // The profile starts with the process: the load's window in it, roughly (to a few ms).
  const spawned = performance.now();
  const server = await startServer(urls.auren, 32);
  delete process.env.BENCH_SERVER_CPU_PROF;
  const url = new URL(server.grpcUrl);
  let calls = 0;
  let window = { from: 0, to: Number.POSITIVE_INFINITY };
  let elapsed = 0;
  // The server's CPU over the load's window (with the profiler off: its own cost would count).
  const meter = cpuMeter({ serverPid: server.pid, postgresIsLocal: false });
  let serverMs: number | null = null;
  try {
    if (load === 'catchup') await loadEvents(urls.auren, CATCHUP_EVENTS);
    if (load === 'store' || load === 'get') {
      const run = await memoryLoad(load, server.grpcUrl, clients, seconds);
      calls = run.calls;
      elapsed = (run.ended - run.started) / 1000;
      window = { from: (run.started - spawned) / 1000, to: (run.ended - spawned) / 1000 };
    } else {
      const connections = await Promise.all(
        Array.from({ length: load === 'catchup' ? 1 : clients }, () => connectWire(url.hostname, Number(url.port))),
      );
      const started = performance.now();
      const until = started + seconds * 1000;
      meter.start();
      if (load === 'catchup') {
        await connections[0]!.stream(
          headerBlock(url.host, PATHS.subscribeToAll),
          PATHS.subscribeToAll,
          subscribeToAllRequest('start'),
          (m) => {
            calls++;
            return tailMessageKind(m) !== 'caughtUp' && performance.now() < until;
          },
        );
      } else {
        const method = load === 'health' ? PATHS.health : PATHS.append;
        const headers = headerBlock(url.host, method);
        const request = appendRequests(payloads(0, 0, load === 'append100' ? 100 : 1) as never, 'no_stream');
        await Promise.all(
          connections.map(async (connection, c) => {
            for (let n = 0; performance.now() < until; n++) {
              await connection.unary(headers, method, load === 'health' ? Buffer.alloc(0) : request(`profile-${c}-${n}`));
              calls++;
            }
          }),
        );
      }
      serverMs = meter.stop().server;
      elapsed = (performance.now() - started) / 1000;
      window = { from: (started - spawned) / 1000, to: (performance.now() - spawned) / 1000 };
      for (const connection of connections) connection.close();
    }
  } finally {
    await server.stop();
  }
  if (process.env.BENCH_NO_PROFILE === '1') {
    const perCall = serverMs === null ? '' : `, server CPU ${((serverMs * 1000) / calls).toFixed(1)} µs each`;
    process.stdout.write(`${load}: ${calls} calls in ${elapsed.toFixed(1)} s: ${Math.round(calls / elapsed)}/s${perCall} (no profiler)\n`);
    process.exit(0);
  }
  // One profile per thread (tsx's loader runs in a worker): the main thread's is the largest.
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(path.join(dir, b)).size - statSync(path.join(dir, a)).size)[0];
  if (!file) throw new Error(`no profile in ${dir}`);
  process.stdout.write(
    `${load}: ${calls} ${load === 'catchup' ? 'messages' : 'calls'} in ${elapsed.toFixed(1)} s on ${server.grpcListener}; profile ${path.join(dir, file)}\n`,
  );
  return {
    load,
    clients: load === 'catchup' ? 1 : clients,
    calls,
    seconds: elapsed,
    listener: server.grpcListener,
    summary: summarizeProfile(path.join(dir, file), 15, window.from, window.to),
  };
}

/**
 * StoreMemory or GetMemory from `clients` wire clients for `seconds`, closed loop. GetMemory first
 * stores 20,000 memories (untimed, outside the profile's window) and reads random ones of them.
 */
async function memoryLoad(
  load: 'store' | 'get',
  grpcUrl: string,
  clients: number,
  seconds: number,
): Promise<{ calls: number; started: number; ended: number }> {
  const agents = Array.from({ length: 20 }, (_, i) => `profile-agent-${i}`);
  const requests: StoreRequest[] = Array.from({ length: 2_000 }, (_, i) => ({
    agentId: agents[i % agents.length]!,
    userId: `profile-user-${i % 500}`,
    type: ['fact', 'analysis', 'insight', 'decision'][i % 4]!,
    text: Array.from({ length: 6 + (i % 14) }, (_, w) => WORDS[(i * 31 + w * 7) % WORDS.length]).join(' '),
    channel: 'chat',
    confidence: (i % 100) / 100,
  }));
  const stores = encodeStores(requests, new URL(grpcUrl).host);
  const wire = await Promise.all(Array.from({ length: clients }, () => wireMemoryClient(grpcUrl, stores, 'profile-reader')));
  const ids: string[] = [];
  if (load === 'get') {
    await Promise.all(
      wire.map(async (client, c) => {
        for (let i = c; i < 20_000; i += clients) ids.push(await client.store(i));
      }),
    );
  }
  let calls = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    wire.map(async (client, c) => {
      for (let n = c; performance.now() < until; n += clients) {
        if (load === 'store') await client.store(n);
        else await client.get(ids[Math.floor(Math.random() * ids.length)]!);
        calls++;
      }
    }),
  );
  const ended = performance.now();
  for (const client of wire) client.close();
  return { calls, started, ended };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function section(results: Profiled[], facts: Awaited<ReturnType<typeof machineFacts>>, seconds: number): string {
  const parts = results.map((r) => {
    const s = r.summary;
    return `### ${LOADS[r.load]}, ${r.clients} client${r.clients > 1 ? 's' : ''}

${r.calls.toLocaleString('en-US')} ${r.load === 'catchup' ? 'messages' : 'calls'} in ${r.seconds.toFixed(1)} s (${Math.round(r.calls / r.seconds).toLocaleString('en-US')}/s under the profiler), on ${r.listener}; ${s.samples.toLocaleString('en-US')} samples, ${pct(s.busy / s.samples)} not idle.

${markdownTable(
  ['package or folder', '% of samples'],
  s.areas.slice(0, 12).map((a) => [a.name, pct(a.share)]),
)}

${markdownTable(
  ['function (file:function:line)', '% of samples'],
  s.functions.slice(0, 15).map((f) => [`\`${f.name}\``, pct(f.share)]),
)}`;
  });
  return `${SECTION}

Command: \`npx tsx bench/profileServer.ts\`, run ${new Date().toISOString()}: for each load a fresh server (\`node --cpu-prof ${serverArgs().join(' ')} serve\`, DB_POOL_SIZE=32) on a fresh \`auren_bench\`, driven for ${seconds} s by the bench's wire client; the samples of the server's main thread taken while the load ran, by self time. *(idle)* is the event loop waiting (for PostgreSQL, for the clients, for a core); *(garbage collector)* and *(program)* are V8's. The profiler slows the server, so these rates are lower than the throughput tables'. Machine as above (${facts.cores} cores, Node ${facts.node}).

${parts.join('\n\n')}
`;
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'all';
  const loads = which === 'all' ? (['append1', 'append100', 'health', 'catchup'] as Load[]) : [which as Load];
  for (const load of loads) if (!(load in LOADS)) throw new Error(`load ${load}: expects all or ${Object.keys(LOADS).join(', ')}`);
  const clients = Number(process.argv[3] ?? 8);
  const seconds = Number(process.argv[4] ?? 10);
  const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const results: Profiled[] = [];
  for (const load of loads) {
    const r = await profile(load, clients, seconds, adminUrl);
    results.push(r);
    process.stdout.write(`${formatProfile(r.summary)}\n\n`);
  }
  if (which === 'all' && process.env.BENCH_WRITE !== '0') {
    writeSection(REPORT, section(results, await machineFacts(adminUrl), seconds), SECTION);
    process.stdout.write(`wrote ${REPORT}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
