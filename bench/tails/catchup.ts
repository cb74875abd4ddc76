import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import pg from 'pg';
import { EventStoreService } from '../../src/gen/auren/v1/events_pb.js';
import { cpuMeter } from '../cpu.js';
import type { CpuSnapshot } from '../cpu.js';
import { postgresPids } from '../databases.js';
import { EVENT_TYPE, payloads } from '../payload.js';
import { connectWire, headerBlock } from '../wire/h2c.js';
import { PATHS, subscribeToAllRequest, tailMessageKind } from '../wire/messages.js';
import { eventStoreClient, subscribeToAll } from './grpc.js';

const LOAD_BATCH = 1_000;
const LOAD_CONNECTIONS = 2;

/** How the stored events were loaded. */
export interface LoadResult {
  events: number;
  seconds: number;
}

/**
 * Stores `count` events fast, bypassing the server: `select append_to_stream(...)` with
 * 1,000-event JSON batches (one new stream per batch) on two connections, then ANALYZE.
 */
export async function loadEvents(databaseUrl: string, count: number, streamPrefix = 'catchup'): Promise<LoadResult> {
  const started = performance.now();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: LOAD_CONNECTIONS });
  const batches = Math.ceil(count / LOAD_BATCH);
  let next = 0;
  try {
    const worker = async (w: number) => {
      for (let b = next++; b < batches; b = next++) {
        const size = Math.min(LOAD_BATCH, count - b * LOAD_BATCH);
        const events = payloads(w, b, size).map((data) => ({
          event_id: randomUUID(),
          type: EVENT_TYPE,
          data,
          metadata: {},
          correlation_id: null,
          causation_id: null,
        }));
        const result = await pool.query<{ outcome: string }>("select outcome from append_to_stream($1, 'no_stream', 0, $2::jsonb)", [
          `${streamPrefix}-${b}`,
          JSON.stringify(events),
        ]);
        if (result.rows[0]?.outcome !== 'appended') throw new Error(`loading batch ${b}: ${result.rows[0]?.outcome}`);
      }
    };
    await Promise.all(Array.from({ length: LOAD_CONNECTIONS }, (_, w) => worker(w)));
    await pool.query('analyze');
  } finally {
    await pool.end();
  }
  return { events: count, seconds: (performance.now() - started) / 1000 };
}

/** One catch-up read of the whole log. */
export interface CatchUpResult {
  client: 'wire' | 'grpc-js' | 'connect';
  events: number;
  /** False when the read was stopped at the time limit before caught_up. */
  caughtUp: boolean;
  seconds: number;
  eventsPerSecond: number;
  /** Seconds to the first event: the server's first page. */
  firstEventSeconds: number;
  cpu: CpuSnapshot | null;
}

export interface CatchUpOptions {
  baseUrl: string;
  serverPid: number;
  adminUrl: string;
  database: string;
  postgresIsLocal: boolean;
  /** Events the log holds: a tail that caught up must have delivered exactly these. */
  expected: number;
  /** Stop reading after this long even if not caught up (the rate is then over what was read). */
  maxSeconds: number;
}

/**
 * SubscribeToAll from the start until caught_up, with the bench's wire client: each message's
 * kind is read from its first byte and events are counted, not decoded — the server's pace with
 * a client that costs next to nothing.
 */
export async function catchUpWire(options: CatchUpOptions): Promise<CatchUpResult> {
  const url = new URL(options.baseUrl);
  const connection = await connectWire(url.hostname, Number(url.port));
  try {
    return await measure('wire', options, async (onEvent, deadline) => {
      let caughtUp = false;
      let late = false;
      let unknown: number | undefined;
      void deadline.then(() => (late = true));
      const read = connection.stream(
        headerBlock(url.host, PATHS.subscribeToAll),
        PATHS.subscribeToAll,
        subscribeToAllRequest('start'),
        (m) => {
          const kind = tailMessageKind(m);
          if (kind === 'event') onEvent();
          else if (kind === 'caughtUp') caughtUp = true;
          else if (kind === 'unknown') unknown = m[0];
          return !caughtUp && !late && unknown === undefined;
        },
      );
      read.catch(() => undefined); // a read still open at the deadline fails when the connection closes
      // The deadline also ends a read that gets no message at all.
      await Promise.race([read, deadline]);
      if (unknown !== undefined) throw new Error(`SubscribeToAll: a message starting with byte ${unknown}`);
      if (!caughtUp && !late) throw new Error('SubscribeToAll ended before caught_up');
      return caughtUp;
    });
  } finally {
    connection.close();
  }
}

/** SubscribeToAll from the start until caught_up, with the grpc-js client. */
export async function catchUpGrpcJs(options: CatchUpOptions): Promise<CatchUpResult> {
  const client = eventStoreClient(options.baseUrl);
  try {
    return await measure('grpc-js', options, async (onEvent, deadline) => {
      const tail = subscribeToAll(client, 'start', (message) => {
        if (message.message === 'event') onEvent();
      });
      try {
        return await Promise.race([tail.caughtUp.then(() => true), tail.failed, deadline.then(() => false)]);
      } finally {
        tail.cancel();
      }
    });
  } finally {
    client.close();
  }
}

/** SubscribeToAll from the start until caught_up, with connect-node's client (gRPC protocol, HTTP/2). */
export async function catchUpConnect(options: CatchUpOptions): Promise<CatchUpResult> {
  const sessionManager = new Http2SessionManager(options.baseUrl);
  const client = createClient(
    EventStoreService,
    createGrpcTransport({ baseUrl: options.baseUrl, sessionManager, readMaxBytes: 64 * 1024 * 1024 }),
  );
  const abort = new AbortController();
  try {
    return await measure('connect', options, async (onEvent, deadline) => {
      let late = false;
      void deadline.then(() => {
        late = true;
        abort.abort();
      });
      try {
        for await (const response of client.subscribeToAll({ from: { case: 'start', value: {} } }, { signal: abort.signal })) {
          if (response.message.case === 'event') onEvent();
          else if (response.message.case === 'caughtUp') return true;
        }
        throw new Error('SubscribeToAll ended before caught_up');
      } catch (error) {
        if (late) return false;
        throw error;
      }
    });
  } finally {
    abort.abort();
    sessionManager.abort();
  }
}

async function measure(
  client: CatchUpResult['client'],
  options: CatchUpOptions,
  read: (onEvent: () => void, deadline: Promise<void>) => Promise<boolean>,
): Promise<CatchUpResult> {
  const meter = cpuMeter({ serverPid: options.serverPid, postgresIsLocal: options.postgresIsLocal });
  let events = 0;
  let first = 0;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.maxSeconds * 1000)));
  const started = performance.now();
  meter.start();
  let caughtUp: boolean;
  try {
    caughtUp = await read(() => {
      if (events++ === 0) first = performance.now();
    }, deadline);
  } finally {
    clearTimeout(timer);
  }
  const seconds = (performance.now() - started) / 1000;
  let cpu: CpuSnapshot | null = meter.stop();
  if (options.postgresIsLocal) cpu = meter.restrict(cpu, await postgresPids(options.adminUrl, options.database));
  if (caughtUp && events !== options.expected)
    throw new Error(`catch-up with ${client}: ${events} events before caught_up, expected ${options.expected}`);
  return { client, events, caughtUp, seconds, eventsPerSecond: events / seconds, firstEventSeconds: (first - started) / 1000, cpu };
}
