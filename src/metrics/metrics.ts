import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createRpcMetrics } from './rpcMetrics.js';
import type { RpcMetrics } from './rpcMetrics.js';
import type { RefusalTally } from '../auth/refusals.js';

/** A type of event appended: what the counter of appended events needs of each. */
export interface AppendedEvents {
  events: readonly { type: string }[];
}

/**
 * The service's metrics, one registry per app (no global: a test builds its own). The parts
 * that other modules feed are here; what PostgreSQL is asked at scrape time is in postgres.ts,
 * statement timing in queryMetrics.ts.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly rpc: RpcMetrics;
  /** Counts the events of appends that committed, by type. */
  appended(appends: readonly AppendedEvents[]): void;
  /** Reports refused calls, and those in no record of their own (auth/refusals.ts), read at each scrape. */
  watchRefusals(refusals: { tally(): RefusalTally }): void;
  /** Reports live tails (open subscriptions) and the messages they sent, read at each scrape. */
  watchTails(tails: { active(): number; sent(): number }): void;
  /**
   * For projections kept outside the consumers' checkpoints (the consumers' lag is read from
   * PostgreSQL at scrape time): sets one projection's lag, in events and seconds.
   */
  setProjectionLag(projection: string, events: number, seconds: number): void;
  /** A Redis cache lookup of `cache` (e.g. `memory`): hit or miss. */
  cacheLookup(cache: string, hit: boolean): void;
  /** Time one embedding request took (`source`: `local`, `openai`…), in seconds. */
  embeddingSeconds(source: string, seconds: number): void;
  /** The exposition text and its content type, for GET /metrics. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

// Event types are the clients' to name: past this many, further types count as `other`.
const MAX_EVENT_TYPES = 200;

/** Creates the registry with Node's process metrics and the service's own. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  // prom-client also names three gauges *_total, which promtool refuses (a counter's suffix);
  // nodejs_active_handles, nodejs_active_requests and nodejs_active_resources (by type) say the same.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const rpc = createRpcMetrics(registry);
  const eventsAppended = new Counter({
    name: 'auren_events_appended_total',
    help: "Events this process appended (clients' appends, memory writes, read-audit events), by type; memory operations are the memory_* types.",
    labelNames: ['type'],
    registers,
  });
  const typesSeen = new Set<string>();
  const lagEvents = new Gauge({
    name: 'auren_projection_reported_lag_events',
    help: 'Lag in events that a projection reports itself (projections outside the consumers).',
    labelNames: ['projection'],
    registers,
  });
  const lagSeconds = new Gauge({
    name: 'auren_projection_reported_lag_seconds',
    help: 'Lag in seconds that a projection reports itself (projections outside the consumers).',
    labelNames: ['projection'],
    registers,
  });
  const cache = new Counter({
    name: 'auren_cache_lookups_total',
    help: 'Redis cache lookups, by cache and result (hit, miss).',
    labelNames: ['cache', 'result'],
    registers,
  });
  const embeddings = new Histogram({
    name: 'auren_embedding_seconds',
    help: 'Time of each embedding request, by source.',
    labelNames: ['source'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  return {
    registry,
    rpc,
    appended(appends) {
      for (const append of appends) {
        for (const event of append.events) {
          let type = event.type;
          if (!typesSeen.has(type)) {
            if (typesSeen.size >= MAX_EVENT_TYPES) type = 'other';
            else typesSeen.add(type);
          }
          eventsAppended.inc({ type });
        }
      }
    },
    watchRefusals(refusals) {
      new Counter({
        name: 'auren_refused_calls_total',
        help: 'Calls refused for who made them (no key, a bad key, a missing scope, someone outside the tenant), and events withheld from log reads (WITHHELD), by reason.',
        labelNames: ['reason'],
        registers,
        collect() {
          this.reset();
          for (const [reason, count] of refusals.tally().refused) this.inc({ reason }, count);
        },
      });
      new Counter({
        name: 'auren_refusals_unrecorded_total',
        help: 'Refused calls in no access_refused record of their own: overflow (more kinds in a window than REFUSAL_KINDS_MAX; counted per reason only), failed (the write failed).',
        labelNames: ['why'],
        registers,
        collect() {
          this.reset();
          const { overflow, failed } = refusals.tally().unrecorded;
          this.inc({ why: 'overflow' }, overflow);
          this.inc({ why: 'failed' }, failed);
        },
      });
    },
    watchTails(tails) {
      new Gauge({
        name: 'auren_tail_subscribers',
        help: 'Live tails (SubscribeToAll, SubscribeToStream, consumers) open in this process.',
        registers,
        collect() {
          this.set(tails.active());
        },
      });
      new Counter({
        name: 'auren_tail_messages_sent_total',
        help: "Messages live tails handed to their clients' transports.",
        registers,
        collect() {
          this.reset();
          this.inc(tails.sent());
        },
      });
    },
    setProjectionLag(projection, events, seconds) {
      lagEvents.set({ projection }, events);
      lagSeconds.set({ projection }, seconds);
    },
    cacheLookup: (name, hit) => cache.inc({ cache: name, result: hit ? 'hit' : 'miss' }),
    embeddingSeconds: (source, seconds) => embeddings.observe({ source }, seconds),
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
