import { sql } from 'slonik';
import type { FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import type { JsonObject } from '../events/types.js';
import { HYPOTHESIS_STATUSES, KNOWLEDGE_STATUSES } from './model.js';
import type { BiometricReading, Handoff, Hypothesis, Knowledge, KnowledgeStatus, HypothesisStatus, UserProfile } from './model.js';

// Every statement of the collaboration module, and the rows they return. The rows are kept by
// the trigger apply_collaboration_event (sql/functions/): this module only reads them. Orders
// name the table's columns: a bare `id` would be the selected `id::text`, which no index holds.

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

/** An agent's pending handoffs (of one person, or of the people in `userIds`), oldest first. */
export function pendingHandoffsQuery(agentId: string, userId: string | null, userIds: string[] | null, limit: number) {
  const person = userId === null ? sql.fragment`` : sql.fragment`and user_id = ${userId}`;
  const tenant = userIds === null ? sql.fragment`` : sql.fragment`and user_id = any(${sql.array(userIds, 'text')})`;
  return sql.type(handoffRow)`
    select ${handoffColumns} from agent_handoffs
     where to_agent = ${agentId} and acknowledged_at is null ${person} ${tenant}
     order by agent_handoffs.created_at, agent_handoffs.id limit ${limit}`;
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

/** A hypothesis of sharedContextQuery as the domain's Hypothesis. */
export const hypothesisFromJson = (r: z.infer<typeof hypothesisJsonRow>): Hypothesis => toHypothesis({ ...r, version: BigInt(r.version) });

/** One hypothesis. */
export const hypothesisQuery = (id: string) => sql.type(hypothesisRow)`select ${hypothesisColumns} from hypotheses where id = ${id}::uuid`;

/** A person's hypotheses, newest formed first. */
export function hypothesesQuery(userId: string, statuses: HypothesisStatus[], agentId: string | null, limit: number) {
  const status = statuses.length === 0 ? sql.fragment`` : sql.fragment`and status = any(${sql.array(statuses, 'text')})`;
  const agent = agentId === null ? sql.fragment`` : sql.fragment`and agent_id = ${agentId}`;
  return sql.type(hypothesisRow)`
    select ${hypothesisColumns} from hypotheses
     where user_id = ${userId} ${status} ${agent}
     order by hypotheses.formed_at desc, hypotheses.id desc limit ${limit}`;
}

/**
 * GetSharedContext in one statement — one snapshot, one round trip: the memory module's part
 * (`memories`, its own expression, parsed by it) and the validated hypotheses.
 */
export function sharedContextQuery(memories: FragmentSqlToken, userId: string, hypotheses: number) {
  return sql.type(z.object({ memories: z.unknown(), hypotheses: z.array(hypothesisJsonRow) }))`
    select ${memories} as memories,
           coalesce((select jsonb_agg(validated order by validated.resolved_at desc, validated.id desc) from (
             select id::text, agent_id, user_id, statement, status, initial_confidence, evidence, final_confidence,
                    validation_evidence, resolved_by, ${ms(sql.fragment`formed_at`)} as formed_at,
                    ${ms(sql.fragment`resolved_at`)} as resolved_at, version::text as version
               from hypotheses
              where user_id = ${userId} and status = 'validated'
              order by hypotheses.resolved_at desc, hypotheses.id desc limit ${hypotheses}) validated), '[]'::jsonb) as hypotheses`;
}

// Times in JSON as epoch milliseconds, truncated as the pool's timestamptz parser truncates them.
const ms = (column: FragmentSqlToken) => sql.fragment`floor(extract(epoch from ${column}) * 1000)::float8`;

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
  limit: number;
}

/** Knowledge, most confident first, then newest. */
export function knowledgeListQuery(f: KnowledgeFilter) {
  const conditions = [sql.fragment`true`];
  if (f.agentId !== null) conditions.push(sql.fragment`agent_id = ${f.agentId}`);
  if (f.domain !== null) conditions.push(sql.fragment`domain = ${f.domain}`);
  if (f.minConfidence !== null) conditions.push(sql.fragment`confidence >= ${f.minConfidence}`);
  if (f.statuses.length > 0) conditions.push(sql.fragment`validation_status = any(${sql.array(f.statuses, 'text')})`);
  return sql.type(knowledgeRow)`
    select ${knowledgeColumns} from specialist_knowledge
     where ${sql.join(conditions, sql.fragment` and `)}
     order by specialist_knowledge.confidence desc, specialist_knowledge.created_at desc, specialist_knowledge.id desc limit ${f.limit}`;
}

const readingRow = z.object({
  id: z.string(),
  user_id: z.string(),
  source: z.string(),
  data: jsonObject,
  measured_at: z.number(),
  recorded_at: z.number(),
});

/** A row as the domain's BiometricReading. */
export function toReading(r: z.infer<typeof readingRow>): BiometricReading {
  return { id: r.id, userId: r.user_id, source: r.source, data: r.data, measuredAt: r.measured_at, recordedAt: r.recorded_at };
}

/** A person's readings measured in [from, to) (epoch ms; null is open), oldest first. */
export function readingsQuery(userId: string, from: number | null, to: number | null, limit: number) {
  const after = from === null ? sql.fragment`` : sql.fragment`and measured_at >= to_timestamp(${from / 1000})`;
  const before = to === null ? sql.fragment`` : sql.fragment`and measured_at < to_timestamp(${to / 1000})`;
  return sql.type(readingRow)`
    select id::text, user_id, source, data, measured_at, recorded_at from biometric_readings
     where user_id = ${userId} ${after} ${before}
     order by biometric_readings.measured_at, biometric_readings.id limit ${limit}`;
}
