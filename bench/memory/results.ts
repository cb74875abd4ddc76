// What the MemoryService bench measured: written by run.ts, printed and reported by report.ts.
import type { AuditResult } from './audit.js';
import type { MemoryConfig } from './config.js';
import type { MemoryLoadResult } from './load.js';
import type { LoopResult } from './loop.js';

/** The timed runs, one per call shape. */
export type RunName = 'store' | 'get1' | 'get8' | 'get8GrpcJs' | 'listAgentUser' | 'listUser' | 'listPage2' | 'searchUser' | 'searchAll';

/** One timed run: a call shape at a number of concurrent clients. */
export interface MemoryRun {
  name: RunName;
  clients: number;
  result: LoopResult;
}

/** A query run again under EXPLAIN ANALYZE after the timed runs. */
export interface Plan {
  run: RunName;
  /** Why it was explained. */
  reason: string;
  /** What the timed call asked and how long it took through gRPC. */
  call: string;
  plan: string;
}

/** Everything one MemoryService bench measured. */
export interface MemoryResults {
  config: MemoryConfig;
  load: MemoryLoadResult;
  runs: MemoryRun[];
  audit: AuditResult[];
  plans: Plan[];
  /** Memories stored by the StoreMemory run and read events appended, checked against the database. */
  counts: { stored: number; events: number; memories: number };
  seconds: number;
  /** The gRPC listener the clients called. */
  listener: string;
}
