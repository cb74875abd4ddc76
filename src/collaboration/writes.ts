import type { DatabasePool } from 'slonik';
import { principalStamp, RESERVED_METADATA_KEY } from '../auth/principal.js';
import { InvalidArgument } from '../errors.js';
import { newId as serviceId } from '../ids.js';
import { WrongExpectedVersion } from '../events/errors.js';
import type { StreamWriter } from '../events/eventStore.js';
import type { AppendResult, ExpectedVersion, JsonObject, ProposedEvent } from '../events/types.js';
import { changeAppend } from '../memory/changes.js';
import { MEMORY_EVENTS } from '../memory/model.js';
import type { Caller, Memory } from '../memory/model.js';
import { memoryQuery, toMemory } from '../memory/queries.js';
import { checkConfidence, checkDocument, checkName } from '../memory/validation.js';
import { checkActsAs, checkPerson } from './access.js';
import { CollaborationNotFound, HandoffAcknowledged, HypothesisResolved, WrongCollaborationVersion } from './errors.js';
import { COLLABORATION_EVENTS as EVENTS, collaborationStreams as streams } from './model.js';
import type { ConversationTurn, Handoff, Hypothesis, Knowledge, KnowledgeStatus, UserProfile, BiometricReading } from './model.js';
import { handoffQuery, hypothesisQuery, knowledgeQuery, profileQuery, toHandoff, toHypothesis, toKnowledge, toProfile } from './queries.js';
import { checkDocuments, checkFreeText, checkId, checkRequiredDocument, requireSet } from './validation.js';

/** A decision an agent made about a person (RecordDecision). */
export interface DecisionInput {
  agentId: string;
  userId: string;
  decision: unknown;
  /** Absent: 1. */
  confidence?: number;
  category: string;
  urgency: string;
  summary: string;
  context?: unknown;
  usedMemoryIds: readonly string[];
}

/** A handoff from one agent to another (HandoffAgent). */
export interface HandoffInput {
  userId: string;
  fromAgent: string;
  toAgent: string;
  topic: string;
  context?: unknown;
  reason: string;
  handoffType: string;
  urgency: string;
  /** Absent: true. */
  requiresResponse?: boolean;
}

/** One turn of a conversation (RecordConversationTurn). */
export interface TurnInput {
  /** Empty: a new conversation. */
  conversationId: string;
  agentId: string;
  userId: string;
  messageContext?: unknown;
  insights: readonly unknown[];
  followUpActions: readonly unknown[];
}

/** A hypothesis formed (no id) or resolved (RecordHypothesis). */
export interface HypothesisInput {
  /** Empty: form a new one. */
  hypothesisId: string;
  agentId: string;
  /** Required to form; when resolving, if not empty, must be the hypothesis's person. */
  userId: string;
  statement: string;
  evidence?: unknown;
  confidence?: number;
  /** Forming: 'formed' or null; resolving: 'validated' or 'refuted'. */
  status: 'formed' | 'validated' | 'refuted' | null;
  expectedVersion?: bigint;
}

/** A profile's parts to write (absent: kept) at an optional expected version (0: new). */
export interface ProfileInput {
  userId: string;
  profileData?: unknown;
  preferences?: unknown;
  privacySettings?: unknown;
  expectedVersion?: bigint;
}

/** A new item of specialist knowledge. */
export interface KnowledgeInput {
  agentId: string;
  domain: string;
  knowledgeType: string;
  content?: unknown;
  confidence?: number;
  evidence?: unknown;
}

/** A validation of an item of knowledge. */
export interface ValidationInput {
  knowledgeId: string;
  status: KnowledgeStatus | null;
  evidence?: unknown;
  confidence?: number;
  expectedVersion?: bigint;
}

/** A reading of a person's body. */
export interface ReadingInput {
  userId: string;
  source: string;
  data?: unknown;
  /** Epoch ms; null: when recorded. */
  measuredAt: number | null;
}

/** The write side of collaboration: each write is one or more events, committed together with the rows their trigger keeps. */
export interface CollaborationWrites {
  recordDecision(caller: Caller, input: DecisionInput, signal?: AbortSignal): Promise<Memory>;
  handoffAgent(caller: Caller, input: HandoffInput, signal?: AbortSignal): Promise<{ handoff: Handoff; memory: Memory }>;
  acknowledgeHandoff(caller: Caller, handoffId: string, note: string, signal?: AbortSignal): Promise<Handoff>;
  recordConversationTurn(caller: Caller, input: TurnInput, signal?: AbortSignal): Promise<ConversationTurn>;
  recordHypothesis(caller: Caller, input: HypothesisInput, signal?: AbortSignal): Promise<Hypothesis>;
  upsertUserProfile(caller: Caller, input: ProfileInput, signal?: AbortSignal): Promise<UserProfile>;
  addKnowledge(caller: Caller, input: KnowledgeInput, signal?: AbortSignal): Promise<Knowledge>;
  validateKnowledge(caller: Caller, input: ValidationInput, signal?: AbortSignal): Promise<Knowledge>;
  recordBiometricReading(caller: Caller, input: ReadingInput, signal?: AbortSignal): Promise<BiometricReading>;
}

/** What the write side needs: `writer` claims this module's streams and the memory module's (a decision is a memory). */
export interface CollaborationWritesOptions {
  pool: DatabasePool;
  writer: StreamWriter;
  /** Largest document accepted, in bytes of JSON (MEMORY_CONTENT_MAX_BYTES). */
  documentMaxBytes: number;
  newId?: () => string;
}

// A change that lost a race with another writer (and named no expected version) is tried again
// from what the winner left, this many times at most.
const MAX_ATTEMPTS = 10;

/** The metadata of every event of this module: the person (their audit trail), the caller, the principal's stamp. */
function metadataOf(caller: Caller, userId: string | null, facts: JsonObject = {}): JsonObject {
  return {
    ...(userId === null ? {} : { user_id: userId }),
    ...facts,
    caller: caller.name,
    [RESERVED_METADATA_KEY]: { principal: principalStamp(caller) },
  };
}

const exact = (version: bigint): ExpectedVersion => ({ kind: 'exact', version });

/** Creates the write side. */
export function createCollaborationWrites({
  pool,
  writer,
  documentMaxBytes: max,
  newId = serviceId,
}: CollaborationWritesOptions): CollaborationWrites {
  const one = (streamId: string, expected: ExpectedVersion, event: ProposedEvent, signal?: AbortSignal): Promise<AppendResult> =>
    writer.append(streamId, expected, [event], signal);

  async function memory(id: string): Promise<Memory> {
    return toMemory(await pool.one(memoryQuery(id)));
  }

  return {
    async recordDecision(caller, input, signal) {
      const agentId = checkName('agent_id', input.agentId);
      const userId = checkName('user_id', input.userId);
      const decision = checkRequiredDocument('decision', input.decision, max);
      const confidence = checkConfidence('confidence', input.confidence ?? 1);
      const category = checkFreeText('category', input.category) || 'general';
      const urgency = checkFreeText('urgency', input.urgency) || 'normal';
      const summary = checkFreeText('summary', input.summary);
      const context = checkDocument('context', input.context ?? {}, max);
      const used = input.usedMemoryIds.map((id, i) => checkId(`used_memory_ids[${i}]`, id));
      checkPerson(caller, userId);
      checkActsAs(caller, agentId, 'agent_id', userId);
      const memoryId = newId();
      const collaboration = used.length > 0;
      const metadata = {
        decision_category: category,
        urgency,
        summary,
        decision_context: context,
        cross_agent_insights_used: used,
        cross_agent_collaboration: collaboration,
      };
      // The decision memory and its agent_decision event commit together (appendEach: both
      // streams are new, so neither can be refused on its own).
      const created = changeAppend({
        memory: { id: memoryId, agentId, userId, type: 'decision' },
        versionBefore: 0n,
        eventId: newId(),
        type: MEMORY_EVENTS.created,
        caller,
        data: { content: decision, metadata, confidence, expires_at: null },
      });
      await writer.appendEach(
        [
          created,
          {
            streamId: streams.decision(memoryId),
            events: [
              {
                type: EVENTS.decision,
                data: { agent_id: agentId, user_id: userId, memory_id: memoryId, decision, confidence, context_summary: summary },
                metadata: metadataOf(caller, userId, { decision_category: category, urgency, cross_agent_collaboration: collaboration }),
              },
            ],
          },
        ],
        signal,
      );
      return memory(memoryId);
    },

    async handoffAgent(caller, input, signal) {
      const userId = checkName('user_id', input.userId);
      const fromAgent = checkName('from_agent', input.fromAgent);
      const toAgent = checkName('to_agent', input.toAgent);
      if (toAgent === fromAgent) throw new InvalidArgument('to_agent', `must be another agent than from_agent ('${fromAgent}')`);
      const topic = checkFreeText('topic', input.topic, true);
      const context = checkDocument('context', input.context ?? {}, max);
      const reason = checkFreeText('reason', input.reason) || 'specialist_expertise_required';
      const handoffType = checkFreeText('handoff_type', input.handoffType) || 'consultation';
      const urgency = checkFreeText('urgency', input.urgency) || 'normal';
      const requiresResponse = input.requiresResponse ?? true;
      checkPerson(caller, userId);
      checkActsAs(caller, fromAgent, 'from_agent', userId);
      const id = newId();
      const memoryId = newId();
      // The receiving agent's memory of it: written by the agent handing over, as the seed does.
      const received = changeAppend({
        memory: { id: memoryId, agentId: toAgent, userId, type: 'conversation' },
        versionBefore: 0n,
        eventId: newId(),
        type: MEMORY_EVENTS.created,
        caller,
        data: {
          content: { handoff_received: true, from_agent: fromAgent, topic, context },
          metadata: { handoff_id: id, requires_response: requiresResponse },
          confidence: 1,
          expires_at: null,
        },
      });
      await writer.appendEach(
        [
          {
            streamId: streams.handoff(id),
            events: [
              {
                type: EVENTS.handoff,
                data: {
                  handoff_id: id,
                  user_id: userId,
                  from_agent: fromAgent,
                  to_agent: toAgent,
                  topic,
                  handoff_context: context,
                  handoff_reason: reason,
                  handoff_type: handoffType,
                  urgency,
                  requires_response: requiresResponse,
                  memory_id: memoryId,
                },
                metadata: metadataOf(caller, userId, { handoff_type: handoffType, urgency }),
              },
            ],
          },
          received,
        ],
        signal,
      );
      return { handoff: toHandoff(await pool.one(handoffQuery(id))), memory: await memory(memoryId) };
    },

    async acknowledgeHandoff(caller, handoffId, note, signal) {
      const id = checkId('handoff_id', handoffId);
      checkFreeText('note', note);
      const row = await pool.maybeOne(handoffQuery(id));
      if (!row) throw new CollaborationNotFound('handoff', id);
      checkPerson(caller, row.user_id);
      checkActsAs(caller, row.to_agent, 'the receiving agent', row.user_id);
      if (row.acknowledged_at !== null) throw new HandoffAcknowledged(id);
      try {
        await one(
          streams.handoff(id),
          exact(row.version),
          {
            type: EVENTS.handoffAcknowledged,
            data: {
              handoff_id: id,
              user_id: row.user_id,
              to_agent: row.to_agent,
              acknowledged_by: caller.name,
              note: note === '' ? null : note,
            },
            metadata: metadataOf(caller, row.user_id),
          },
          signal,
        );
      } catch (error) {
        // Another call acknowledged it first: a handoff changes only by its acknowledgement.
        if (error instanceof WrongExpectedVersion) throw new HandoffAcknowledged(id);
        throw error;
      }
      return toHandoff(await pool.one(handoffQuery(id)));
    },

    async recordConversationTurn(caller, input, signal) {
      const conversationId = input.conversationId === '' ? newId() : checkId('conversation_id', input.conversationId);
      const agentId = checkName('agent_id', input.agentId);
      const userId = checkName('user_id', input.userId);
      const messageContext = checkRequiredDocument('message_context', input.messageContext, max);
      const insights = checkDocuments('insights', input.insights, max);
      const followUpActions = checkDocuments('follow_up_actions', input.followUpActions, max);
      checkPerson(caller, userId);
      checkActsAs(caller, agentId, 'agent_id', userId);
      const id = newId();
      const result = await one(
        streams.conversation(conversationId),
        { kind: 'any' },
        {
          type: EVENTS.conversationTurn,
          data: {
            turn_id: id,
            conversation_id: conversationId,
            agent_id: agentId,
            user_id: userId,
            message_context: messageContext,
            insights,
            follow_up_actions: followUpActions,
          },
          metadata: metadataOf(caller, userId),
        },
        signal,
      );
      return { id, conversationId, agentId, userId, messageContext, insights, followUpActions, createdAt: result.createdAt };
    },

    async recordHypothesis(caller, input, signal) {
      if (input.hypothesisId === '') return formHypothesis(caller, input, signal);
      const id = checkId('hypothesis_id', input.hypothesisId);
      if (input.status !== 'validated' && input.status !== 'refuted')
        throw new InvalidArgument('status', 'resolving a hypothesis expects VALIDATED or REFUTED (leave hypothesis_id empty to form one)');
      const agentId = checkName('agent_id', input.agentId);
      const finalConfidence = checkConfidence('confidence', requireSet('confidence', input.confidence));
      const evidence = checkDocument('evidence', input.evidence ?? {}, max);
      const userId = input.userId === '' ? null : checkName('user_id', input.userId);
      for (let attempt = 1; ; attempt++) {
        const row = await pool.maybeOne(hypothesisQuery(id));
        if (!row) throw new CollaborationNotFound('hypothesis', id);
        if (userId !== null && userId !== row.user_id) throw new InvalidArgument('user_id', `is not the person of hypothesis '${id}'`);
        checkPerson(caller, row.user_id);
        checkActsAs(caller, agentId, 'agent_id', row.user_id);
        if (input.expectedVersion !== undefined && input.expectedVersion !== row.version)
          throw new WrongCollaborationVersion('hypothesis', id, input.expectedVersion, row.version);
        if (row.status !== 'formed') throw new HypothesisResolved(id, row.status);
        try {
          await one(
            streams.hypothesis(id),
            exact(row.version),
            {
              type: input.status === 'validated' ? EVENTS.hypothesisValidated : EVENTS.hypothesisRefuted,
              data: {
                hypothesis_id: id,
                user_id: row.user_id,
                agent_id: agentId,
                hypothesis: row.statement,
                final_confidence: finalConfidence,
                validation_evidence: evidence,
              },
              metadata: metadataOf(caller, row.user_id),
            },
            signal,
          );
          return toHypothesis(await pool.one(hypothesisQuery(id)));
        } catch (error) {
          // Lost a race: read again, and the checks above say what the winner did.
          if (!(error instanceof WrongExpectedVersion) || attempt >= MAX_ATTEMPTS) throw error;
        }
      }
    },

    async upsertUserProfile(caller, input, signal) {
      const userId = checkName('user_id', input.userId);
      const parts: JsonObject = {};
      if (input.profileData !== undefined) parts.profile_data = checkDocument('profile_data', input.profileData, max);
      if (input.preferences !== undefined) parts.preferences = checkDocument('preferences', input.preferences, max);
      if (input.privacySettings !== undefined) parts.privacy_settings = checkDocument('privacy_settings', input.privacySettings, max);
      checkPerson(caller, userId);
      for (let attempt = 1; ; attempt++) {
        const row = await pool.maybeOne(profileQuery(userId));
        const version = row?.version ?? 0n;
        if (input.expectedVersion !== undefined && input.expectedVersion !== version)
          throw new WrongCollaborationVersion('profile', userId, input.expectedVersion, version);
        if (row && Object.keys(parts).length === 0)
          throw new InvalidArgument('profile_data, preferences, privacy_settings', 'nothing to change: set at least one of them');
        const event = row
          ? { type: EVENTS.profileUpdated, data: { user_id: userId, ...parts }, metadata: metadataOf(caller, userId) }
          : {
              type: EVENTS.profileCreated,
              data: { user_id: userId, profile_data: {}, preferences: {}, privacy_settings: {}, ...parts },
              metadata: metadataOf(caller, userId),
            };
        try {
          await one(streams.profile(userId), exact(version), event, signal);
          return toProfile(await pool.one(profileQuery(userId)));
        } catch (error) {
          if (!(error instanceof WrongExpectedVersion) || attempt >= MAX_ATTEMPTS) throw error;
          if (input.expectedVersion !== undefined)
            throw new WrongCollaborationVersion('profile', userId, input.expectedVersion, error.actualVersion);
        }
      }
    },

    async addKnowledge(caller, input, signal) {
      const agentId = checkName('agent_id', input.agentId);
      const domain = checkName('domain', input.domain);
      const knowledgeType = checkName('knowledge_type', input.knowledgeType);
      const content = checkRequiredDocument('content', input.content, max);
      const confidence = checkConfidence('confidence', requireSet('confidence', input.confidence));
      const evidence = checkDocument('evidence', input.evidence ?? {}, max);
      checkActsAs(caller, agentId, 'agent_id', null);
      const id = newId();
      const result = await one(
        streams.knowledge(id),
        exact(0n),
        {
          type: EVENTS.knowledgeAdded,
          data: { knowledge_id: id, agent_id: agentId, domain, knowledge_type: knowledgeType, content, confidence, evidence },
          metadata: metadataOf(caller, null),
        },
        signal,
      );
      return {
        id,
        agentId,
        domain,
        knowledgeType,
        content,
        confidence,
        evidence,
        validationStatus: 'pending',
        validatedBy: null,
        createdAt: result.createdAt,
        validatedAt: null,
        version: result.nextExpectedVersion,
      };
    },

    async validateKnowledge(caller, input, signal) {
      const id = checkId('knowledge_id', input.knowledgeId);
      if (input.status !== 'validated' && input.status !== 'rejected') throw new InvalidArgument('status', 'expects VALIDATED or REJECTED');
      const evidence = input.evidence === undefined ? undefined : checkDocument('evidence', input.evidence, max);
      const confidence = input.confidence === undefined ? undefined : checkConfidence('confidence', input.confidence);
      for (let attempt = 1; ; attempt++) {
        const row = await pool.maybeOne(knowledgeQuery(id));
        if (!row) throw new CollaborationNotFound('knowledge', id);
        if (input.expectedVersion !== undefined && input.expectedVersion !== row.version)
          throw new WrongCollaborationVersion('knowledge', id, input.expectedVersion, row.version);
        try {
          await one(
            streams.knowledge(id),
            exact(row.version),
            {
              type: EVENTS.knowledgeValidated,
              data: {
                knowledge_id: id,
                agent_id: row.agent_id,
                validation_status: input.status,
                validated_by: caller.name,
                ...(evidence === undefined ? {} : { evidence }),
                ...(confidence === undefined ? {} : { confidence }),
              },
              metadata: metadataOf(caller, null),
            },
            signal,
          );
          return toKnowledge(await pool.one(knowledgeQuery(id)));
        } catch (error) {
          if (!(error instanceof WrongExpectedVersion) || attempt >= MAX_ATTEMPTS) throw error;
          if (input.expectedVersion !== undefined)
            throw new WrongCollaborationVersion('knowledge', id, input.expectedVersion, error.actualVersion);
        }
      }
    },

    async recordBiometricReading(caller, input, signal) {
      const userId = checkName('user_id', input.userId);
      const source = checkName('source', input.source);
      const data = checkRequiredDocument('data', input.data, max);
      if (Object.keys(data).length === 0) throw new InvalidArgument('data', 'must not be empty');
      checkPerson(caller, userId);
      const id = newId();
      const measuredAt = input.measuredAt === null ? null : new Date(input.measuredAt).toISOString();
      const result = await one(
        streams.biometrics(userId),
        { kind: 'any' },
        {
          type: EVENTS.biometricReceived,
          data: { reading_id: id, user_id: userId, source, data, measured_at: measuredAt },
          metadata: metadataOf(caller, userId, { source }),
        },
        signal,
      );
      return { id, userId, source, data, measuredAt: input.measuredAt ?? result.createdAt, recordedAt: result.createdAt };
    },
  };

  async function formHypothesis(caller: Caller, input: HypothesisInput, signal?: AbortSignal): Promise<Hypothesis> {
    if (input.status !== null && input.status !== 'formed')
      throw new InvalidArgument('hypothesis_id', `must name the hypothesis to mark ${input.status.toUpperCase()}`);
    if (input.expectedVersion !== undefined) throw new InvalidArgument('expected_version', 'applies only to resolving a hypothesis');
    const agentId = checkName('agent_id', input.agentId);
    const userId = checkName('user_id', input.userId);
    const statement = checkFreeText('statement', input.statement, true);
    const confidence = checkConfidence('confidence', requireSet('confidence', input.confidence));
    const evidence = checkDocument('evidence', input.evidence ?? {}, max);
    checkPerson(caller, userId);
    checkActsAs(caller, agentId, 'agent_id', userId);
    const id = newId();
    const result = await one(
      streams.hypothesis(id),
      exact(0n),
      {
        type: EVENTS.hypothesisFormed,
        data: { hypothesis_id: id, agent_id: agentId, user_id: userId, hypothesis: statement, confidence, evidence },
        metadata: metadataOf(caller, userId),
      },
      signal,
    );
    return {
      id,
      agentId,
      userId,
      statement,
      status: 'formed',
      initialConfidence: confidence,
      evidence,
      finalConfidence: null,
      validationEvidence: null,
      resolvedBy: null,
      formedAt: result.createdAt,
      resolvedAt: null,
      version: result.nextExpectedVersion,
    };
  }
}
