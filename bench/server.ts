import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { Health, HealthCheckResponse_ServingStatus } from '../src/gen/health/v1/health_pb.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STARTUP_TIMEOUT_MS = 60_000;

/** The AUREN server running as a child process. */
export interface ServerProcess {
  /** PORT: connect-node (Connect, gRPC-Web, gRPC) and /healthz. */
  baseUrl: string;
  /**
   * Where gRPC clients call: GRPC_PORT (the @grpc/grpc-js listener) when the server opened it,
   * else PORT (a server from before that listener ignores GRPC_PORT).
   */
  grpcUrl: string;
  /** Which listener grpcUrl is, for the report. */
  grpcListener: 'GRPC_PORT (@grpc/grpc-js)' | 'PORT (connect-node)';
  pid: number;
  stop(): Promise<void>;
}

/**
 * How the server is started: `node --import tsx src/cli.ts`, or, with BENCH_SERVER_ENTRY set to a
 * compiled cli.js (e.g. dist/cli.js after `npm run build`), plain `node <entry>`; a .ts entry
 * runs with `--import tsx` too.
 */
export function serverArgs(): string[] {
  const entry = process.env.BENCH_SERVER_ENTRY;
  // BENCH_SERVER_CPU_PROF=DIR: every spawned server writes a V8 CPU profile there when it stops
  // (summarize with `npx tsx bench/cpuProfile.ts FILE`). It costs the server CPU: not for figures.
  const profile = process.env.BENCH_SERVER_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_SERVER_CPU_PROF] : [];
  // A .ts entry (another checkout's src/cli.ts, say) runs through tsx as ours does.
  const main = entry ? (entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry]) : ['--import', 'tsx', 'src/cli.ts'];
  return [...profile, ...main];
}

/**
 * Spawns `node --import tsx src/cli.ts serve` on a free port and waits until grpc.health.v1 says
 * SERVING. `env` adds or overrides settings of the server (e.g. TAIL_NOTIFY for the tails bench).
 */
export async function startServer(databaseUrl: string, poolSize: number, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const grpcPort = await freePort();
  const child = spawn(process.execPath, [...serverArgs(), 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      GRPC_PORT: String(grpcPort),
      LOG_LEVEL: 'warn',
      DB_POOL_SIZE: String(poolSize),
      // The bench's clients send no API key (issue 11): their calls act as the anonymous admin.
      // What checking a key costs is measured apart, by bench/security.ts.
      AUTH_ANONYMOUS: 'true',
      AUREN_SECRET: 'bench-secret-bench-secret-bench-secret-00',
      // The projections are measured by their own bench (bench/projections/): here the event
      // store and MemoryService alone, as Emmett and plain pg have none. Without it, every server
      // would start an embedded Chroma and project each memory event into it while measured.
      CHROMA_URL: 'off',
      // Every bench client is the one anonymous principal: the per-key cap on open calls (a
      // limit for one agent's key) would refuse the idle-subscribers run's thousand tails.
      MAX_CALLS_PER_KEY: '100000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const baseUrl = `http://127.0.0.1:${port}`;
  let grpcJs: boolean;
  try {
    await waitUntilServing(baseUrl, child, exited, () => output);
    grpcJs = await listening(grpcPort);
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
  if (process.env.BENCH_REQUIRE_GRPC_PORT === '1' && !grpcJs) {
    await stopChild(child, exited);
    throw new Error('BENCH_REQUIRE_GRPC_PORT=1 but the server does not listen on GRPC_PORT');
  }
  return {
    baseUrl,
    grpcUrl: grpcJs ? `http://127.0.0.1:${grpcPort}` : baseUrl,
    grpcListener: grpcJs ? 'GRPC_PORT (@grpc/grpc-js)' : 'PORT (connect-node)',
    pid: child.pid!,
    stop: () =>
      stopChild(child, exited).then(() => {
        if (output.trim()) process.stderr.write(`server output (LOG_LEVEL=warn):\n${output}\n`);
      }),
  };
}

async function waitUntilServing(baseUrl: string, child: ChildProcess, exited: Promise<number | null>, output: () => string): Promise<void> {
  const sessions = new Http2SessionManager(baseUrl);
  const health = createClient(Health, createGrpcTransport({ baseUrl, sessionManager: sessions }));
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  try {
    for (;;) {
      if (dead) throw new Error(`the server exited with code ${child.exitCode} before serving:\n${output()}`);
      try {
        const response = await health.check({ service: '' }, { timeoutMs: 1_000 });
        if (response.status === HealthCheckResponse_ServingStatus.SERVING) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the server did not report SERVING within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    sessions.abort();
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Whether something accepts connections on 127.0.0.1:port (tried for up to 2 s). */
async function listening(port: number): Promise<boolean> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok || Date.now() > deadline) return ok;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A TCP port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
