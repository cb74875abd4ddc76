// Settings of `npm run bench`, all from environment variables.

/** How the gRPC clients reach the server. */
export type GrpcConnections = 'per-client' | 'shared';

export interface BenchConfig {
  /** Measured seconds per scenario and target (BENCH_SECONDS, default 5). */
  seconds: number;
  /** Warm-up seconds before each measurement, not counted (BENCH_WARMUP_SECONDS, default 1). */
  warmupSeconds: number;
  /**
   * Events each target stores, untimed, before the first scenario (BENCH_PRIME_EVENTS, default
   * 20000, in appends of 100). A store holding data is the steady state; on near-empty tables
   * PostgreSQL picks other plans (AUREN's duplicate check hash-joins a sequential scan of events
   * until the table has roughly 5,000 rows), which would time a start-up effect instead.
   */
  primeEvents: number;
  /** Server the bench databases are created on (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test). */
  adminUrl: string;
  /** One HTTP/2 connection per client, or one shared by all (BENCH_GRPC_CONNECTIONS, default per-client). */
  grpcConnections: GrpcConnections;
  /** DB_POOL_SIZE given to the spawned server (BENCH_SERVER_POOL_SIZE, default: the largest concurrency). */
  serverPoolSize: number;
  /** Write BENCHMARKS.md (BENCH_WRITE=0 to only print). */
  write: boolean;
  scenarios: Scenario[];
  /** Client counts of the hot-stream runs (h2load). */
  hotClients: number[];
  /** Also time AUREN with @grpc/grpc-js clients, single-event appends (BENCH_GRPCJS_TABLE=0 to skip). */
  grpcJsTable: boolean;
}

/** One cell of the matrix: events per append × concurrent closed-loop clients. */
export interface Scenario {
  eventsPerAppend: number;
  clients: number;
}

export const EVENTS_PER_APPEND = [1, 100];
export const CLIENTS = [1, 8, 32];

export function loadBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const grpcConnections = env.BENCH_GRPC_CONNECTIONS || 'per-client';
  if (grpcConnections !== 'per-client' && grpcConnections !== 'shared') {
    throw new Error(`BENCH_GRPC_CONNECTIONS=${grpcConnections}: expects per-client or shared`);
  }
  const scenarios = EVENTS_PER_APPEND.flatMap((eventsPerAppend) => CLIENTS.map((clients) => ({ eventsPerAppend, clients })));
  return {
    seconds: positive('BENCH_SECONDS', env.BENCH_SECONDS, 5),
    warmupSeconds: positive('BENCH_WARMUP_SECONDS', env.BENCH_WARMUP_SECONDS, 1, true),
    primeEvents: Math.round(positive('BENCH_PRIME_EVENTS', env.BENCH_PRIME_EVENTS, 20_000, true)),
    adminUrl: env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    grpcConnections,
    serverPoolSize: positive('BENCH_SERVER_POOL_SIZE', env.BENCH_SERVER_POOL_SIZE, Math.max(...CLIENTS)),
    write: env.BENCH_WRITE !== '0',
    scenarios,
    hotClients: CLIENTS,
    grpcJsTable: env.BENCH_GRPCJS_TABLE !== '0',
  };
}

function positive(name: string, value: string | undefined, fallback: number, zeroOk = false): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zeroOk)) throw new Error(`${name}=${value}: expects a positive number`);
  return n;
}
