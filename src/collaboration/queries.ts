import { sql } from 'slonik';
import { z } from 'zod';
import type { JsonObject } from '../events/types.js';
import { cutColumns, withinBytes } from '../db/pages.js';
import { HYPOTHESIS_STATUSES, KNOWLEDGE_STATUSES } from './model.js';
import type {
  BiometricReading,
  ConversationTurn,
  Handoff,
  Hypothesis,
  Knowledge,
  KnowledgeStatus,
  HypothesisStatus,
  UserProfile,
} from './model.js';
import { microseconds, timeOf } from './pageToken.js';
import type { Keyset } from './pageToken.js';

// Every statement of the collaboration module, and the rows they return. The rows are kept by
// the trigger apply_collaboration_event (sql/functions/): this module only reads them. Orders
// name the table's columns: a bare `id` would be the selected `id::text`, which no index holds.
// A list reads one page: after a keyset (pageToken.ts), up to its count, cut where its rows'
// sizes (sql/022) pass the byte budget (withinBytes); each row carries its keyset time (`at_us`).

// What every page's rows carry besides their columns: the keyset time and the rows before the cut.
const pageColumns = { at_us: z.bigint(), ...cutColumns };

const jsonObject = z.custom<JsonObject>((value) => typeof value === 'object' && value !== null && !Array.isArray(value));

const handoffRow = z.object({
  id: z.string(),
  user_id: z.string(),
  from_agent: z.string(),
  to_agent: z.string(),
  topic: z.string(),
  context: jsonObject,
  reason: z.string(),
  handoff_type: z.string(),
  urgency: z.string(),
  requires_response: z.boolean(),
  memory_id: z.string(),
  created_at: z.number(),
  acknowledged_at: z.number().nullable(),
  acknowledged_by: z.string().nullable(),
  acknowledgement_note: z.string().nullable(),
  version: z.bigint(),
});
const handoffPageRow = handoffRow.extend(pageColumns);

const handoffColumns = sql.fragment`
  id::text, user_id, from_agent, to_agent, topic, context, reason, handoff_type, urgency, requires_response,
  memory_id::text, created_at, acknowledged_at, acknowledged_by, acknowledgement_note, version`;

/** A row as the domain's Handoff. */
export function toHandoff(r: z.infer<typeof handoffRow>): Handoff {
  return {
    id: r.id,
    userId: r.user_id,
    fromAgent: r.from_agent,
    toAgent: r.to_agent,
    topic: r.topic,
    context: r.context,
    reason: r.reason,
    handoffType: r.handoff_type,
    urgency: r.urgency,
    requiresResponse: r.requires_response,
    memoryId: r.memory_id,
    createdAt: r.created_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    acknowledgementNote: r.acknowledgement_note,
    version: r.version,
  };
}

/** One handoff. */
export const handoffQuery = (id: string) => sql.type(handoffRow)`select ${handoffColumns} from agent_handoffs where id = ${id}::uuid`;

/** A page of an agent's pending handoffs (of one person, or of the people in `userIds`), oldest first. */
export function pendingHandoffsQuery(
  agentId: string,
  userId: string | null,
  userIds: string[] | null,
  after: Keyset | null,
  limit: number,
  maxBytes: number,
) {
  const person = userId === null ? sql.fragment`` : sql.fragment`and user_id = ${userId}`;
  const tenant = userIds === null ? sql.fragment`` : sql.fragment`and user_id = any(${sql.array(userIds, 'text')})`;
  const page =
    after === null
      ? sql.fragment``
      : sql.fragment`and (agent_handoffs.created_at, agent_handoffs.id) > (${timeOf(after.timeUs)}, ${after.id}::uuid)`;
  const source = sql.fragment`
    select agent_handoffs.*, ${microseconds(sql.fragment`agent_handoffs.created_at`)} as at_us from agent_handoffs
     where to_agent = ${agentId} and acknowledged_at is null ${person} ${tenant} ${page}
     order by agent_handoffs.created_at, agent_handoffs.id limit ${limit}`;
  return sql.type(handoffPageRow)`
    ${withinBytes(sql.fragment`${handoffColumns}, at_us`, source, sql.fragment`created_at, id`, maxBytes)}`;
}

const hypothesisRow = z.object({
  id: z.string(),
  agent_id: z.string(),
  user_id: z.string(),
  statement: z.string(),
  status: z.enum(HYPOTHESIS_STATUSES),
  initial_confidence: z.number(),
  evidence: jsonObject,
  final_confidence: z.number().nullable(),
  validation_evidence: jsonObject.nullable(),
  resolved_by: z.string().nullable(),
  formed_at: z.number(),
  resolved_at: z.number().nullable(),
  version: z.bigint(),
});
const hypothesisPageRow = hypothesisRow.extend(pageColumns);

const hypothesisColumns = sql.fragment`
  id::text, agent_id, user_id, statement, status, initial_confidence, evidence, final_confidence,
  validation_evidence, resolved_by, formed_at, resolved_at, version`;

/** A row as the domain's Hypothesis. */
export function toHypothesis(r: z.infer<typeof hypothesisRow>): Hypothesis {
  return {
    id: r.id,
    agentId: r.agent_id,
    userId: r.user_id,
    statement: r.statement,
    status: r.status,
    initialConfidence: r.initial_confidence,
    evidence: r.evidence,
    finalConfidence: r.final_confidence,
    validationEvidence: r.validation_evidence,
    resolvedBy: r.resolved_by,
    formedAt: r.formed_at,
    resolvedAt: r.resolved_at,
    version: r.version,
  };
}

// A hypothesis as JSON (in sharedContextQuery): its version as text, JSON has no 64-bit integers.
const hypothesisJsonRow = hypothesisRow.extend({ version: z.string() });
// Made once: a zod schema costs more to build than to check the row with.
const sharedContextRow = z.object({ memories: z.unknown(), hypotheses: z.array(hypothesisJsonRow), hypotheses_truncated: z.boolean() });

/** A hypothesis of sharedContextQuery as the domain's Hypothesis. */
export const hypothesisFromJson = (r: z.infer<typeof hypothesisJsonRow>): Hypothesis => toHypothesis({ ...r, version: BigInt(r.version) });

/** One hypothesis. */
export const hypothesisQuery = (id: string) => sql.type(hypothesisRow)`select ${hypothesisColumns} from hypotheses where id = ${id}::uuid`;

/** A page of a person's hypotheses, newest formed first. */
export function hypothesesQuery(
  userId: string,
  statuses: HypothesisStatus[],
  agentId: string | null,
  after: Keyset | null,
  limit: number,
  maxBytes: number,
) {
  const status = statuses.length === 0 ? sql.fragment`` : sql.fragment`and status = any(${sql.array(statuses, 'text')})`;
  const agent = agentId === null ? sql.fragment`` : sql.fragment`and agent_id = ${agentId}`;
  const page =
    after === null
      ? sql.fragment``
      : sql.fragment`and (hypotheses.formed_at, hypotheses.id) < (${timeOf(after.timeUs)}, ${after.id}::uuid)`;
  const source = sql.fragment`
    select hypotheses.*, ${microseconds(sql.fragment`hypotheses.formed_at`)} as at_us from hypotheses
     where user_id = ${userId} ${status} ${agent} ${page}
     order by hypotheses.formed_at desc, hypotheses.id desc limit ${limit}`;
  return sql.type(hypothesisPageRow)`
    ${withinBytes(sql.fragment`${hypothesisColumns}, at_us`, source, sql.fragment`formed_at desc, id desc`, maxBytes)}`;
}

/** What GetSharedContext reads, checked. */
export interface SharedContextParameters {
  userId: string;
  /** Left out of the agents: the agent asking. */
  requestingAgent: string;
  minConfidence: number;
  perAgent: number;
  decisions: number;
  hypotheses: number;
  /** Bytes of documents the answer may hold (RESPONSE_MAX_BYTES). */
  maxBytes: number;
}

/**
 * GetSharedContext in one statement — one snapshot, one round trip — by the function
 * shared_context (sql/functions/shared_context.sql): the validated hypotheses, then the memory
 * module's part (shared_memories, parsed by src/memory/sharedContext.ts) with what is left of the
 * byte budget.
 */
export function sharedContextQuery(p: SharedContextParameters) {
  return sql.type(sharedContextRow)`
    select memories, hypotheses, hypotheses_truncated
      from shared_context(${p.userId}, ${p.requestingAgent}, ${p.minConfidence}::float8, ${p.perAgent}::int, ${p.decisions}::int,
                          ${p.hypotheses}::int, ${p.maxBytes}::bigint)`;
}

const profileRow = z.object({
  user_id: z.string(),
  profile_data: jsonObject,
  preferences: jsonObject,
  privacy_settings: jsonObject,
  created_at: z.number(),
  updated_at: z.number(),
  version: z.bigint(),
});

/** A row as the domain's UserProfile. */
export function toProfile(r: z.infer<typeof profileRow>): UserProfile {
  return {
    userId: r.user_id,
    profileData: r.profile_data,
    preferences: r.preferences,
    privacySettings: r.privacy_settings,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: r.version,
  };
}

/** A person's profile. */
export const profileQuery = (userId: string) =>
  sql.type(profileRow)`
    select user_id, profile_data, preferences, privacy_settings, created_at, updated_at, version
      from user_profiles where user_id = ${userId}`;

const knowledgeRow = z.object({
  id: z.string(),
  agent_id: z.string(),
  domain: z.string(),
  knowledge_type: z.string(),
  content: jsonObject,
  confidence: z.number(),
  evidence: jsonObject,
  validation_status: z.enum(KNOWLEDGE_STATUSES),
  validated_by: z.string().nullable(),
  created_at: z.number(),
  validated_at: z.number().nullable(),
  version: z.bigint(),
});
const knowledgePageRow = knowledgeRow.extend(pageColumns);

const knowledgeColumns = sql.fragment`
  id::text, agent_id, domain, knowledge_type, content, confidence, evidence, validation_status,
  validated_by, created_at, validated_at, version`;

/** A row as the domain's Knowledge. */
export function toKnowledge(r: z.infer<typeof knowledgeRow>): Knowledge {
  return {
    id: r.id,
    agentId: r.agent_id,
    domain: r.domain,
    knowledgeType: r.knowledge_type,
    content: r.content,
    confidence: r.confidence,
    evidence: r.evidence,
    validationStatus: r.validation_status,
    validatedBy: r.validated_by,
    createdAt: r.created_at,
    validatedAt: r.validated_at,
    version: r.version,
  };
}

/** One item of knowledge. */
export const knowledgeQuery = (id: string) =>
  sql.type(knowledgeRow)`select ${knowledgeColumns} from specialist_knowledge where id = ${id}::uuid`;

/** Which knowledge to list; null and empty filter nothing. */
export interface KnowledgeFilter {
  agentId: string | null;
  domain: string | null;
  minConfidence: number | null;
  statuses: KnowledgeStatus[];
}

/** A page of knowledge, most confident first, then newest. */
export function knowledgeListQuery(f: KnowledgeFilter, after: Keyset | null, limit: number, maxBytes: number) {
  const conditions = [sql.fragment`true`];
  if (after !== null)
    conditions.push(sql.fragment`(specialist_knowledge.confidence, specialist_knowledge.created_at, specialist_knowledge.id)
      < (${after.confidence ?? 1}::float8, ${timeOf(after.timeUs)}, ${after.id}::uuid)`);
  if (f.agentId !== null) conditions.push(sql.fragment`agent_id = ${f.agentId}`);
  if (f.domain !== null) conditions.push(sql.fragment`domain = ${f.domain}`);
  if (f.minConfidence !== null) conditions.push(sql.fragment`confidence >= ${f.minConfidence}`);
  if (f.statuses.length > 0) conditions.push(sql.fragment`validation_status = any(${sql.array(f.statuses, 'text')})`);
  const source = sql.fragment`
    select specialist_knowledge.*, ${microseconds(sql.fragment`specialist_knowledge.created_at`)} as at_us from specialist_knowledge
     where ${sql.join(conditions, sql.fragment` and `)}
     order by specialist_knowledge.confidence desc, specialist_knowledge.created_at desc, specialist_knowledge.id desc limit ${limit}`;
  return sql.type(knowledgePageRow)`
    ${withinBytes(sql.fragment`${knowledgeColumns}, at_us`, source, sql.fragment`confidence desc, created_at desc, id desc`, maxBytes)}`;
}

const readingRow = z.object({
  id: z.string(),
  user_id: z.string(),
  source: z.string(),
  data: jsonObject,
  measured_at: z.number(),
  recorded_at: z.number(),
});
const readingPageRow = readingRow.extend(pageColumns);

/** A row as the domain's BiometricReading. */
export function toReading(r: z.infer<typeof readingRow>): BiometricReading {
  return { id: r.id, userId: r.user_id, source: r.source, data: r.data, measuredAt: r.measured_at, recordedAt: r.recorded_at };
}

/** A page of a person's readings measured in [from, to) (epoch ms; null is open), oldest first. */
export function readingsQuery(
  userId: string,
  from: number | null,
  to: number | null,
  after: Keyset | null,
  limit: number,
  maxBytes: number,
) {
  const since = from === null ? sql.fragment`` : sql.fragment`and measured_at >= to_timestamp(${from / 1000})`;
  const before = to === null ? sql.fragment`` : sql.fragment`and measured_at < to_timestamp(${to / 1000})`;
  const page =
    after === null
      ? sql.fragment``
      : sql.fragment`and (biometric_readings.measured_at, biometric_readings.id) > (${timeOf(after.timeUs)}, ${after.id}::uuid)`;
  const source = sql.fragment`
    select biometric_readings.*, ${microseconds(sql.fragment`biometric_readings.measured_at`)} as at_us from biometric_readings
     where user_id = ${userId} ${since} ${before} ${page}
     order by biometric_readings.measured_at, biometric_readings.id limit ${limit}`;
  return sql.type(readingPageRow)`
    ${withinBytes(sql.fragment`id::text, user_id, source, data, measured_at, recorded_at, at_us`, source, sql.fragment`measured_at, id`, maxBytes)}`;
}

const turnRow = z.object({
  id: z.string(),
  conversation_id: z.string(),
  agent_id: z.string(),
  user_id: z.string(),
  message_context: jsonObject,
  insights: z.array(jsonObject),
  follow_up_actions: z.array(jsonObject),
  created_at: z.number(),
});
const turnPageRow = turnRow.extend(pageColumns);

/** A row as the domain's ConversationTurn. */
export function toTurn(r: z.infer<typeof turnRow>): ConversationTurn {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    agentId: r.agent_id,
    userId: r.user_id,
    messageContext: r.message_context,
    insights: r.insights,
    followUpActions: r.follow_up_actions,
    createdAt: r.created_at,
  };
}

/** Which turns of a person to list; null filters nothing. Times are epoch ms, [from, to). */
export interface TurnFilter {
  userId: string;
  conversationId: string | null;
  agentId: string | null;
  from: number | null;
  to: number | null;
  newestFirst: boolean;
}

/** A page of a person's conversation turns, in time order or newest first. */
export function turnsQuery(f: TurnFilter, after: Keyset | null, limit: number, maxBytes: number) {
  const conditions = [sql.fragment`user_id = ${f.userId}`];
  if (f.conversationId !== null) conditions.push(sql.fragment`conversation_id = ${f.conversationId}::uuid`);
  if (f.agentId !== null) conditions.push(sql.fragment`agent_id = ${f.agentId}`);
  if (f.from !== null) conditions.push(sql.fragment`created_at >= to_timestamp(${f.from / 1000})`);
  if (f.to !== null) conditions.push(sql.fragment`created_at < to_timestamp(${f.to / 1000})`);
  const keyset = sql.fragment`(conversation_memories.created_at, conversation_memories.id)`;
  const start = after === null ? null : sql.fragment`(${timeOf(after.timeUs)}, ${after.id}::uuid)`;
  if (start !== null) conditions.push(f.newestFirst ? sql.fragment`${keyset} < ${start}` : sql.fragment`${keyset} > ${start}`);
  const direction = f.newestFirst ? sql.fragment`desc` : sql.fragment`asc`;
  const source = sql.fragment`
    select conversation_memories.*, ${microseconds(sql.fragment`conversation_memories.created_at`)} as at_us from conversation_memories
     where ${sql.join(conditions, sql.fragment` and `)}
     order by conversation_memories.created_at ${direction}, conversation_memories.id ${direction} limit ${limit}`;
  const columns = sql.fragment`id::text, conversation_id::text, agent_id, user_id, message_context, insights, follow_up_actions, created_at, at_us`;
  return sql.type(turnPageRow)`
    ${withinBytes(columns, source, sql.fragment`created_at ${direction}, id ${direction}`, maxBytes)}`;
}
