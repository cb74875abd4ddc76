import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { cpuMeter } from '../cpu.js';
import type { CpuSnapshot } from '../cpu.js';
import { EVENT_TYPE, payloads } from '../payload.js';
import { appendAny, eventStoreClient, subscribeToAll, toStruct } from './grpc.js';
import type { EventStoreClient, OpenTail } from './grpc.js';

/** What 1,000 idle subscribers cost the server, and how fast a burst reaches them all. */
export interface IdleResult {
  subscribers: number;
  connections: number;
  /** Seconds from the first SubscribeToAll to the last caught_up. */
  subscribeSeconds: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** Connections the server holds to its database, and how many of them did LISTEN. */
  serverConnections: number;
  listenConnections: number;
  burst: {
    events: number;
    /** Seconds from the first append sent to the last acknowledged. */
    appendSeconds: number;
    /** Seconds from the last acknowledgement until every subscriber had the last event. */
    lastAckToAllSeconds: number;
    /** Seconds from the first append sent until every subscriber had every event. */
    firstSendToAllSeconds: number;
    /** Subscribers that got exactly the appended events, each once, before the deadline. */
    complete: number;
    /** Events delivered to subscribers (at most events × subscribers) before the deadline. */
    delivered: number;
    /** Deliveries per second, from the first append sent to the last delivery (or the deadline). */
    deliveredPerSecond: number;
    /** The bench stopped waiting after this many seconds. */
    deadlineSeconds: number;
    cpu: CpuSnapshot | null;
    rssAfterMiB: number;
    /** Peak RSS of the server over its life (VmHWM). */
    rssPeakMiB: number;
  };
}

interface IdleOptions {
  baseUrl: string;
  serverPid: number;
  databaseUrl: string;
  subscribers: number;
  connections: number;
  burstEvents: number;
  /** Most seconds to wait, from the first append, for every subscriber to have every event. */
  deadlineSeconds: number;
  postgresIsLocal: boolean;
}

const BURST_LANES = 16;

/** VmRSS (or another field) of a process, MiB. */
export function memoryMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/**
 * The server's sessions in its database, and its listeners: PostgreSQL does not show other
 * sessions' LISTENs, so a listener is a session named auren-listener (the server's name for
 * its LISTEN connection) or whose last statement was LISTEN.
 */
async function serverSessions(databaseUrl: string): Promise<{ total: number; listen: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const row = (
      await client.query<{ total: number; listen: number }>(
        `select count(*)::int as total, (count(*) filter (where application_name = 'auren-listener' or query ~* '^\\s*listen\\s'))::int as listen
         from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`,
      )
    ).rows[0]!;
    return row;
  } finally {
    await client.end();
  }
}

export async function idleSubscribers(options: IdleOptions): Promise<IdleResult> {
  const { subscribers, connections, burstEvents } = options;
  await sleep(1_000); // let the freshly started server settle
  const rssBeforeMiB = memoryMiB(options.serverPid);

  const clients: EventStoreClient[] = Array.from({ length: connections }, () => eventStoreClient(options.baseUrl));
  const appender = eventStoreClient(options.baseUrl);
  const expected = new Set<string>();
  // Per subscriber: events of the burst received (in order), anything else, the time of the last.
  const got = Array.from({ length: subscribers }, () => ({ burst: 0, other: 0, last: 0 }));
  let complete = 0;
  let allDelivered: (() => void) | undefined;
  const tails: OpenTail[] = [];
  try {
    const subscribeStart = performance.now();
    for (let s = 0; s < subscribers; s++) {
      const mine = got[s]!;
      tails.push(
        subscribeToAll(clients[s % connections]!, 'end', (message) => {
          if (message.message !== 'event') return;
          if (!expected.has(message.event!.eventId)) {
            mine.other++;
            return;
          }
          mine.last = performance.now();
          if (++mine.burst === burstEvents && ++complete === subscribers) allDelivered?.();
        }),
      );
    }
    const failed = Promise.race(tails.map((t) => t.failed));
    failed.catch(() => undefined); // raced below; a failure after the end is not unhandled
    await Promise.race([Promise.all(tails.map((t) => t.caughtUp)), failed]);
    const subscribeSeconds = (performance.now() - subscribeStart) / 1000;
    await sleep(1_000);
    const rssAfterMiB = memoryMiB(options.serverPid);
    const sessions = await serverSessions(options.databaseUrl);

    // The burst: single-event appends on 16 streams, as fast as they go.
    const ids = Array.from({ length: burstEvents }, () => randomUUID());
    for (const id of ids) expected.add(id);
    const delivered = new Promise<void>((resolve) => (allDelivered = resolve));
    const meter = cpuMeter({ serverPid: options.serverPid, postgresIsLocal: options.postgresIsLocal });
    meter.start();
    const firstSend = performance.now();
    let lastAck = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: BURST_LANES }, async (_, lane) => {
        for (let i = next++; i < burstEvents; i = next++) {
          const data = toStruct(payloads(lane, i, 1)[0]!);
          await appendAny(appender, `idle-burst-${lane}`, [{ eventId: ids[i]!, type: EVENT_TYPE, data }]);
          lastAck = performance.now();
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const left = options.deadlineSeconds * 1000 - (performance.now() - firstSend);
    await Promise.race([delivered, failed, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, left))))]);
    clearTimeout(timer);
    const cpu = meter.stop();
    const stopped = performance.now();
    const lastReceipt = Math.max(...got.map((g) => g.last));
    const fullyDelivered = got.filter((g) => g.burst === burstEvents && g.other === 0).length;
    const deliveries = got.reduce((sum, g) => sum + g.burst, 0);
    return {
      subscribers,
      connections,
      subscribeSeconds,
      rssBeforeMiB,
      rssAfterMiB,
      serverConnections: sessions.total,
      listenConnections: sessions.listen,
      burst: {
        events: burstEvents,
        appendSeconds: (lastAck - firstSend) / 1000,
        lastAckToAllSeconds: complete === subscribers ? (lastReceipt - lastAck) / 1000 : Number.NaN,
        firstSendToAllSeconds: complete === subscribers ? (lastReceipt - firstSend) / 1000 : Number.NaN,
        complete: fullyDelivered,
        delivered: deliveries,
        deliveredPerSecond: deliveries / (((complete === subscribers ? lastReceipt : stopped) - firstSend) / 1000),
        deadlineSeconds: options.deadlineSeconds,
        cpu,
        rssAfterMiB: memoryMiB(options.serverPid),
        rssPeakMiB: memoryMiB(options.serverPid, 'VmHWM'),
      },
    };
  } finally {
    for (const tail of tails) tail.cancel();
    for (const client of clients) client.close();
    appender.close();
  }
}
