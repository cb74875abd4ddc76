import { PROJECTIONS } from '../admin.js';
import type { ConsumerDefinition } from '../../consumers/consumer.js';
import { logPosition } from '../../events/types.js';
import type { JsonObject, Position, RecordedEvent } from '../../events/types.js';
import type { DatabasePool } from '../../db/pool.js';
import type { Logger } from '../../log.js';
import { MEMORY_EVENTS } from '../../memory/model.js';
import type { ProjectionRedis } from './client.js';
import type { RedisKeys } from './keys.js';
import { createdAtUsQuery, memoryEventsBetweenQuery } from './queries.js';

/** Name of the Redis projection's consumer (its checkpoint and lock). */
export const REDIS_PROJECTION = PROJECTIONS.redis;

/** How long keys live and how many members the lists keep (the seed's defaults). */
export interface RedisProjectionLimits {
  /** Seconds a memory stays cached after its last change; 0: no expiry. Seed: 3600. */
  memoryTtlS: number;
  /** Seconds an agent's and a person-with-agent's lists live after their last addition. Seed: 3600. */
  listTtlS: number;
  /** Seconds a person's recent conversations live. Seed: 3600. */
  conversationsTtlS: number;
  /** Seconds an agent's recent decisions live. Seed: 1800. */
  decisionsTtlS: number;
  /** Members an agent's and a person-with-agent's lists keep, newest. */
  listMax: number;
  /** Recent conversations kept per person. Seed: 10. */
  conversationsMax: number;
  /** Recent decisions kept per agent. Seed: 5. */
  decisionsMax: number;
}

/** What the projection writes to. */
export interface RedisProjectionOptions {
  redis: ProjectionRedis;
  keys: RedisKeys;
  limits: RedisProjectionLimits;
  /** Moves the projection's checkpoint back to the log's start: it replays everything. */
  replayFromStart(): Promise<void>;
  /** Reads the memories' creation times to the microsecond (the lists' order and page keysets). */
  pool: DatabasePool;
  log: Logger;
}

// Events that are not a memory's change still move the applied position, at most this often,
// so that reads can verify against a recent position while only reads are being recorded.
const POSITION_EVERY_MS = 50;

const KINDS: Record<string, string> = {
  [MEMORY_EVENTS.created]: 'created',
  [MEMORY_EVENTS.updated]: 'updated',
  [MEMORY_EVENTS.deleted]: 'deleted',
  [MEMORY_EVENTS.expired]: 'expired',
};

/**
 * The Redis projection as a durable consumer of the whole log: each memory event becomes one
 * atomic script (APPLY_EVENT) that keeps the memory's hash and the lists it is on. Replaying
 * the log, or any part of it again, leaves the same state.
 */
export function redisProjection({ redis, keys, limits, replayFromStart, pool, log }: RedisProjectionOptions): ConsumerDefinition {
  let positionWrittenAt = 0;
  // Whether Redis is known to still hold what was applied: checked again after every reconnection.
  let intact = false;
  // A replay from the start was asked for: nothing is applied until the log's first event comes round.
  let awaitingStart = false;
  // Counts the connection's comings back. A batch checks Redis first and writes last, with
  // PostgreSQL reads between: should Redis come back meanwhile (restarted without its data), the
  // batch's writes would land in it unchecked and its applied position would hide the loss from
  // the next check. So a batch writes only if the connection it checked is still the one it has.
  let connection = 0;
  redis.on('ready', () => {
    intact = false;
    connection++;
  });
  function sameConnection(checked: number): void {
    if (checked !== connection)
      throw new Error('Redis came back while a batch was applied: it is checked again before the batch is retried');
  }
  // A Redis that restarted without its data (no persistence, or another server), or with older
  // data (a snapshot), has lost some of what the checkpoint says was applied: replay the log
  // into it. The consumer notices the checkpoint moved at its next save and starts over.
  async function checkIntact(first: RecordedEvent): Promise<void> {
    if (intact) return;
    const handled = logPosition(first.position) - 1n;
    const applied = parsePosition(await redis.get(keys.applied));
    // Behind what was handled is fine if only events that change nothing here lie between.
    const lost =
      handled > 0n &&
      (applied === undefined ||
        (logPosition(applied) < handled && (await pool.one(memoryEventsBetweenQuery(logPosition(applied), handled))).found));
    if (lost) {
      log.warn(
        { applied: applied && formatPosition(applied) },
        'Redis lost part of the projection (restarted without its data?): replaying the log from the start',
      );
      await replayFromStart();
      awaitingStart = true;
    }
    intact = true;
  }
  // The log's first event: every list is made again from here, each complete from its first memory.
  async function startOver(): Promise<void> {
    const made = await redis.hkeys(keys.lists);
    for (let i = 0; i < made.length; i += 1000) {
      const chunk = made.slice(i, i + 1000).filter((key) => key !== '^origin');
      if (chunk.length > 0) await redis.unlink(...chunk);
    }
    await redis.del(keys.lists);
    await redis.hset(keys.lists, '^origin', '1');
    awaitingStart = false;
  }
  // What of `events` to apply (from the log's first event on while a replay is awaited), and
  // the connection it was decided on (sameConnection before each write).
  async function toApply(events: RecordedEvent[]): Promise<{ applying: RecordedEvent[]; checked: number }> {
    const checked = connection;
    await checkIntact(events[0]!);
    const start = events.findIndex((event) => logPosition(event.position) === 1n);
    const applying = awaitingStart ? (start < 0 ? [] : events.slice(start)) : events;
    if (start >= 0 && applying.length > 0) await startOver();
    return { applying, checked };
  }
  // The creation times, in µs, of the memories the events create.
  async function createdTimes(events: RecordedEvent[]): Promise<Map<string, bigint>> {
    const ids = events.filter((event) => kindOf(event) === 'created').map((event) => String(event.data.memory_id));
    if (ids.length === 0) return new Map();
    const rows = await pool.any(createdAtUsQuery(ids));
    return new Map(rows.map((row) => [row.id, row.created_at_us]));
  }
  const kindOf = (event: RecordedEvent) => (event.streamId.startsWith('memory-') ? KINDS[event.type] : undefined);
  const scriptArguments = (event: RecordedEvent, kind: string, times: Map<string, bigint>) => {
    const createdAtUs = kind === 'created' ? times.get(String(event.data.memory_id)) : 0n;
    // The row is written in the event's own statement: missing, the read is retried.
    if (createdAtUs === undefined) throw new Error(`memory ${String(event.data.memory_id)} has no row for its memory_created`);
    return applyArguments(event, kind, createdAtUs, keys, limits);
  };

  return {
    name: REDIS_PROJECTION,
    async handle(event) {
      const {
        applying: [applying],
        checked,
      } = await toApply([event]);
      if (!applying) return;
      const kind = kindOf(event);
      if (kind === undefined) {
        if (Date.now() - positionWrittenAt < POSITION_EVERY_MS) return;
        sameConnection(checked);
        await redis.set(keys.applied, formatPosition(event.position));
        positionWrittenAt = Date.now();
        return;
      }
      const times = await createdTimes([event]);
      sameConnection(checked);
      await redis.applyMemoryEvent(...scriptArguments(event, kind, times));
      positionWrittenAt = Date.now();
    },
    // One round trip for the batch: its scripts pipelined in log order, then the batch's last position.
    async handleBatch(events) {
      const { applying, checked } = await toApply(events);
      if (applying.length === 0) return;
      const times = await createdTimes(applying);
      const pipeline = redis.pipeline() as ReturnType<typeof redis.pipeline> & {
        applyMemoryEvent(...args: (string | number)[]): unknown;
      };
      for (const event of applying) {
        const kind = kindOf(event);
        if (kind !== undefined) pipeline.applyMemoryEvent(...scriptArguments(event, kind, times));
      }
      pipeline.set(keys.applied, formatPosition(applying.at(-1)!.position));
      // Nothing is awaited between this check and exec() writing the commands.
      sameConnection(checked);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
      positionWrittenAt = Date.now();
    },
  };
}

function applyArguments(
  event: RecordedEvent,
  kind: string,
  createdAtUs: bigint,
  keys: RedisKeys,
  limits: RedisProjectionLimits,
): (string | number)[] {
  const data = event.data;
  const id = String(data.memory_id);
  const agentId = String(data.agent_id);
  const userId = typeof data.user_id === 'string' ? data.user_id : null;
  const memoryKey = keys.memory(id);
  return [
    memoryKey,
    keys.applied,
    keys.agentMemories(agentId),
    userId === null ? memoryKey : keys.personAgentMemories(userId, agentId),
    userId === null ? memoryKey : keys.personConversations(userId),
    keys.agentDecisions(agentId),
    keys.lists,
    kind,
    event.version.toString(),
    formatPosition(event.position),
    id,
    createdAtUs.toString(),
    String(data.type),
    limits.memoryTtlS,
    limits.listTtlS,
    limits.conversationsTtlS,
    limits.decisionsTtlS,
    limits.listMax,
    limits.conversationsMax,
    limits.decisionsMax,
    ...fields(event, kind, createdAtUs),
  ];
}

// The hash fields an event sets: all of them for a new memory, what changed for an update.
function fields(event: RecordedEvent, kind: string, createdAtUs: bigint): string[] {
  const data = event.data;
  const common = ['version', event.version.toString(), 'position', formatPosition(event.position)];
  common.push('updatedAt', String(event.createdAt), 'lastEventId', event.eventId);
  if (kind === 'created') {
    const expires = typeof data.expires_at === 'string' ? String(Date.parse(data.expires_at)) : '';
    common.push('id', String(data.memory_id), 'agentId', String(data.agent_id), 'type', String(data.type));
    if (typeof data.user_id === 'string') common.push('userId', data.user_id);
    // In ms as the pool reads timestamptz (truncated): what a read from PostgreSQL answers.
    common.push('createdAt', (createdAtUs / 1000n).toString(), 'createdAtUs', createdAtUs.toString(), 'expiresAt', expires);
  }
  if (kind === 'created' || data.content !== undefined) common.push('content', JSON.stringify(data.content as JsonObject));
  if (kind === 'created' || data.metadata !== undefined) common.push('metadata', JSON.stringify(data.metadata as JsonObject));
  if (kind === 'created' || data.confidence !== undefined) common.push('confidence', String(data.confidence));
  return common;
}

/** A position as the projection stores it. */
export function formatPosition(p: Position): string {
  return `${p.commit}/${p.prepare}`;
}

/** A stored position; undefined when absent or unreadable. */
export function parsePosition(text: string | null | undefined): Position | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(text ?? '');
  return match ? { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) } : undefined;
}
