import type { DatabasePool } from 'slonik';
import { InvalidArgument } from '../errors.js';
import type { StreamWriter } from '../events/eventStore.js';
import type { JsonObject } from '../events/types.js';
import { DATA_ACCESSED, recordPersonAccess } from '../memory/audit.js';
import { MEMORY_EVENTS } from '../memory/model.js';
import type { Caller, Memory } from '../memory/model.js';
import { parseSharedMemories, sharedMemoriesExpression } from '../memory/sharedContext.js';
import { checkConfidence, checkName } from '../memory/validation.js';
import { checkActsAs, checkPerson, readableAgent } from './access.js';
import { CollaborationNotFound } from './errors.js';
import { LIST_LIMIT, READINGS_LIMIT, SHARED_CONTEXT } from './model.js';
import type { BiometricReading, Handoff, Hypothesis, HypothesisStatus, Knowledge, KnowledgeStatus, UserProfile } from './model.js';
import {
  hypothesesQuery,
  knowledgeListQuery,
  pendingHandoffsQuery,
  profileQuery,
  readingsQuery,
  toHandoff,
  toHypothesis,
  toKnowledge,
  toProfile,
  toReading,
  hypothesisFromJson,
  sharedContextQuery,
} from './queries.js';
import { checkCount } from './validation.js';

/** What GetSharedContext asks; counts of 0 and an absent threshold take the seed's defaults. */
export interface SharedContextQuery {
  userId: string;
  requestingAgent: string;
  minConfidence?: number;
  memoriesPerAgent: number;
  decisions: number;
  hypotheses: number;
}

/** What the other agents know of a person, as of one snapshot. */
export interface SharedContext {
  agents: { agentId: string; memories: Memory[] }[];
  decisions: Memory[];
  validatedHypotheses: Hypothesis[];
}

/** The read side of collaboration. Every read of a person's data is recorded before it answers. */
export interface CollaborationReads {
  getSharedContext(caller: Caller, query: SharedContextQuery, signal?: AbortSignal): Promise<SharedContext>;
  listPendingHandoffs(caller: Caller, agentId: string, userId: string, limit: number, signal?: AbortSignal): Promise<Handoff[]>;
  listHypotheses(
    caller: Caller,
    query: { userId: string; statuses: HypothesisStatus[]; agentId: string; limit: number },
    signal?: AbortSignal,
  ): Promise<Hypothesis[]>;
  getUserProfile(caller: Caller, userId: string, signal?: AbortSignal): Promise<UserProfile>;
  listKnowledge(
    caller: Caller,
    query: { agentId: string; domain: string; minConfidence: number; statuses: KnowledgeStatus[]; limit: number },
  ): Promise<Knowledge[]>;
  listBiometricReadings(
    caller: Caller,
    query: { userId: string; from: number | null; to: number | null; limit: number },
    signal?: AbortSignal,
  ): Promise<BiometricReading[]>;
}

/** What the read side needs: `writer` appends the read records to the people's access streams. */
export interface CollaborationReadsOptions {
  pool: DatabasePool;
  writer: StreamWriter;
}

/** Creates the read side. */
export function createCollaborationReads({ pool, writer }: CollaborationReadsOptions): CollaborationReads {
  // One record per person read: committed before the answer, so no answer goes out unrecorded.
  const record = (caller: Caller, userId: string, operation: string, what: JsonObject, signal?: AbortSignal, type = DATA_ACCESSED) =>
    recordPersonAccess(writer, caller, new Map([[userId, what]]), operation, signal, type);

  return {
    async getSharedContext(caller, query, signal) {
      const userId = checkName('user_id', query.userId);
      const requestingAgent = checkName('requesting_agent', query.requestingAgent);
      const minConfidence = checkConfidence('min_confidence', query.minConfidence ?? SHARED_CONTEXT.minConfidence);
      const limits = (standard: number) => ({ default: standard, max: SHARED_CONTEXT.max });
      const perAgent = checkCount('memories_per_agent', query.memoriesPerAgent, limits(SHARED_CONTEXT.memoriesPerAgent));
      const decisions = checkCount('decisions_limit', query.decisions, limits(SHARED_CONTEXT.decisions));
      const hypotheses = checkCount('hypotheses_limit', query.hypotheses, limits(SHARED_CONTEXT.validatedHypotheses));
      checkPerson(caller, userId);
      checkActsAs(caller, requestingAgent, 'requesting_agent', userId);
      // One statement: the memories, decisions and hypotheses as of one snapshot, in one round trip.
      const row = await pool.one(
        sharedContextQuery(sharedMemoriesExpression({ userId, requestingAgent, minConfidence, perAgent, decisions }), userId, hypotheses),
      );
      const shared = parseSharedMemories(row.memories);
      const context = { agents: shared.agents, decisions: shared.decisions, validatedHypotheses: row.hypotheses.map(hypothesisFromJson) };
      const memoryIds = [...context.agents.flatMap((a) => a.memories), ...context.decisions].map((m) => m.id);
      await record(
        caller,
        userId,
        'get_shared_context',
        {
          // Other agents' memories, read through the shared-context scope: said so, as GetMemory's records do.
          shared: true,
          memory_ids: [...new Set(memoryIds)],
          hypothesis_ids: context.validatedHypotheses.map((h) => h.id),
          query: {
            requesting_agent: requestingAgent,
            min_confidence: minConfidence,
            memories_per_agent: perAgent,
            decisions_limit: decisions,
            hypotheses_limit: hypotheses,
          },
        },
        signal,
        MEMORY_EVENTS.retrieved,
      );
      return context;
    },

    async listPendingHandoffs(caller, agentId, userId, limit, signal) {
      const agent = checkName('agent_id', agentId);
      const person = userId === '' ? null : checkName('user_id', userId);
      const count = checkCount('limit', limit, LIST_LIMIT);
      if (person !== null) checkPerson(caller, person);
      checkActsAs(caller, agent, 'agent_id', person);
      const tenant = person === null && caller.tenant !== null ? [...caller.tenant] : null;
      const handoffs = (await pool.any(pendingHandoffsQuery(agent, person, tenant, count))).map(toHandoff);
      const byPerson = new Map<string, JsonObject>();
      for (const handoff of handoffs) {
        const ids = (byPerson.get(handoff.userId)?.handoff_ids as string[] | undefined) ?? [];
        byPerson.set(handoff.userId, { handoff_ids: [...ids, handoff.id], query: { agent_id: agent } });
      }
      await recordPersonAccess(writer, caller, byPerson, 'list_pending_handoffs', signal);
      return handoffs;
    },

    async listHypotheses(caller, query, signal) {
      const userId = checkName('user_id', query.userId);
      const asked = query.agentId === '' ? null : checkName('agent_id', query.agentId);
      const count = checkCount('limit', query.limit, LIST_LIMIT);
      checkPerson(caller, userId);
      const agentId = readableAgent(caller, asked, userId);
      const hypotheses = (await pool.any(hypothesesQuery(userId, query.statuses, agentId, count))).map(toHypothesis);
      await record(
        caller,
        userId,
        'list_hypotheses',
        { hypothesis_ids: hypotheses.map((h) => h.id), query: { statuses: query.statuses, agent_id: agentId } },
        signal,
      );
      return hypotheses;
    },

    async getUserProfile(caller, userId, signal) {
      const person = checkName('user_id', userId);
      checkPerson(caller, person);
      const row = await pool.maybeOne(profileQuery(person));
      if (!row) throw new CollaborationNotFound('profile', person);
      const profile = toProfile(row);
      await record(caller, person, 'get_user_profile', { version: profile.version.toString() }, signal);
      return profile;
    },

    async listKnowledge(_caller, query) {
      // Specialist knowledge is about no one person: any key that reads memories reads it, unrecorded.
      const agentId = query.agentId === '' ? null : checkName('agent_id', query.agentId);
      const domain = query.domain === '' ? null : checkName('domain', query.domain);
      const minConfidence = query.minConfidence === 0 ? null : checkConfidence('min_confidence', query.minConfidence);
      const limit = checkCount('limit', query.limit, LIST_LIMIT);
      return (await pool.any(knowledgeListQuery({ agentId, domain, minConfidence, statuses: query.statuses, limit }))).map(toKnowledge);
    },

    async listBiometricReadings(caller, query, signal) {
      const userId = checkName('user_id', query.userId);
      const limit = checkCount('limit', query.limit, READINGS_LIMIT);
      if (query.from !== null && query.to !== null && query.to <= query.from) throw new InvalidArgument('to', 'must be after from');
      checkPerson(caller, userId);
      const readings = (await pool.any(readingsQuery(userId, query.from, query.to, limit))).map(toReading);
      await record(
        caller,
        userId,
        'list_biometric_readings',
        {
          reading_ids: readings.map((r) => r.id),
          query: {
            from: query.from === null ? null : new Date(query.from).toISOString(),
            to: query.to === null ? null : new Date(query.to).toISOString(),
          },
        },
        signal,
      );
      return readings;
    },
  };
}
