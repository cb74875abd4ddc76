import type { JsonObject } from '../events/types.js';

// What agents share about a person beside their memories (the seed's §3.6): handoffs,
// hypotheses, profiles, conversation turns, specialist knowledge, biometric readings. Times are
// epoch milliseconds; versions are their streams' versions.

/** One agent handing a person over to another. */
export interface Handoff {
  id: string;
  userId: string;
  fromAgent: string;
  toAgent: string;
  topic: string;
  context: JsonObject;
  reason: string;
  handoffType: string;
  urgency: string;
  requiresResponse: boolean;
  memoryId: string;
  createdAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  acknowledgementNote: string | null;
  version: bigint;
}

/** The states of a hypothesis. */
export const HYPOTHESIS_STATUSES = ['formed', 'validated', 'refuted'] as const;
/** One state of a hypothesis. */
export type HypothesisStatus = (typeof HYPOTHESIS_STATUSES)[number];

/** What an agent supposes about a person, and how it was resolved. */
export interface Hypothesis {
  id: string;
  agentId: string;
  userId: string;
  statement: string;
  status: HypothesisStatus;
  initialConfidence: number;
  evidence: JsonObject;
  finalConfidence: number | null;
  validationEvidence: JsonObject | null;
  resolvedBy: string | null;
  formedAt: number;
  resolvedAt: number | null;
  version: bigint;
}

/** What is known of a person beside the agents' memories. */
export interface UserProfile {
  userId: string;
  profileData: JsonObject;
  preferences: JsonObject;
  privacySettings: JsonObject;
  createdAt: number;
  updatedAt: number;
  version: bigint;
}

/** One turn of a conversation. */
export interface ConversationTurn {
  id: string;
  conversationId: string;
  agentId: string;
  userId: string;
  messageContext: JsonObject;
  insights: JsonObject[];
  followUpActions: JsonObject[];
  createdAt: number;
}

/** The states of an item of specialist knowledge. */
export const KNOWLEDGE_STATUSES = ['pending', 'validated', 'rejected'] as const;
/** One state of an item of specialist knowledge. */
export type KnowledgeStatus = (typeof KNOWLEDGE_STATUSES)[number];

/** One item of an agent's specialist knowledge, about no one person. */
export interface Knowledge {
  id: string;
  agentId: string;
  domain: string;
  knowledgeType: string;
  content: JsonObject;
  confidence: number;
  evidence: JsonObject;
  validationStatus: KnowledgeStatus;
  validatedBy: string | null;
  createdAt: number;
  validatedAt: number | null;
  version: bigint;
}

/** One reading of a person's body. */
export interface BiometricReading {
  id: string;
  userId: string;
  source: string;
  data: JsonObject;
  measuredAt: number;
  recordedAt: number;
}

/** The streams of this module; the trigger apply_collaboration_event keeps its tables from them. */
export const collaborationStreams = {
  decision: (memoryId: string) => `decision-${memoryId}`,
  handoff: (id: string) => `handoff-${id}`,
  hypothesis: (id: string) => `hypothesis-${id}`,
  profile: (userId: string) => `user-profile-${userId}`,
  knowledge: (id: string) => `knowledge-${id}`,
  conversation: (conversationId: string) => `conversation-${conversationId}`,
  biometrics: (userId: string) => `biometric-${userId}`,
} as const;

/**
 * The stream-id prefixes this module writes (the trigger's condition in
 * sql/functions/apply_collaboration_event.sql names the same): the composition root claims them,
 * so clients cannot append to them.
 */
export const COLLABORATION_STREAM_PREFIXES = [
  'decision-',
  'handoff-',
  'hypothesis-',
  'user-profile-',
  'knowledge-',
  'conversation-',
  'biometric-',
] as const;

/** Event types this module writes (the seed's names where it had them). */
export const COLLABORATION_EVENTS = {
  decision: 'agent_decision',
  handoff: 'agent_handoff',
  handoffAcknowledged: 'handoff_acknowledged',
  conversationTurn: 'conversation_turn',
  hypothesisFormed: 'hypothesis_formed',
  hypothesisValidated: 'hypothesis_validated',
  hypothesisRefuted: 'hypothesis_refuted',
  profileCreated: 'user_profile_created',
  profileUpdated: 'user_profile_updated',
  knowledgeAdded: 'knowledge_added',
  knowledgeValidated: 'knowledge_validated',
  biometricReceived: 'biometric_received',
} as const;

/** The seed's defaults of GetSharedContext, and the most a request may ask for. */
export const SHARED_CONTEXT = {
  minConfidence: 0.7,
  memoriesPerAgent: 10,
  decisions: 5,
  validatedHypotheses: 3,
  max: 100,
} as const;

/** Counts of the list RPCs (memory.proto): 0 asks for the default. */
export const LIST_LIMIT = { default: 50, max: 500 } as const;
/** Counts of ListBiometricReadings: 0 asks for the default. */
export const READINGS_LIMIT = { default: 100, max: 1000 } as const;
