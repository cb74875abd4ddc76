// Settings of the MemoryService part of `npm run bench`, all from environment variables.

export interface MemoryConfig {
  /** Memories bulk-loaded before the measurements (BENCH_MEMORIES, default 1000000). */
  memories: number;
  /** Agents the memories belong to. */
  agents: number;
  /** People the memories are about. */
  users: number;
  /** Measured seconds per timed run (BENCH_MEMORY_SECONDS, default 8). */
  seconds: number;
  /** Untimed seconds before each timed run (BENCH_MEMORY_WARMUP_SECONDS, default 1). */
  warmupSeconds: number;
}

/** The bench database, dropped and created on every run. */
export const MEMORY_DATABASE = 'auren_memory_bench';
/** DB_POOL_SIZE of the spawned server. */
export const MEMORY_SERVER_POOL = 16;
/** Concurrent closed-loop clients of the concurrent runs. */
export const MEMORY_CLIENTS = 8;
/** Agents that advise one person: a person's memories come from this many agents. */
export const AGENTS_PER_USER = 3;
/** Share of memories with an expiry (all in the future). */
export const EXPIRING_SHARE = 0.05;
/** How far back created_at is spread. */
export const HISTORY_DAYS = 90;

/** Goals of the read paths, in milliseconds. */
export const MEMORY_GOALS = { getP99: 5, listP99: 10, searchP95: 50, storePerSecond: 1_000 } as const;

export function loadMemoryConfig(env: NodeJS.ProcessEnv = process.env): MemoryConfig {
  return {
    memories: Math.round(positive('BENCH_MEMORIES', env.BENCH_MEMORIES, 1_000_000)),
    agents: 100,
    users: 10_000,
    seconds: positive('BENCH_MEMORY_SECONDS', env.BENCH_MEMORY_SECONDS, 8),
    warmupSeconds: positive('BENCH_MEMORY_WARMUP_SECONDS', env.BENCH_MEMORY_WARMUP_SECONDS, 1, true),
  };
}

function positive(name: string, value: string | undefined, fallback: number, zeroOk = false): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zeroOk)) throw new Error(`${name}=${value}: expects a positive number`);
  return n;
}
