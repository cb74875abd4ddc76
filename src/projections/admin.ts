import type { DatabasePool } from 'slonik';
import { createCheckpoints } from '../consumers/checkpoints.js';
import type { EventStore } from '../events/eventStore.js';
import { logPosition, positionAfter } from '../events/types.js';
import type { Position } from '../events/types.js';

/** The projections there are, by the name operators use, with their consumers' names. */
export const PROJECTIONS = { redis: 'projection.redis', chroma: 'projection.chroma' } as const;
/** A projection's short name. */
export type ProjectionName = keyof typeof PROJECTIONS;

/** Where a projection stands in the log. */
export interface ProjectionStatus {
  name: ProjectionName;
  /** Undefined while it never ran. */
  checkpoint: Position | undefined;
  /** Events of the log after its checkpoint. */
  lagEvents: bigint;
  /** Age of the oldest event it has not handled; 0 when caught up. */
  lagSeconds: number;
  lastError: string | null;
  failedAttempts: number;
}

/** Each projection's checkpoint and how far behind the end of the log it is. */
export async function projectionStatus(pool: DatabasePool, store: EventStore): Promise<ProjectionStatus[]> {
  const checkpoints = createCheckpoints(pool);
  const end = await store.logEnd();
  const statuses: ProjectionStatus[] = [];
  for (const name of Object.keys(PROJECTIONS) as ProjectionName[]) {
    const stored = await checkpoints.find(PROJECTIONS[name]);
    const position = stored?.position ?? { commit: 0n, prepare: 0n };
    const lagEvents = logPosition(end) - 1n - logPosition(position);
    const [oldest] = lagEvents > 0n ? (await store.readLog(positionAfter(position), 1, Number.MAX_SAFE_INTEGER)).events : [];
    statuses.push({
      name,
      checkpoint: stored?.position,
      lagEvents: lagEvents > 0n ? lagEvents : 0n,
      lagSeconds: oldest ? Math.max(0, (Date.now() - oldest.createdAt) / 1000) : 0,
      lastError: stored?.lastError ?? null,
      failedAttempts: stored?.failedAttempts ?? 0,
    });
  }
  return statuses;
}

/**
 * Rebuilds a projection from the log: its checkpoint goes back to the start, then `clear`
 * empties its store. The replica running it notices at its next checkpoint save (the
 * checkpoint moved under it), takes its lock again and replays the whole log; reads meanwhile
 * find nothing verified in the projection and are served by PostgreSQL.
 */
export async function rebuildProjection(pool: DatabasePool, name: ProjectionName, clear: () => Promise<void>): Promise<void> {
  await createCheckpoints(pool).reset(PROJECTIONS[name]);
  await clear();
}
