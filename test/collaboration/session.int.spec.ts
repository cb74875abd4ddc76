import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { CallOptions } from '@connectrpc/connect';
import pg from 'pg';
import { HypothesisStatus, KnowledgeStatus, MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import type { Memory } from '../../src/gen/auren/v1/memory_pb.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { rejectsWith } from '../support/events.js';

// The seed's §4 session, end to end through the generated TypeScript client on GRPC_PORT (the
// agents' port): a biometric reading arrives, the neuroscientist decides, the nutritionist reads
// the shared context and sees it, the training agent gets a handoff, a hypothesis is formed then
// validated. Every value the later agents see is asserted, and so is the person's access log.

const READING = { hrv: 45, resting_hr: 65, sleep_quality: 0.7 };
const MEASURED = new Date('2025-07-24T10:00:00Z');
const SHARED = ['memory:read', 'memory:write', 'memory:shared'];

describe('A multi-agent session (seed §4) through the generated client', function () {
  this.timeout(60_000);
  let t: TestApp;
  let db: pg.Client;
  const user = `user_${randomUUID().slice(0, 8)}`;
  const keys: Record<string, CallOptions> = {};
  const as = (agent: string) => keys[agent]!;

  before(async () => {
    t = await startTestApp({}, 'GRPC_PORT');
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    for (const agent of ['neuroscientist', 'nutritionist', 'training_agent'])
      keys[agent] = t.withKey(await t.key({ kind: 'agent', agentId: agent, scopes: SHARED }));
    keys.healthkit = t.withKey(await t.key({ kind: 'service', name: 'healthkit-bridge', scopes: ['memory:write'] }));
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const contentOf = (memories: Memory[]) => memories.map((m) => m.content);
  let readingId: string;
  let analysisId: string;
  let decisionId: string;
  let nutritionDecisionId: string;
  let hypothesisId: string;
  let handoffId: string;

  it('1. a biometric reading arrives and is read back by time range', async () => {
    const { reading } = await t.memory.recordBiometricReading(
      { userId: user, source: 'healthkit', data: READING, measuredAt: timestampFromDate(MEASURED) },
      as('healthkit'),
    );
    readingId = reading!.id;
    assert.equal(reading!.source, 'healthkit');
    const { readings } = await t.memory.listBiometricReadings(
      { userId: user, from: timestampFromDate(new Date('2025-07-24T00:00:00Z')), to: timestampFromDate(new Date('2025-07-25T00:00:00Z')) },
      as('neuroscientist'),
    );
    assert.deepEqual(
      readings.map((r) => [r.id, r.source, r.data, timestampDate(r.measuredAt!).toISOString()]),
      [[readingId, 'healthkit', READING, MEASURED.toISOString()]],
    );
    const { readings: before } = await t.memory.listBiometricReadings(
      { userId: user, to: timestampFromDate(new Date('2025-07-24T09:00:00Z')) },
      as('neuroscientist'),
    );
    assert.deepEqual(before, []);
  });

  it('2. the neuroscientist sees no other agent yet, then analyses and decides', async () => {
    const empty = await t.memory.getSharedContext({ userId: user, requestingAgent: 'neuroscientist' }, as('neuroscientist'));
    assert.deepEqual([empty.agents, empty.recentDecisions, empty.validatedHypotheses], [[], [], []]);

    const low = await t.memory.storeMemory(
      { agentId: 'neuroscientist', userId: user, type: MemoryType.HYPOTHESIS, content: { text: 'maybe caffeine' }, confidence: 0.4 },
      as('neuroscientist'),
    );
    assert.ok(low.memory);
    const analysis = await t.memory.storeMemory(
      { agentId: 'neuroscientist', userId: user, type: MemoryType.ANALYSIS, content: { text: 'HRV 45: elevated stress' }, confidence: 0.9 },
      as('neuroscientist'),
    );
    analysisId = analysis.memory!.id;
    const { memory } = await t.memory.recordDecision(
      {
        agentId: 'neuroscientist',
        userId: user,
        decision: { analysis: 'Elevated stress indicators in HRV data', recommendation: 'Focus on recovery and stress management' },
        confidence: 0.85,
        category: 'stress',
        urgency: 'high',
        summary: 'stress is high: recover',
        context: { biometric_reading_id: readingId, hrv: 45 },
      },
      as('neuroscientist'),
    );
    decisionId = memory!.id;
    assert.equal(memory!.type, MemoryType.DECISION);
    assert.equal(memory!.confidence, 0.85);
    assert.deepEqual(memory!.metadata, {
      decision_category: 'stress',
      urgency: 'high',
      summary: 'stress is high: recover',
      decision_context: { biometric_reading_id: readingId, hrv: 45 },
      cross_agent_insights_used: [],
      cross_agent_collaboration: false,
    });
    // The memory and its agent_decision event: both there, from one commit.
    const { rows } = await db.query(
      `select stream_id, type, data->>'memory_id' as memory_id, metadata->>'urgency' as urgency, position from events
        where stream_id in ($1, $2) order by stream_id`,
      [`decision-${decisionId}`, `memory-${decisionId}`],
    );
    assert.deepEqual(
      rows.map((r) => [r.stream_id, r.type]),
      [
        [`decision-${decisionId}`, 'agent_decision'],
        [`memory-${decisionId}`, 'memory_created'],
      ],
    );
    assert.equal(rows[0].memory_id, decisionId);
    assert.equal(rows[0].urgency, 'high');
  });

  it("3. the nutritionist reads the shared context and sees the neuroscientist's conclusions", async () => {
    const context = await t.memory.getSharedContext({ userId: user, requestingAgent: 'nutritionist' }, as('nutritionist'));
    assert.equal(context.userId, user);
    assert.equal(context.requestingAgent, 'nutritionist');
    assert.deepEqual(
      context.agents.map((a) => [a.agentId, a.memories.map((m) => m.id)]),
      [['neuroscientist', [decisionId, analysisId]]],
      'newest first; the 0.4 hypothesis is below the 0.7 threshold',
    );
    assert.deepEqual(contentOf(context.agents[0]!.memories)[1], { text: 'HRV 45: elevated stress' });
    assert.deepEqual(
      context.recentDecisions.map((m) => [m.id, m.agentId, m.content, m.confidence]),
      [
        [
          decisionId,
          'neuroscientist',
          { analysis: 'Elevated stress indicators in HRV data', recommendation: 'Focus on recovery and stress management' },
          0.85,
        ],
      ],
    );
    assert.deepEqual(context.validatedHypotheses, []);

    // A lower threshold shows the low-confidence memory too.
    const all = await t.memory.getSharedContext({ userId: user, requestingAgent: 'nutritionist', minConfidence: 0 }, as('nutritionist'));
    assert.equal(all.agents[0]!.memories.length, 3);
    const one = await t.memory.getSharedContext({ userId: user, requestingAgent: 'nutritionist', memoriesPerAgent: 1 }, as('nutritionist'));
    assert.deepEqual(
      one.agents[0]!.memories.map((m) => m.id),
      [decisionId],
    );

    const { memory } = await t.memory.recordDecision(
      {
        agentId: 'nutritionist',
        userId: user,
        decision: { recommendation: 'magnesium-rich dinner, no caffeine after noon' },
        confidence: 0.8,
        category: 'nutrition',
        usedMemoryIds: [decisionId],
      },
      as('nutritionist'),
    );
    nutritionDecisionId = memory!.id;
    assert.equal(memory!.metadata!.cross_agent_collaboration, true);
    assert.deepEqual(memory!.metadata!.cross_agent_insights_used, [decisionId]);
    assert.equal(memory!.metadata!.urgency, 'normal');
  });

  it('4. the neuroscientist forms a hypothesis and hands the person to the training agent', async () => {
    const { hypothesis } = await t.memory.recordHypothesis(
      {
        agentId: 'neuroscientist',
        userId: user,
        statement: 'Elevated stress is disrupting deep sleep',
        confidence: 0.6,
        evidence: { hrv: 45 },
      },
      as('neuroscientist'),
    );
    hypothesisId = hypothesis!.id;
    assert.equal(hypothesis!.status, HypothesisStatus.FORMED);
    assert.equal(hypothesis!.version, 1n);

    const { handoff, memory } = await t.memory.handoffAgent(
      {
        userId: user,
        fromAgent: 'neuroscientist',
        toAgent: 'training_agent',
        topic: 'Adjust training load for stress',
        context: { decision_id: decisionId },
        urgency: 'high',
      },
      as('neuroscientist'),
    );
    handoffId = handoff!.id;
    assert.equal(handoff!.reason, 'specialist_expertise_required');
    assert.equal(handoff!.handoffType, 'consultation');
    assert.equal(handoff!.requiresResponse, true);
    assert.equal(handoff!.acknowledgedAt, undefined);
    assert.equal(memory!.agentId, 'training_agent');
    assert.equal(memory!.type, MemoryType.CONVERSATION);
    assert.deepEqual(memory!.content, {
      handoff_received: true,
      from_agent: 'neuroscientist',
      topic: 'Adjust training load for stress',
      context: { decision_id: decisionId },
    });
    assert.deepEqual(memory!.metadata, { handoff_id: handoffId, requires_response: true });
    assert.equal(handoff!.memoryId, memory!.id);
  });

  it("5. the training agent finds the handoff, reads both agents' conclusions and acknowledges it", async () => {
    const { handoffs } = await t.memory.listPendingHandoffs({ agentId: 'training_agent' }, as('training_agent'));
    assert.deepEqual(
      handoffs.map((h) => [h.id, h.fromAgent, h.topic, h.urgency, h.userId]),
      [[handoffId, 'neuroscientist', 'Adjust training load for stress', 'high', user]],
    );
    const context = await t.memory.getSharedContext({ userId: user, requestingAgent: 'training_agent' }, as('training_agent'));
    assert.deepEqual(
      context.agents.map((a) => [a.agentId, a.memories.map((m) => m.id)]),
      [
        ['neuroscientist', [decisionId, analysisId]],
        ['nutritionist', [nutritionDecisionId]],
      ],
      'its own handoff memory is not shared back to it',
    );
    assert.deepEqual(
      context.recentDecisions.map((m) => [m.id, m.agentId]),
      [
        [nutritionDecisionId, 'nutritionist'],
        [decisionId, 'neuroscientist'],
      ],
    );
    assert.deepEqual(context.validatedHypotheses, [], 'a formed hypothesis is not yet validated');

    // Only the receiving agent acknowledges, once.
    await rejectsWith(t.memory.acknowledgeHandoff({ handoffId }, as('nutritionist')), Code.PermissionDenied, /training_agent/);
    const { handoff } = await t.memory.acknowledgeHandoff({ handoffId, note: 'load reduced 20%' }, as('training_agent'));
    assert.equal(handoff!.acknowledgedBy, 'training_agent');
    assert.equal(handoff!.acknowledgementNote, 'load reduced 20%');
    assert.equal(handoff!.version, 2n);
    await rejectsWith(t.memory.acknowledgeHandoff({ handoffId }, as('training_agent')), Code.FailedPrecondition, /already acknowledged/);
    assert.deepEqual((await t.memory.listPendingHandoffs({ agentId: 'training_agent' }, as('training_agent'))).handoffs, []);

    const { turn } = await t.memory.recordConversationTurn(
      {
        agentId: 'training_agent',
        userId: user,
        messageContext: { role: 'agent', text: 'Swapping intervals for zone 2 this week' },
        insights: [{ stress: 'high' }],
        followUpActions: [{ check_hrv_in_days: 3 }],
      },
      as('training_agent'),
    );
    assert.match(turn!.conversationId, /^[0-9a-f-]{36}$/);
    const { rows } = await db.query(`select agent_id, user_id, insights, follow_up_actions from conversation_memories where id = $1`, [
      turn!.id,
    ]);
    assert.deepEqual(rows, [
      { agent_id: 'training_agent', user_id: user, insights: [{ stress: 'high' }], follow_up_actions: [{ check_hrv_in_days: 3 }] },
    ]);
  });

  it('6. the hypothesis is validated, once; later agents see it in the shared context', async () => {
    const { hypothesis } = await t.memory.recordHypothesis(
      {
        hypothesisId,
        agentId: 'neuroscientist',
        status: HypothesisStatus.VALIDATED,
        confidence: 0.82,
        evidence: { sleep_quality: 0.7, nights: 5 },
        expectedVersion: 1n,
      },
      as('neuroscientist'),
    );
    assert.equal(hypothesis!.status, HypothesisStatus.VALIDATED);
    assert.equal(hypothesis!.finalConfidence, 0.82);
    assert.equal(hypothesis!.initialConfidence, 0.6);
    assert.equal(hypothesis!.version, 2n);
    const stale = await rejectsWith(
      t.memory.recordHypothesis(
        { hypothesisId, agentId: 'neuroscientist', status: HypothesisStatus.REFUTED, confidence: 0.1, expectedVersion: 1n },
        as('neuroscientist'),
      ),
      Code.Aborted,
      /is at version 2, expected version 1/,
    );
    assert.ok(stale);
    await rejectsWith(
      t.memory.recordHypothesis(
        { hypothesisId, agentId: 'neuroscientist', status: HypothesisStatus.REFUTED, confidence: 0.1 },
        as('neuroscientist'),
      ),
      Code.FailedPrecondition,
      /already validated/,
    );

    const context = await t.memory.getSharedContext({ userId: user, requestingAgent: 'nutritionist' }, as('nutritionist'));
    assert.deepEqual(
      context.validatedHypotheses.map((h) => [h.id, h.statement, h.finalConfidence, h.validationEvidence, h.resolvedBy, h.agentId]),
      [
        [
          hypothesisId,
          'Elevated stress is disrupting deep sleep',
          0.82,
          { sleep_quality: 0.7, nights: 5 },
          'neuroscientist',
          'neuroscientist',
        ],
      ],
    );
    const validated = await t.memory.listHypotheses({ userId: user, statuses: [HypothesisStatus.VALIDATED] }, as('nutritionist'));
    assert.deepEqual(
      validated.hypotheses.map((h) => h.id),
      [hypothesisId],
    );
    const formed = await t.memory.listHypotheses({ userId: user, statuses: [HypothesisStatus.FORMED] }, as('nutritionist'));
    assert.deepEqual(formed.hypotheses, []);
  });

  it('7. the profile is kept by version, and specialist knowledge is validated by version', async () => {
    const created = await t.memory.upsertUserProfile(
      { userId: user, profileData: { age: 34 }, preferences: { units: 'metric' }, expectedVersion: 0n },
      as('nutritionist'),
    );
    assert.equal(created.profile!.version, 1n);
    assert.deepEqual(created.profile!.privacySettings, {});
    const changed = await t.memory.upsertUserProfile({ userId: user, privacySettings: { share_with_coach: true }, expectedVersion: 1n });
    assert.equal(changed.profile!.version, 2n);
    await rejectsWith(
      t.memory.upsertUserProfile({ userId: user, profileData: { age: 35 }, expectedVersion: 1n }),
      Code.Aborted,
      /version 2/,
    );
    const { profile } = await t.memory.getUserProfile({ userId: user }, as('training_agent'));
    assert.deepEqual(
      [profile!.profileData, profile!.preferences, profile!.privacySettings, profile!.version],
      [{ age: 34 }, { units: 'metric' }, { share_with_coach: true }, 2n],
    );

    const domain = `hrv-${randomUUID().slice(0, 8)}`;
    const { knowledge } = await t.memory.addKnowledge(
      { agentId: 'neuroscientist', domain, knowledgeType: 'threshold', content: { low_hrv_below: 50 }, confidence: 0.7 },
      as('neuroscientist'),
    );
    assert.equal(knowledge!.validationStatus, KnowledgeStatus.PENDING);
    const validated = await t.memory.validateKnowledge(
      { knowledgeId: knowledge!.id, status: KnowledgeStatus.VALIDATED, evidence: { studies: 3 }, confidence: 0.9, expectedVersion: 1n },
      as('nutritionist'),
    );
    assert.deepEqual(
      [
        validated.knowledge!.validationStatus,
        validated.knowledge!.confidence,
        validated.knowledge!.evidence,
        validated.knowledge!.validatedBy,
      ],
      [KnowledgeStatus.VALIDATED, 0.9, { studies: 3 }, 'nutritionist'],
    );
    await rejectsWith(
      t.memory.validateKnowledge({ knowledgeId: knowledge!.id, status: KnowledgeStatus.REJECTED, expectedVersion: 1n }, as('nutritionist')),
      Code.Aborted,
      /version 2/,
    );
    const { items } = await t.memory.listKnowledge({ agentId: 'neuroscientist', domain }, as('training_agent'));
    assert.deepEqual(
      items.map((k) => [k.id, k.validationStatus, k.version]),
      [[knowledge!.id, KnowledgeStatus.VALIDATED, 2n]],
    );
  });

  it("8. the person's audit trail names every reader and every write", async () => {
    const { events } = await t.memory.listAuditTrail({ userId: user, pageSize: 1000 });
    const reads = events
      .filter((e) => e.type === 'memory_retrieved' || e.type === 'data_accessed')
      .map((e) => [e.type, e.data!.operation, e.data!.caller]);
    assert.deepEqual(reads, [
      ['data_accessed', 'list_biometric_readings', 'neuroscientist'],
      ['data_accessed', 'list_biometric_readings', 'neuroscientist'],
      ['memory_retrieved', 'get_shared_context', 'neuroscientist'],
      ['memory_retrieved', 'get_shared_context', 'nutritionist'],
      ['memory_retrieved', 'get_shared_context', 'nutritionist'],
      ['memory_retrieved', 'get_shared_context', 'nutritionist'],
      ['data_accessed', 'list_pending_handoffs', 'training_agent'],
      ['memory_retrieved', 'get_shared_context', 'training_agent'],
      ['memory_retrieved', 'get_shared_context', 'nutritionist'],
      ['data_accessed', 'list_hypotheses', 'nutritionist'],
      ['data_accessed', 'list_hypotheses', 'nutritionist'],
      ['data_accessed', 'get_user_profile', 'training_agent'],
    ]);
    const training = events.find((e) => e.data!.operation === 'get_shared_context' && e.data!.caller === 'training_agent')!;
    assert.equal(training.data!.shared, true);
    assert.deepEqual(training.data!.memory_ids, [decisionId, analysisId, nutritionDecisionId]);
    const writes = new Set(events.map((e) => e.type));
    for (const type of [
      'biometric_received',
      'memory_created',
      'agent_decision',
      'hypothesis_formed',
      'agent_handoff',
      'handoff_acknowledged',
      'conversation_turn',
      'hypothesis_validated',
      'user_profile_created',
      'user_profile_updated',
    ])
      assert.ok(writes.has(type), `${type} is on the trail`);
  });
});
