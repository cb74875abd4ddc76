// The figures of the append benchmark before issue 9, kept for the "before" columns: BENCHMARKS.md
// of commit 16f71ae (run 2026-11-26T09:39:44Z on this machine: 2 cores, Node 20, PostgreSQL 15).
// The server then: one listener (PORT, connect-node), one append_to_stream() transaction per
// append, no group commit. Called by @grpc/grpc-js clients in the bench process, one connection
// each; a new stream per append, expected NO_STREAM; 5 s measured after 1 s warm-up.

/** AUREN's figures then, by events per append and clients. */
export interface Before {
  appendsPerSecond: number;
  eventsPerSecond: number;
  p50: number;
  p99: number;
  /** CPU per append, µs: the bench process (clients), the server, PostgreSQL. */
  clientUs: number;
  serverUs: number;
  postgresUs: number;
}

export const BEFORE_RUN = '2026-11-26T09:39:44Z (BENCHMARKS.md of 16f71ae)';

export const BEFORE: Record<string, Before> = {
  '1x1': { appendsPerSecond: 181, eventsPerSecond: 181, p50: 4.79, p99: 15.4, clientUs: 1_895, serverUs: 3_433, postgresUs: 919 },
  '1x8': { appendsPerSecond: 384, eventsPerSecond: 384, p50: 18.9, p99: 55.9, clientUs: 1_052, serverUs: 2_278, postgresUs: 839 },
  '1x32': { appendsPerSecond: 514, eventsPerSecond: 514, p50: 61.7, p99: 116.1, clientUs: 756, serverUs: 1_637, postgresUs: 782 },
  '100x1': { appendsPerSecond: 63, eventsPerSecond: 6_280, p50: 15.4, p99: 27.4, clientUs: 4_122, serverUs: 8_408, postgresUs: 4_331 },
  '100x8': { appendsPerSecond: 110, eventsPerSecond: 10_980, p50: 69.8, p99: 123.2, clientUs: 3_430, serverUs: 7_067, postgresUs: 4_317 },
  '100x32': { appendsPerSecond: 94, eventsPerSecond: 9_400, p50: 333.4, p99: 473.4, clientUs: 4_278, serverUs: 8_553, postgresUs: 4_745 },
};

/** The before figures of one scenario, if there are any. */
export const before = (eventsPerAppend: number, clients: number): Before | undefined => BEFORE[`${eventsPerAppend}x${clients}`];
