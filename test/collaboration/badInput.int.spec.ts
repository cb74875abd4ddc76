import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import type { CallOptions } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import pg from 'pg';
import { HypothesisStatus, KnowledgeStatus } from '../../src/gen/auren/v1/memory_pb.js';
import { BadRequestSchema, ErrorInfoSchema } from '../../src/gen/google/rpc/error_details_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';

// Every collaboration RPC's bad inputs, on both listeners: the right code, the field named (in
// the message and in google.rpc.BadRequest), and nothing written — no event, no row.

const TABLES = [
  'events',
  'memories',
  'agent_handoffs',
  'hypotheses',
  'user_profiles',
  'specialist_knowledge',
  'conversation_memories',
  'biometric_readings',
];

describeOnEachListener('Collaboration RPCs refuse bad input', (listener) => {
  let t: TestApp;
  let db: pg.Client;
  let neuro: CallOptions;
  const user = `user_${randomUUID().slice(0, 8)}`;
  let hypothesisId: string;
  let knowledgeId: string;
  before(async () => {
    t = await startTestApp({}, listener);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    neuro = t.withKey(await t.key({ kind: 'agent', agentId: 'neuroscientist', scopes: ['memory:read', 'memory:write', 'memory:shared'] }));
    // Things to refer to: a validated hypothesis, a validated item of knowledge, a profile.
    const formed = await t.memory.recordHypothesis(
      { agentId: 'neuroscientist', userId: user, statement: 'stress', confidence: 0.5 },
      neuro,
    );
    hypothesisId = formed.hypothesis!.id;
    await t.memory.recordHypothesis(
      { hypothesisId, agentId: 'neuroscientist', status: HypothesisStatus.VALIDATED, confidence: 0.8 },
      neuro,
    );
    const added = await t.memory.addKnowledge(
      { agentId: 'neuroscientist', domain: 'hrv', knowledgeType: 'rule', content: { a: 1 }, confidence: 0.5 },
      neuro,
    );
    knowledgeId = added.knowledge!.id;
    await t.memory.validateKnowledge({ knowledgeId, status: KnowledgeStatus.VALIDATED }, neuro);
    await t.memory.upsertUserProfile({ userId: user, profileData: { age: 30 } });
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  async function counts(): Promise<string> {
    // A refusal for who is calling is recorded (access_refused): that is not the call's write.
    const where = (table: string) => (table === 'events' ? ` where type <> 'access_refused'` : '');
    const parts: string[] = [];
    for (const table of TABLES) parts.push(`${table}=${(await db.query(`select count(*) from ${table}${where(table)}`)).rows[0].count}`);
    return parts.join(' ');
  }

  /** The call fails with `code`; INVALID_ARGUMENT names `field`; nothing is written. */
  async function refused(call: () => Promise<unknown>, code: Code, field: string | RegExp): Promise<void> {
    const before = await counts();
    let error: ConnectError | undefined;
    try {
      await call();
    } catch (e) {
      error = ConnectError.from(e);
    }
    assert.ok(error, 'the call was refused');
    assert.equal(Code[error.code], Code[code], error.rawMessage);
    if (typeof field === 'string') {
      assert.ok(error.rawMessage.startsWith(`${field}: `), `'${error.rawMessage}' names ${field}`);
      assert.equal(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, field);
    } else assert.match(error.rawMessage, field);
    assert.ok(error.findDetails(ErrorInfoSchema)[0]?.reason);
    assert.equal(await counts(), before, 'nothing written');
  }
  const invalid = (field: string, call: () => Promise<unknown>) => refused(call, Code.InvalidArgument, field);
  const m = () => t.memory;
  const unknown = randomUUID();

  it('GetSharedContext', async () => {
    await invalid('user_id', () => m().getSharedContext({ requestingAgent: 'neuroscientist' }, neuro));
    await invalid('requesting_agent', () => m().getSharedContext({ userId: user }, neuro));
    await invalid('min_confidence', () =>
      m().getSharedContext({ userId: user, requestingAgent: 'neuroscientist', minConfidence: 1.5 }, neuro),
    );
    await invalid('memories_per_agent', () =>
      m().getSharedContext({ userId: user, requestingAgent: 'neuroscientist', memoriesPerAgent: 101 }),
    );
    await invalid('decisions_limit', () => m().getSharedContext({ userId: user, requestingAgent: 'neuroscientist', decisionsLimit: 1000 }));
    await invalid('hypotheses_limit', () =>
      m().getSharedContext({ userId: user, requestingAgent: 'neuroscientist', hypothesesLimit: 101 }),
    );
  });

  it('GetSharedContext: an agent key acts as itself, with the shared scope, for its tenant', async () => {
    const n = async () => (await db.query(`select count(*) from events where type = 'access_refused'`)).rows[0].count as string;
    const refusals = await n();
    await assert.rejects(m().getSharedContext({ userId: user, requestingAgent: 'nutritionist' }, neuro), (e: unknown) => {
      assert.equal(ConnectError.from(e).code, Code.PermissionDenied);
      return true;
    });
    await assert.rejects(m().getSharedContext({ userId: user, requestingAgent: 'sleep_agent' }, t.as('sleep_agent')), (e: unknown) => {
      const error = ConnectError.from(e);
      assert.equal(error.code, Code.PermissionDenied);
      assert.equal(error.findDetails(ErrorInfoSchema)[0]?.reason, 'MISSING_SCOPE');
      return true;
    });
    const tenant = t.withKey(await t.key({ kind: 'admin', name: 'other-tenant', tenant: ['someone_else'] }));
    await assert.rejects(m().getSharedContext({ userId: user, requestingAgent: 'neuroscientist' }, tenant), (e: unknown) => {
      assert.equal(ConnectError.from(e).code, Code.PermissionDenied);
      return true;
    });
    assert.equal(Number(await n()), Number(refusals) + 3, 'each refusal is recorded');
  });

  it('RecordDecision', async () => {
    const ok = { agentId: 'neuroscientist', userId: user, decision: { a: 1 }, confidence: 0.5 };
    await invalid('agent_id', () => m().recordDecision({ ...ok, agentId: '' }, neuro));
    await invalid('user_id', () => m().recordDecision({ ...ok, userId: '' }, neuro));
    await invalid('decision', () => m().recordDecision({ ...ok, decision: undefined }, neuro));
    await invalid('confidence', () => m().recordDecision({ ...ok, confidence: 1.2 }, neuro));
    await invalid('confidence', () => m().recordDecision({ ...ok, confidence: -0.1 }, neuro));
    await invalid('used_memory_ids[1]', () => m().recordDecision({ ...ok, usedMemoryIds: [unknown, 'not-a-uuid'] }, neuro));
    await refused(() => m().recordDecision({ ...ok, agentId: 'nutritionist' }, neuro), Code.PermissionDenied, /acts only as its own agent/);
  });

  it('HandoffAgent, ListPendingHandoffs, AcknowledgeHandoff', async () => {
    const ok = { userId: user, fromAgent: 'neuroscientist', toAgent: 'training_agent', topic: 'load' };
    await invalid('user_id', () => m().handoffAgent({ ...ok, userId: '' }, neuro));
    await invalid('from_agent', () => m().handoffAgent({ ...ok, fromAgent: '' }, neuro));
    await invalid('to_agent', () => m().handoffAgent({ ...ok, toAgent: '' }, neuro));
    await invalid('to_agent', () => m().handoffAgent({ ...ok, toAgent: 'neuroscientist' }, neuro));
    await invalid('topic', () => m().handoffAgent({ ...ok, topic: ' ' }, neuro));
    await invalid('agent_id', () => m().listPendingHandoffs({}, neuro));
    await invalid('limit', () => m().listPendingHandoffs({ agentId: 'neuroscientist', limit: 501 }, neuro));
    await invalid('handoff_id', () => m().acknowledgeHandoff({}, neuro));
    await invalid('handoff_id', () => m().acknowledgeHandoff({ handoffId: 'h-1' }, neuro));
    await refused(() => m().acknowledgeHandoff({ handoffId: unknown }, neuro), Code.NotFound, /does not exist/);
  });

  it('RecordConversationTurn', async () => {
    const ok = { agentId: 'neuroscientist', userId: user, messageContext: { text: 'hi' } };
    await invalid('message_context', () => m().recordConversationTurn({ ...ok, messageContext: undefined }, neuro));
    await invalid('conversation_id', () => m().recordConversationTurn({ ...ok, conversationId: 'c-1' }, neuro));
    await invalid('agent_id', () => m().recordConversationTurn({ ...ok, agentId: '' }, neuro));
    await invalid('user_id', () => m().recordConversationTurn({ ...ok, userId: '' }, neuro));
  });

  it('RecordHypothesis and ListHypotheses', async () => {
    const form = { agentId: 'neuroscientist', userId: user, statement: 'sleep debt', confidence: 0.5 };
    await invalid('user_id', () => m().recordHypothesis({ ...form, userId: '' }, neuro));
    await invalid('agent_id', () => m().recordHypothesis({ ...form, agentId: '' }, neuro));
    await invalid('statement', () => m().recordHypothesis({ ...form, statement: '' }, neuro));
    await invalid('confidence', () => m().recordHypothesis({ ...form, confidence: undefined }, neuro));
    await invalid('confidence', () => m().recordHypothesis({ ...form, confidence: 2 }, neuro));
    await invalid('hypothesis_id', () => m().recordHypothesis({ ...form, status: HypothesisStatus.VALIDATED }, neuro));
    const resolve = { hypothesisId, agentId: 'neuroscientist', status: HypothesisStatus.REFUTED, confidence: 0.2 };
    await invalid('hypothesis_id', () => m().recordHypothesis({ ...resolve, hypothesisId: 'h-1' }, neuro));
    await invalid('status', () => m().recordHypothesis({ ...resolve, status: HypothesisStatus.FORMED }, neuro));
    await invalid('confidence', () => m().recordHypothesis({ ...resolve, confidence: -1 }, neuro));
    await refused(() => m().recordHypothesis({ ...resolve, hypothesisId: unknown }, neuro), Code.NotFound, /does not exist/);
    await refused(() => m().recordHypothesis({ ...resolve, expectedVersion: 1n }, neuro), Code.Aborted, /at version 2, expected version 1/);
    await refused(() => m().recordHypothesis(resolve, neuro), Code.FailedPrecondition, /already validated/);
    await invalid('user_id', () => m().listHypotheses({}, neuro));
    await invalid('statuses[0]', () => m().listHypotheses({ userId: user, statuses: [HypothesisStatus.UNSPECIFIED] }, neuro));
  });

  it('GetUserProfile and UpsertUserProfile', async () => {
    await invalid('user_id', () => m().getUserProfile({}));
    await refused(() => m().getUserProfile({ userId: `nobody_${randomUUID()}` }), Code.NotFound, /does not exist/);
    await invalid('user_id', () => m().upsertUserProfile({ profileData: { a: 1 } }));
    await refused(
      () => m().upsertUserProfile({ userId: user, profileData: { age: 31 }, expectedVersion: 5n }),
      Code.Aborted,
      /at version 1, expected version 5/,
    );
    await refused(() => m().upsertUserProfile({ userId: `new_${randomUUID()}`, expectedVersion: 1n }), Code.Aborted, /at version 0/);
    await invalid('profile_data, preferences, privacy_settings', () => m().upsertUserProfile({ userId: user }));
  });

  it('AddKnowledge, ListKnowledge, ValidateKnowledge', async () => {
    const ok = { agentId: 'neuroscientist', domain: 'hrv', knowledgeType: 'rule', content: { a: 1 }, confidence: 0.5 };
    await invalid('agent_id', () => m().addKnowledge({ ...ok, agentId: '' }, neuro));
    await invalid('domain', () => m().addKnowledge({ ...ok, domain: '' }, neuro));
    await invalid('knowledge_type', () => m().addKnowledge({ ...ok, knowledgeType: '' }, neuro));
    await invalid('content', () => m().addKnowledge({ ...ok, content: undefined }, neuro));
    await invalid('confidence', () => m().addKnowledge({ ...ok, confidence: 1.5 }, neuro));
    await invalid('confidence', () => m().addKnowledge({ ...ok, confidence: undefined }, neuro));
    await invalid('min_confidence', () => m().listKnowledge({ minConfidence: 2 }, neuro));
    await invalid('limit', () => m().listKnowledge({ limit: 501 }, neuro));
    await invalid('knowledge_id', () => m().validateKnowledge({ status: KnowledgeStatus.VALIDATED }, neuro));
    await invalid('status', () => m().validateKnowledge({ knowledgeId, status: KnowledgeStatus.PENDING }, neuro));
    await invalid('confidence', () => m().validateKnowledge({ knowledgeId, status: KnowledgeStatus.VALIDATED, confidence: -1 }, neuro));
    await refused(
      () => m().validateKnowledge({ knowledgeId: unknown, status: KnowledgeStatus.VALIDATED }, neuro),
      Code.NotFound,
      /does not exist/,
    );
    await refused(
      () => m().validateKnowledge({ knowledgeId, status: KnowledgeStatus.VALIDATED, expectedVersion: 1n }, neuro),
      Code.Aborted,
      /at version 2, expected version 1/,
    );
  });

  it('the collaboration streams are written by the service only', async () => {
    for (const stream of [
      `hypothesis-${hypothesisId}`,
      `user-profile-${user}`,
      `biometric-${user}`,
      `decision-${unknown}`,
      `handoff-${unknown}`,
    ])
      await invalid('stream_id', () => t.events.appendToStream({ streamId: stream, events: [{ type: 'hypothesis_validated', data: {} }] }));
  });

  it('ListConversationTurns', async () => {
    const at = (iso: string) => timestampFromDate(new Date(iso));
    await invalid('user_id', () => m().listConversationTurns({}));
    await invalid('conversation_id', () => m().listConversationTurns({ userId: user, conversationId: 'c-1' }));
    await invalid('agent_id', () => m().listConversationTurns({ userId: user, agentId: 'x'.repeat(300) }));
    await invalid('page_size', () => m().listConversationTurns({ userId: user, pageSize: 501 }));
    await invalid('to', () =>
      m().listConversationTurns({ userId: user, from: at('2025-07-25T00:00:00Z'), to: at('2025-07-25T00:00:00Z') }),
    );
    await invalid('page_token', () => m().listConversationTurns({ userId: user, pageToken: 'not-a-token' }));
  });

  it('the paged lists refuse forged tokens, tokens of other filters and of other lists', async () => {
    const conversationId = randomUUID();
    for (let i = 0; i < 2; i++)
      await m().recordConversationTurn({ conversationId, agentId: 'neuroscientist', userId: user, messageContext: { i } }, neuro);
    const token = (await m().listConversationTurns({ userId: user, conversationId, pageSize: 1 })).nextPageToken;
    assert.notEqual(token, '');
    assert.equal((await m().listConversationTurns({ userId: user, conversationId, pageSize: 1, pageToken: token })).turns.length, 1);
    // Edited: its position changed, its signature not.
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as { p: Record<string, string> };
    parsed.p.t = '0';
    const forged = Buffer.from(JSON.stringify(parsed)).toString('base64url');
    await invalid('page_token', () => m().listConversationTurns({ userId: user, conversationId, pageToken: forged }));
    await invalid('page_token', () => m().listConversationTurns({ userId: user, conversationId, pageToken: `${token}x` }));
    // Sound, but made for other filters or another list.
    await invalid('page_token', () => m().listConversationTurns({ userId: user, pageToken: token }));
    await invalid('page_token', () => m().listConversationTurns({ userId: user, conversationId, newestFirst: true, pageToken: token }));
    await invalid('page_token', () => m().listHypotheses({ userId: user, pageToken: token }));
    await invalid('page_token', () => m().listPendingHandoffs({ agentId: 'neuroscientist', pageToken: token }, neuro));
    await invalid('page_token', () => m().listKnowledge({ pageToken: token }));
    await invalid('page_token', () => m().listBiometricReadings({ userId: user, pageToken: token }));
  });

  it('RecordBiometricReading and ListBiometricReadings', async () => {
    const ok = { userId: user, source: 'healthkit', data: { hrv: 45 } };
    await invalid('user_id', () => m().recordBiometricReading({ ...ok, userId: '' }));
    await invalid('source', () => m().recordBiometricReading({ ...ok, source: '' }));
    await invalid('data', () => m().recordBiometricReading({ ...ok, data: undefined }));
    await invalid('data', () => m().recordBiometricReading({ ...ok, data: {} }));
    await invalid('user_id', () => m().listBiometricReadings({}));
    await invalid('limit', () => m().listBiometricReadings({ userId: user, limit: 1001 }));
    const at = (iso: string) => timestampFromDate(new Date(iso));
    await invalid('to', () =>
      m().listBiometricReadings({ userId: user, from: at('2025-07-25T00:00:00Z'), to: at('2025-07-24T00:00:00Z') }),
    );
  });
});
