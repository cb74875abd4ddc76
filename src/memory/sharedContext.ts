import { sql } from 'slonik';
import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Memory } from './model.js';
import { readRow, toMemory } from './queries.js';

// The memory module's part of GetSharedContext (src/collaboration/sharedContext.ts), read on
// the connection of the caller's transaction so that it shares one snapshot with the rest.

/** What the shared context asks of the memories. */
export interface SharedMemoriesQuery {
  userId: string;
  /** Left out: the agent asking. */
  requestingAgent: string;
  minConfidence: number;
  perAgent: number;
  decisions: number;
}

/** The other agents' recent high-confidence memories of a person, and the person's recent decisions. */
export interface SharedMemories {
  /** Every other agent with live memories of the person, by agent id, each with its newest memories above the threshold. */
  agents: { agentId: string; memories: Memory[] }[];
  /** Decision memories of every agent, newest first. */
  decisions: Memory[];
}

// Live: not deleted (the partial indexes' condition) and not expired.
const live = sql.fragment`deleted_at is null and expired_at is null and (expires_at is null or expires_at > now())`;
const columns = sql.fragment`
  id::text, agent_id, user_id, type, content, metadata, confidence, created_at, updated_at,
  expires_at, deleted_at, expired_at, version, last_event_id::text, false as expired_now`;

/**
 * The agents holding memories of a person, found from the data (the seed hard-coded six names):
 * a skip scan over memories_user_agent_newest, one index probe per agent rather than a read of
 * every memory of the person.
 */
function agentsQuery(userId: string) {
  return sql.type(z.object({ agent_id: z.string() }))`
    with recursive agents(agent_id) as (
      (select agent_id from memories where user_id = ${userId} and deleted_at is null order by agent_id limit 1)
      union all
      select (select m.agent_id from memories m
               where m.user_id = ${userId} and m.deleted_at is null and m.agent_id > a.agent_id
               order by m.agent_id limit 1)
        from agents a where a.agent_id is not null
    )
    select agent_id from agents where agent_id is not null`;
}

function perAgentQuery(userId: string, agents: string[], minConfidence: number, limit: number) {
  return sql.type(readRow)`
    select m.* from unnest(${sql.array(agents, 'text')}) as a(agent_id)
     cross join lateral (
       select ${columns} from memories
        where agent_id = a.agent_id and user_id = ${userId} and ${live} and confidence >= ${minConfidence}
        order by created_at desc, id desc limit ${limit}) m`;
}

function decisionsQuery(userId: string, limit: number) {
  return sql.type(readRow)`
    select ${columns} from memories
     where user_id = ${userId} and type = 'decision' and ${live}
     order by created_at desc, id desc limit ${limit}`;
}

/** Reads the memories of a shared context on `connection` (a transaction's, for one snapshot). */
export async function readSharedMemories(connection: CommonQueryMethods, query: SharedMemoriesQuery): Promise<SharedMemories> {
  const agentIds = (await connection.any(agentsQuery(query.userId))).map((row) => row.agent_id).filter((a) => a !== query.requestingAgent);
  const rows =
    agentIds.length === 0 ? [] : await connection.any(perAgentQuery(query.userId, agentIds, query.minConfidence, query.perAgent));
  const byAgent = new Map<string, Memory[]>(agentIds.map((agentId) => [agentId, []]));
  for (const row of rows) byAgent.get(row.agent_id)!.push(toMemory(row));
  const decisions = (await connection.any(decisionsQuery(query.userId, query.decisions))).map((row) => toMemory(row));
  return { agents: [...byAgent].map(([agentId, memories]) => ({ agentId, memories })), decisions };
}
