import type { Consumer } from '../consumers/consumer.js';
import { logPosition } from '../events/types.js';
import type { Logger } from '../log.js';
import { ServingStatus } from '../server/health.js';
import type { HealthStatus } from '../server/health.js';
import type { EventStore } from '../events/eventStore.js';
import type { ProjectionName } from './admin.js';

/** The health service name of a projection: grpc.health.v1 Check with it says whether it keeps up. */
export const projectionHealthName = (name: ProjectionName): string => `auren.projections.${name}`;

const WATCH_MS = 1_000;
// Behind the head of the log by more than this many events counts as lagging.
const LAG_EVENTS = 10_000;

/**
 * Sets each running projection's health: SERVING while its handler succeeds and it keeps up
 * with the log, NOT_SERVING while its store (Redis, Chroma) fails or it lags by more than
 * 10,000 events; says so in the log when that changes. The service itself stays SERVING:
 * PostgreSQL answers every read a projection cannot. Returns the stop.
 */
export function watchProjections(
  consumers: Partial<Record<ProjectionName, Consumer>>,
  { health, store, log }: { health: HealthStatus; store: Pick<EventStore, 'logEnd'>; log: Logger },
): () => void {
  const lagging = new Map<ProjectionName, boolean>();
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    // The end of the log, read once a check: keeping the log's head read after every commit only for this would cost more.
    const end = await store.logEnd().catch(() => undefined);
    checking = false;
    // PostgreSQL does not answer: the database probe says so; the projections' health waits.
    if (!end) return;
    for (const [name, consumer] of Object.entries(consumers) as [ProjectionName, Consumer | undefined][]) {
      if (!consumer) continue;
      const status = consumer.status();
      // Only the replica holding the consumer's lock knows how it is doing.
      if (!status.active) continue;
      const behind = logPosition(end) - 1n - logPosition(status.checkpoint);
      const lags = status.failedAttempts > 0 || behind > BigInt(LAG_EVENTS);
      health.set(projectionHealthName(name), lags ? ServingStatus.NOT_SERVING : ServingStatus.SERVING);
      if (lags !== (lagging.get(name) ?? false)) {
        if (lags) log.warn({ projection: name, behindEvents: Number(behind), lastError: status.lastError }, 'projection lags');
        else log.info({ projection: name }, 'projection caught up');
      }
      lagging.set(name, lags);
    }
  };
  for (const [name, consumer] of Object.entries(consumers))
    if (consumer) health.set(projectionHealthName(name as ProjectionName), ServingStatus.SERVING);
  const timer = setInterval(() => void check(), WATCH_MS);
  timer.unref();
  return () => clearInterval(timer);
}
