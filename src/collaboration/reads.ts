import type { DatabasePool } from 'slonik';
import { wasCut } from '../db/pages.js';
import { InvalidArgument } from '../errors.js';
import type { StreamWriter } from '../events/eventStore.js';
import type { JsonObject } from '../events/types.js';
import { DATA_ACCESSED, recordPersonAccess } from '../memory/audit.js';
import { MEMORY_EVENTS } from '../memory/model.js';
import type { Caller, Memory } from '../memory/model.js';
import { parseSharedMemories } from '../memory/sharedContext.js';
import { checkConfidence, checkName } from '../memory/validation.js';
import type { PageTokens } from '../paging.js';
import { checkActsAs, checkPerson, readableAgent } from './access.js';
import { CollaborationNotFound } from './errors.js';
import { LIST_LIMIT, READINGS_LIMIT, SHARED_CONTEXT } from './model.js';
import type {
  BiometricReading,
  ConversationTurn,
  Handoff,
  Hypothesis,
  HypothesisStatus,
  Knowledge,
  KnowledgeStatus,
  UserProfile,
} from './model.js';
import { decodePageToken, encodePageToken, pageScope } from './pageToken.js';
import type { Keyset } from './pageToken.js';
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
  toTurn,
  turnsQuery,
  hypothesisFromJson,
  sharedContextQuery,
} from './queries.js';
import { checkCount, checkId } from './validation.js';

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
  /** Whether parts were left out to keep the answer within the response budget. */
  truncated: boolean;
}

/** One page of a list, and the token of the next ('' on the last page). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** What ListConversationTurns asks; empty strings and null filter nothing. Times are epoch ms. */
export interface TurnsQuery {
  userId: string;
  conversationId: string;
  agentId: string;
  from: number | null;
  to: number | null;
  newestFirst: boolean;
  pageSize: number;
  pageToken: string;
}

/** The read side of collaboration. Every read of a person's data is recorded before it answers. */
export interface CollaborationReads {
  getSharedContext(caller: Caller, query: SharedContextQuery, signal?: AbortSignal): Promise<SharedContext>;
  listPendingHandoffs(
    caller: Caller,
    query: { agentId: string; userId: string; limit: number; pageToken: string },
    signal?: AbortSignal,
  ): Promise<Page<Handoff>>;
  listHypotheses(
    caller: Caller,
    query: { userId: string; statuses: HypothesisStatus[]; agentId: string; limit: number; pageToken: string },
    signal?: AbortSignal,
  ): Promise<Page<Hypothesis>>;
  getUserProfile(caller: Caller, userId: string, signal?: AbortSignal): Promise<UserProfile>;
  listKnowledge(
    caller: Caller,
    query: { agentId: string; domain: string; minConfidence: number; statuses: KnowledgeStatus[]; limit: number; pageToken: string },
  ): Promise<Page<Knowledge>>;
  listBiometricReadings(
    caller: Caller,
    query: { userId: string; from: number | null; to: number | null; limit: number; pageToken: string },
    signal?: AbortSignal,
  ): Promise<Page<BiometricReading>>;
  listConversationTurns(caller: Caller, query: TurnsQuery, signal?: AbortSignal): Promise<Page<ConversationTurn>>;
}

/**
 * What the read side needs: `writer` appends the read records to the people's access streams;
 * `tokens` signs the lists' page tokens; a page stops at `responseMaxBytes` of its rows' documents.
 */
export interface CollaborationReadsOptions {
  pool: DatabasePool;
  writer: StreamWriter;
  tokens: PageTokens;
  responseMaxBytes: number;
}

/** Counts of ListConversationTurns (memory.proto): 0 asks for the default. */
const TURNS_PAGE = LIST_LIMIT;

/** Creates the read side. */
export function createCollaborationReads({ pool, writer, tokens, responseMaxBytes }: CollaborationReadsOptions): CollaborationReads {
  // A page of rows read with one row more than `size`: the next page's token when more follow
  // (that row, or rows cut by the byte budget), from the keyset of the page's last row.
  function paged<R extends { at_us: bigint; cut: boolean | null; id: string }>(
    rows: readonly R[],
    size: number,
    scope: string,
    keyset: (row: R) => Keyset = (row) => ({ timeUs: row.at_us, id: row.id }),
  ): { rows: R[]; nextPageToken: string } {
    const page = rows.slice(0, size);
    const last = page.at(-1);
    const more = rows.length > size || wasCut(rows);
    return { rows: page, nextPageToken: more && last ? encodePageToken(tokens, keyset(last), scope) : '' };
  }

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
      // Within the response budget: the hypotheses first, then the memory module's part with the rest.
      const row = await pool.one(
        sharedContextQuery({ userId, requestingAgent, minConfidence, perAgent, decisions, hypotheses, maxBytes: responseMaxBytes }),
      );
      const shared = parseSharedMemories(row.memories);
      const context = {
        agents: shared.agents,
        decisions: shared.decisions,
        validatedHypotheses: row.hypotheses.map(hypothesisFromJson),
        truncated: row.hypotheses_truncated || shared.truncated,
      };
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

    async listPendingHandoffs(caller, query, signal) {
      const agent = checkName('agent_id', query.agentId);
      const person = query.userId === '' ? null : checkName('user_id', query.userId);
      const count = checkCount('limit', query.limit, LIST_LIMIT);
      const scope = pageScope('pending_handoffs', { agent, person });
      const after = decodePageToken(tokens, 'page_token', query.pageToken, scope);
      if (person !== null) checkPerson(caller, person);
      checkActsAs(caller, agent, 'agent_id', person);
      const tenant = person === null && caller.tenant !== null ? [...caller.tenant] : null;
      const rows = await pool.any(pendingHandoffsQuery(agent, person, tenant, after, count + 1, responseMaxBytes));
      const page = paged(rows, count, scope);
      const handoffs = page.rows.map(toHandoff);
      const byPerson = new Map<string, JsonObject>();
      for (const handoff of handoffs) {
        const ids = (byPerson.get(handoff.userId)?.handoff_ids as string[] | undefined) ?? [];
        byPerson.set(handoff.userId, {
          handoff_ids: [...ids, handoff.id],
          query: { agent_id: agent, page_token: query.pageToken || null },
        });
      }
      await recordPersonAccess(writer, caller, byPerson, 'list_pending_handoffs', signal);
      return { items: handoffs, nextPageToken: page.nextPageToken };
    },

    async listHypotheses(caller, query, signal) {
      const userId = checkName('user_id', query.userId);
      const asked = query.agentId === '' ? null : checkName('agent_id', query.agentId);
      const count = checkCount('limit', query.limit, LIST_LIMIT);
      const statuses = [...new Set(query.statuses)].sort();
      // The token is bound to the filters asked for; an agent key's own agent is its filter anyway.
      const scope = pageScope('hypotheses', { userId, statuses, asked });
      const after = decodePageToken(tokens, 'page_token', query.pageToken, scope);
      checkPerson(caller, userId);
      const agentId = readableAgent(caller, asked, userId);
      const rows = await pool.any(hypothesesQuery(userId, statuses, agentId, after, count + 1, responseMaxBytes));
      const page = paged(rows, count, scope);
      const hypotheses = page.rows.map(toHypothesis);
      await record(
        caller,
        userId,
        'list_hypotheses',
        {
          hypothesis_ids: hypotheses.map((h) => h.id),
          query: { statuses, agent_id: agentId, page_token: query.pageToken || null },
        },
        signal,
      );
      return { items: hypotheses, nextPageToken: page.nextPageToken };
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
      // Specialist knowledge is about no one person (no row has a person's id: README,
      // Collaboration): any key that reads memories reads it, unrecorded.
      const agentId = query.agentId === '' ? null : checkName('agent_id', query.agentId);
      const domain = query.domain === '' ? null : checkName('domain', query.domain);
      const minConfidence = query.minConfidence === 0 ? null : checkConfidence('min_confidence', query.minConfidence);
      const limit = checkCount('limit', query.limit, LIST_LIMIT);
      const filter = { agentId, domain, minConfidence, statuses: [...new Set(query.statuses)].sort() };
      const scope = pageScope('knowledge', filter);
      const after = decodePageToken(tokens, 'page_token', query.pageToken, scope);
      if (after !== null && after.confidence === undefined) throw new InvalidArgument('page_token', 'is not a page token of ListKnowledge');
      const rows = await pool.any(knowledgeListQuery(filter, after, limit + 1, responseMaxBytes));
      const page = paged(rows, limit, scope, (row) => ({ timeUs: row.at_us, id: row.id, confidence: row.confidence }));
      return { items: page.rows.map(toKnowledge), nextPageToken: page.nextPageToken };
    },

    async listBiometricReadings(caller, query, signal) {
      const userId = checkName('user_id', query.userId);
      const limit = checkCount('limit', query.limit, READINGS_LIMIT);
      checkTimeRange(query.from, query.to);
      const scope = pageScope('biometric_readings', { userId, from: query.from, to: query.to });
      const after = decodePageToken(tokens, 'page_token', query.pageToken, scope);
      checkPerson(caller, userId);
      const page = paged(await pool.any(readingsQuery(userId, query.from, query.to, after, limit + 1, responseMaxBytes)), limit, scope);
      const readings = page.rows.map(toReading);
      await record(
        caller,
        userId,
        'list_biometric_readings',
        {
          reading_ids: readings.map((r) => r.id),
          query: {
            from: isoTime(query.from),
            to: isoTime(query.to),
            page_token: query.pageToken || null,
          },
        },
        signal,
      );
      return { items: readings, nextPageToken: page.nextPageToken };
    },

    async listConversationTurns(caller, query, signal) {
      const userId = checkName('user_id', query.userId);
      const conversationId = query.conversationId === '' ? null : checkId('conversation_id', query.conversationId);
      const asked = query.agentId === '' ? null : checkName('agent_id', query.agentId);
      const size = checkCount('page_size', query.pageSize, TURNS_PAGE);
      checkTimeRange(query.from, query.to);
      const scope = pageScope('conversation_turns', {
        userId,
        conversationId,
        asked,
        from: query.from,
        to: query.to,
        newestFirst: query.newestFirst,
      });
      const after = decodePageToken(tokens, 'page_token', query.pageToken, scope);
      checkPerson(caller, userId);
      const agentId = readableAgent(caller, asked, userId);
      const filter = { userId, conversationId, agentId, from: query.from, to: query.to, newestFirst: query.newestFirst };
      const page = paged(await pool.any(turnsQuery(filter, after, size + 1, responseMaxBytes)), size, scope);
      const turns = page.rows.map(toTurn);
      await record(
        caller,
        userId,
        'list_conversation_turns',
        {
          turn_ids: turns.map((turn) => turn.id),
          query: {
            conversation_id: conversationId,
            agent_id: agentId,
            from: isoTime(query.from),
            to: isoTime(query.to),
            newest_first: query.newestFirst,
            page_token: query.pageToken || null,
          },
        },
        signal,
      );
      return { items: turns, nextPageToken: page.nextPageToken };
    },
  };
}

// A time range of a list: either end may be open; a closed one must not be empty.
function checkTimeRange(from: number | null, to: number | null): void {
  if (from !== null && to !== null && to <= from) throw new InvalidArgument('to', 'must be after from');
}

// A time of a list's query as its audit record states it.
function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
