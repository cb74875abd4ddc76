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
  /** PORT (connect-node). */
  baseUrl: string;
  /** GRPC_PORT (grpc-js). */
  grpcBaseUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * How the server is started: `node --import tsx src/cli.ts`, or, with BENCH_SERVER_ENTRY set to a
 * compiled cli.js (e.g. dist/cli.js after `npm run build`), plain `node <entry>`.
 */
export function serverArgs(): string[] {
  const entry = process.env.BENCH_SERVER_ENTRY;
  return entry ? [entry] : ['--import', 'tsx', 'src/cli.ts'];
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
  try {
    await waitUntilServing(baseUrl, child, exited, () => output);
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
  return {
    baseUrl,
    grpcBaseUrl: `http://127.0.0.1:${grpcPort}`,
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
