import type { MemoryService } from '../gen/auren/v1/memory_pb.js';
import type { CollaborationReads } from '../collaboration/reads.js';
import type { CollaborationWrites } from '../collaboration/writes.js';
import type { Handlers } from './call.js';
import {
  handoffToProto,
  hypothesisStatusFromProto,
  hypothesisToProto,
  knowledgeStatusFromProto,
  knowledgeToProto,
  profileToProto,
  readingToProto,
  statusesFromProto,
  turnToProto,
} from './collaborationConvert.js';
import { memoryToProto, timeFromProto } from './memoryConvert.js';

/** The collaboration module's parts that MemoryService serves. */
export interface CollaborationParts {
  writes: CollaborationWrites;
  reads: CollaborationReads;
}

/** The collaboration RPCs of MemoryService (the seed's §3.6). */
export type CollaborationMethods =
  | 'getSharedContext'
  | 'recordDecision'
  | 'handoffAgent'
  | 'listPendingHandoffs'
  | 'acknowledgeHandoff'
  | 'recordConversationTurn'
  | 'listConversationTurns'
  | 'recordHypothesis'
  | 'listHypotheses'
  | 'getUserProfile'
  | 'upsertUserProfile'
  | 'addKnowledge'
  | 'listKnowledge'
  | 'validateKnowledge'
  | 'recordBiometricReading'
  | 'listBiometricReadings';

/**
 * MemoryService's collaboration RPCs, once for every transport: protobuf to the collaboration
 * module's calls and back. An absent document (Struct) is passed on as absent, so the module
 * can say which are required.
 */
export function collaborationHandlers({ writes, reads }: CollaborationParts): Pick<Handlers<typeof MemoryService>, CollaborationMethods> {
  return {
    async getSharedContext(request, call) {
      const context = await reads.getSharedContext(
        call.principal,
        {
          userId: request.userId,
          requestingAgent: request.requestingAgent,
          minConfidence: request.minConfidence,
          memoriesPerAgent: request.memoriesPerAgent,
          decisions: request.decisionsLimit,
          hypotheses: request.hypothesesLimit,
        },
        call.signal,
      );
      return {
        userId: request.userId,
        requestingAgent: request.requestingAgent,
        agents: context.agents.map((a) => ({ agentId: a.agentId, memories: a.memories.map((m) => memoryToProto(m, call.wire)) })),
        recentDecisions: context.decisions.map((m) => memoryToProto(m, call.wire)),
        validatedHypotheses: context.validatedHypotheses.map(hypothesisToProto),
        truncated: context.truncated,
      };
    },

    async recordDecision(request, call) {
      const memory = await writes.recordDecision(
        call.principal,
        {
          agentId: request.agentId,
          userId: request.userId,
          decision: request.decision,
          confidence: request.confidence,
          category: request.category,
          urgency: request.urgency,
          summary: request.summary,
          context: request.context,
          usedMemoryIds: request.usedMemoryIds,
        },
        call.signal,
      );
      return { memory: memoryToProto(memory, call.wire) };
    },

    async handoffAgent(request, call) {
      const { handoff, memory } = await writes.handoffAgent(
        call.principal,
        {
          userId: request.userId,
          fromAgent: request.fromAgent,
          toAgent: request.toAgent,
          topic: request.topic,
          context: request.context,
          reason: request.reason,
          handoffType: request.handoffType,
          urgency: request.urgency,
          requiresResponse: request.requiresResponse,
        },
        call.signal,
      );
      return { handoff: handoffToProto(handoff), memory: memoryToProto(memory, call.wire) };
    },

    async listPendingHandoffs(request, call) {
      const page = await reads.listPendingHandoffs(
        call.principal,
        { agentId: request.agentId, userId: request.userId, limit: request.limit, pageToken: request.pageToken },
        call.signal,
      );
      return { handoffs: page.items.map(handoffToProto), nextPageToken: page.nextPageToken };
    },

    async acknowledgeHandoff(request, call) {
      return { handoff: handoffToProto(await writes.acknowledgeHandoff(call.principal, request.handoffId, request.note, call.signal)) };
    },

    async recordConversationTurn(request, call) {
      const turn = await writes.recordConversationTurn(
        call.principal,
        {
          conversationId: request.conversationId,
          agentId: request.agentId,
          userId: request.userId,
          messageContext: request.messageContext,
          insights: request.insights,
          followUpActions: request.followUpActions,
        },
        call.signal,
      );
      return { turn: turnToProto(turn) };
    },

    async listConversationTurns(request, call) {
      const page = await reads.listConversationTurns(
        call.principal,
        {
          userId: request.userId,
          conversationId: request.conversationId,
          agentId: request.agentId,
          from: timeFromProto('from', request.from),
          to: timeFromProto('to', request.to),
          newestFirst: request.newestFirst,
          pageSize: request.pageSize,
          pageToken: request.pageToken,
        },
        call.signal,
      );
      return { turns: page.items.map(turnToProto), nextPageToken: page.nextPageToken };
    },

    async recordHypothesis(request, call) {
      const hypothesis = await writes.recordHypothesis(
        call.principal,
        {
          hypothesisId: request.hypothesisId,
          agentId: request.agentId,
          userId: request.userId,
          statement: request.statement,
          evidence: request.evidence,
          confidence: request.confidence,
          status: hypothesisStatusFromProto('status', request.status),
          expectedVersion: request.expectedVersion,
        },
        call.signal,
      );
      return { hypothesis: hypothesisToProto(hypothesis) };
    },

    async listHypotheses(request, call) {
      const page = await reads.listHypotheses(
        call.principal,
        {
          userId: request.userId,
          statuses: statusesFromProto('statuses', request.statuses, hypothesisStatusFromProto),
          agentId: request.agentId,
          limit: request.limit,
          pageToken: request.pageToken,
        },
        call.signal,
      );
      return { hypotheses: page.items.map(hypothesisToProto), nextPageToken: page.nextPageToken };
    },

    async getUserProfile(request, call) {
      return { profile: profileToProto(await reads.getUserProfile(call.principal, request.userId, call.signal)) };
    },

    async upsertUserProfile(request, call) {
      const profile = await writes.upsertUserProfile(
        call.principal,
        {
          userId: request.userId,
          profileData: request.profileData,
          preferences: request.preferences,
          privacySettings: request.privacySettings,
          expectedVersion: request.expectedVersion,
        },
        call.signal,
      );
      return { profile: profileToProto(profile) };
    },

    async addKnowledge(request, call) {
      const knowledge = await writes.addKnowledge(
        call.principal,
        {
          agentId: request.agentId,
          domain: request.domain,
          knowledgeType: request.knowledgeType,
          content: request.content,
          confidence: request.confidence,
          evidence: request.evidence,
        },
        call.signal,
      );
      return { knowledge: knowledgeToProto(knowledge) };
    },

    async listKnowledge(request, call) {
      const page = await reads.listKnowledge(call.principal, {
        agentId: request.agentId,
        domain: request.domain,
        minConfidence: request.minConfidence,
        statuses: statusesFromProto('statuses', request.statuses, knowledgeStatusFromProto),
        limit: request.limit,
        pageToken: request.pageToken,
      });
      return { items: page.items.map(knowledgeToProto), nextPageToken: page.nextPageToken };
    },

    async validateKnowledge(request, call) {
      const knowledge = await writes.validateKnowledge(
        call.principal,
        {
          knowledgeId: request.knowledgeId,
          status: knowledgeStatusFromProto('status', request.status),
          evidence: request.evidence,
          confidence: request.confidence,
          expectedVersion: request.expectedVersion,
        },
        call.signal,
      );
      return { knowledge: knowledgeToProto(knowledge) };
    },

    async recordBiometricReading(request, call) {
      const reading = await writes.recordBiometricReading(
        call.principal,
        {
          userId: request.userId,
          source: request.source,
          data: request.data,
          measuredAt: timeFromProto('measured_at', request.measuredAt),
        },
        call.signal,
      );
      return { reading: readingToProto(reading) };
    },

    async listBiometricReadings(request, call) {
      const page = await reads.listBiometricReadings(
        call.principal,
        {
          userId: request.userId,
          from: timeFromProto('from', request.from),
          to: timeFromProto('to', request.to),
          limit: request.limit,
          pageToken: request.pageToken,
        },
        call.signal,
      );
      return { readings: page.items.map(readingToProto), nextPageToken: page.nextPageToken };
    },
  };
}
