import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import {
  BiometricReadingSchema,
  ConversationTurnSchema,
  HandoffSchema,
  HypothesisSchema,
  HypothesisStatus as ProtoHypothesisStatus,
  KnowledgeSchema,
  KnowledgeStatus as ProtoKnowledgeStatus,
  UserProfileSchema,
} from '../gen/auren/v1/memory_pb.js';
import type {
  BiometricReading as ProtoReading,
  ConversationTurn as ProtoTurn,
  Handoff as ProtoHandoff,
  Hypothesis as ProtoHypothesis,
  Knowledge as ProtoKnowledge,
  UserProfile as ProtoProfile,
} from '../gen/auren/v1/memory_pb.js';
import { InvalidArgument } from '../errors.js';
import type {
  BiometricReading,
  ConversationTurn,
  Handoff,
  Hypothesis,
  HypothesisStatus,
  Knowledge,
  KnowledgeStatus,
  UserProfile,
} from '../collaboration/model.js';

// Protobuf ⇄ the collaboration module's model.

const time = (ms: number | null): Timestamp | undefined => (ms === null ? undefined : timestampFromMs(ms));

const HYPOTHESIS_STATUS_TO_PROTO: Record<HypothesisStatus, ProtoHypothesisStatus> = {
  formed: ProtoHypothesisStatus.FORMED,
  validated: ProtoHypothesisStatus.VALIDATED,
  refuted: ProtoHypothesisStatus.REFUTED,
};
const KNOWLEDGE_STATUS_TO_PROTO: Record<KnowledgeStatus, ProtoKnowledgeStatus> = {
  pending: ProtoKnowledgeStatus.PENDING,
  validated: ProtoKnowledgeStatus.VALIDATED,
  rejected: ProtoKnowledgeStatus.REJECTED,
};

/** A protobuf status to its domain name; UNSPECIFIED is null; an unknown number is refused naming the field. */
function statusFromProto<T extends string, P extends number>(table: Record<T, P>, field: string, value: P): T | null {
  if (value === 0) return null;
  const found = (Object.entries(table) as [T, P][]).find(([, number]) => number === value);
  if (!found) throw new InvalidArgument(field, `unknown status ${value}; expects one of ${Object.keys(table).join(', ')}`);
  return found[0];
}

/** A hypothesis status from protobuf; unset is null. */
export const hypothesisStatusFromProto = (field: string, value: ProtoHypothesisStatus): HypothesisStatus | null =>
  statusFromProto(HYPOTHESIS_STATUS_TO_PROTO, field, value);

/** A knowledge status from protobuf; unset is null. */
export const knowledgeStatusFromProto = (field: string, value: ProtoKnowledgeStatus): KnowledgeStatus | null =>
  statusFromProto(KNOWLEDGE_STATUS_TO_PROTO, field, value);

/** A repeated status filter; UNSPECIFIED in it is refused. */
export function statusesFromProto<T extends string>(field: string, values: number[], one: (f: string, v: never) => T | null): T[] {
  return values.map((value, i) => {
    const status = one(`${field}[${i}]`, value as never);
    if (status === null) throw new InvalidArgument(`${field}[${i}]`, 'must be a status, not UNSPECIFIED');
    return status;
  });
}

/** Domain handoff to protobuf. */
export function handoffToProto(h: Handoff): ProtoHandoff {
  return create(HandoffSchema, {
    id: h.id,
    userId: h.userId,
    fromAgent: h.fromAgent,
    toAgent: h.toAgent,
    topic: h.topic,
    context: h.context,
    reason: h.reason,
    handoffType: h.handoffType,
    urgency: h.urgency,
    requiresResponse: h.requiresResponse,
    memoryId: h.memoryId,
    createdAt: timestampFromMs(h.createdAt),
    acknowledgedAt: time(h.acknowledgedAt),
    acknowledgedBy: h.acknowledgedBy ?? '',
    acknowledgementNote: h.acknowledgementNote ?? '',
    version: h.version,
  });
}

/** Domain hypothesis to protobuf. */
export function hypothesisToProto(h: Hypothesis): ProtoHypothesis {
  return create(HypothesisSchema, {
    id: h.id,
    agentId: h.agentId,
    userId: h.userId,
    statement: h.statement,
    status: HYPOTHESIS_STATUS_TO_PROTO[h.status],
    initialConfidence: h.initialConfidence,
    evidence: h.evidence,
    finalConfidence: h.finalConfidence ?? 0,
    validationEvidence: h.validationEvidence ?? undefined,
    resolvedBy: h.resolvedBy ?? '',
    formedAt: timestampFromMs(h.formedAt),
    resolvedAt: time(h.resolvedAt),
    version: h.version,
  });
}

/** Domain profile to protobuf. */
export function profileToProto(p: UserProfile): ProtoProfile {
  return create(UserProfileSchema, {
    userId: p.userId,
    profileData: p.profileData,
    preferences: p.preferences,
    privacySettings: p.privacySettings,
    createdAt: timestampFromMs(p.createdAt),
    updatedAt: timestampFromMs(p.updatedAt),
    version: p.version,
  });
}

/** Domain knowledge to protobuf. */
export function knowledgeToProto(k: Knowledge): ProtoKnowledge {
  return create(KnowledgeSchema, {
    id: k.id,
    agentId: k.agentId,
    domain: k.domain,
    knowledgeType: k.knowledgeType,
    content: k.content,
    confidence: k.confidence,
    evidence: k.evidence,
    validationStatus: KNOWLEDGE_STATUS_TO_PROTO[k.validationStatus],
    validatedBy: k.validatedBy ?? '',
    createdAt: timestampFromMs(k.createdAt),
    validatedAt: time(k.validatedAt),
    version: k.version,
  });
}

/** Domain reading to protobuf. */
export function readingToProto(r: BiometricReading): ProtoReading {
  return create(BiometricReadingSchema, {
    id: r.id,
    userId: r.userId,
    source: r.source,
    data: r.data,
    measuredAt: timestampFromMs(r.measuredAt),
    recordedAt: timestampFromMs(r.recordedAt),
  });
}

/** Domain conversation turn to protobuf. */
export function turnToProto(t: ConversationTurn): ProtoTurn {
  return create(ConversationTurnSchema, {
    id: t.id,
    conversationId: t.conversationId,
    agentId: t.agentId,
    userId: t.userId,
    messageContext: t.messageContext,
    insights: t.insights,
    followUpActions: t.followUpActions,
    createdAt: timestampFromMs(t.createdAt),
  });
}
