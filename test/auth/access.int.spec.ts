import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import type { CallOptions } from '@connectrpc/connect';
import pg from 'pg';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { any, freshStream, proposed, rejectsWith } from '../support/events.js';

// Who may call what. Every RPC on both listeners: no key, a revoked key and a key without the
// scope are refused with the right code, and the refusal is recorded; the right key is let in.
// Then what a key touches: an agent's own memories, a tenant's people.

interface Fixture {
  streamId: string;
  eventId: string;
  memoryId: string;
  userId: string;
}

type Rpc = (t: TestApp, f: Fixture, options: CallOptions) => Promise<unknown>;

// The first message of a tail is enough: it answers once the call was let in. The call is then
// cancelled (as test/tails/ does), never left half open.
async function firstOf(open: (signal: AbortSignal) => AsyncIterable<unknown>): Promise<unknown> {
  const controller = new AbortController();
  try {
    for await (const message of open(controller.signal)) {
      controller.abort();
      return message;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return undefined;
}

// Every RPC, with a request that succeeds for a key that may make it, and the scope it needs.
const RPCS: [string, string, Rpc][] = [
  [
    'EventStoreService/AppendToStream',
    'events:append',
    (t, f, o) => t.events.appendToStream({ streamId: f.streamId, expected: any, events: [proposed()] }, o),
  ],
  ['EventStoreService/ReadStream', 'events:read', (t, f, o) => t.events.readStream({ streamId: f.streamId }, o)],
  ['EventStoreService/ReadAll', 'events:read', (t, _f, o) => t.events.readAll({ limit: 5 }, o)],
  ['EventStoreService/GetStreamInfo', 'events:read', (t, f, o) => t.events.getStreamInfo({ streamId: f.streamId }, o)],
  ['EventStoreService/GetEvent', 'events:read', (t, f, o) => t.events.getEvent({ eventId: f.eventId }, o)],
  [
    'EventStoreService/SubscribeToStream',
    'events:read',
    (t, f, o) => firstOf((signal) => t.events.subscribeToStream({ streamId: f.streamId }, { ...o, signal })),
  ],
  [
    'EventStoreService/SubscribeToAll',
    'events:read',
    (t, _f, o) => firstOf((signal) => t.events.subscribeToAll({ from: { case: 'end', value: {} } }, { ...o, signal })),
  ],
  [
    'MemoryService/StoreMemory',
    'memory:write',
    (t, f, o) => t.memory.storeMemory({ agentId: 'coach', userId: f.userId, type: MemoryType.FACT, content: { text: 'x' } }, o),
  ],
  ['MemoryService/GetMemory', 'memory:read', (t, f, o) => t.memory.getMemory({ id: f.memoryId }, o)],
  ['MemoryService/ListMemories', 'memory:read', (t, f, o) => t.memory.listMemories({ userId: f.userId }, o)],
  ['MemoryService/UpdateMemory', 'memory:write', (t, f, o) => t.memory.updateMemory({ id: f.memoryId, confidence: 0.5 }, o)],
  ['MemoryService/SearchMemories', 'memory:read', (t, f, o) => t.memory.searchMemories({ query: 'oats', userId: f.userId }, o)],
  ['MemoryService/GetMemoryHistory', 'memory:read', (t, f, o) => t.memory.getMemoryHistory({ id: f.memoryId }, o)],
  ['MemoryService/GetMemoryStats', 'memory:read', (t, _f, o) => t.memory.getMemoryStats({ agentId: 'coach' }, o)],
  ['MemoryService/ListAuditTrail', 'audit:read', (t, f, o) => t.memory.listAuditTrail({ userId: f.userId }, o)],
  // Last: it deletes the fixture's memory.
  ['MemoryService/DeleteMemory', 'memory:write', (t, f, o) => t.memory.deleteMemory({ id: f.memoryId }, o)],
];

describeOnEachListener('Authentication and scopes', (listener) => {
  let t: TestApp;
  let db: pg.Client;
  let f: Fixture;
  let revoked: string;
  let noScopes: string;

  before(async () => {
    t = await startTestApp({}, listener);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    const streamId = freshStream('auth');
    await t.events.appendToStream({ streamId, expected: any, events: [proposed()] });
    const { events } = await t.events.readStream({ streamId });
    const userId = `user_${randomUUID()}`;
    const memory = (
      await t.memory.storeMemory({ agentId: 'coach', userId, type: MemoryType.FACT, content: { text: 'eats oats' } }, t.as('coach'))
    ).memory!;
    f = { streamId, eventId: events[0]!.eventId, memoryId: memory.id, userId };
    const made = await t.app.keys.create({ kind: 'admin', name: 'to-revoke' });
    await t.app.keys.revoke(made.record.id);
    revoked = made.key;
    noScopes = await t.key({ kind: 'service', name: 'no-scopes', scopes: [] });
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  // Refusals recorded for one RPC with one reason (on auren-refusals: no person is known yet).
  const refusals = async (procedure: string, reason: string): Promise<number> =>
    (
      await db.query(
        `select count(*)::int as n from events where stream_id = 'auren-refusals' and type = 'access_refused'
            and data->>'procedure' = $1 and data->>'reason' = $2`,
        [`auren.v1.${procedure}`, reason],
      )
    ).rows[0].n as number;

  const refusedAndRecorded = async (procedure: string, call: () => Promise<unknown>, code: Code, reason: string, message: RegExp) => {
    const before = await refusals(procedure, reason);
    await rejectsWith(call(), code, message);
    assert.equal(await refusals(procedure, reason), before + 1, `the refusal of ${procedure} is recorded`);
  };

  for (const [procedure, scope, rpc] of RPCS) {
    describe(procedure, () => {
      it('refuses a call with no key: UNAUTHENTICATED, recorded', () =>
        refusedAndRecorded(procedure, () => rpc(t, f, t.withKey('')), Code.Unauthenticated, 'UNAUTHENTICATED', /no API key was sent/));

      it('refuses a revoked key: UNAUTHENTICATED, recorded', () =>
        refusedAndRecorded(procedure, () => rpc(t, f, t.withKey(revoked)), Code.Unauthenticated, 'UNAUTHENTICATED', /revoked/));

      it('refuses a forged key: UNAUTHENTICATED', async () => {
        const forged = `auren_${randomUUID().replaceAll('-', '')}_${'A'.repeat(43)}`;
        await refusedAndRecorded(procedure, () => rpc(t, f, t.withKey(forged)), Code.Unauthenticated, 'UNAUTHENTICATED', /not valid/);
      });

      it(`refuses a key without the scope ${scope}: PERMISSION_DENIED, recorded`, () =>
        refusedAndRecorded(procedure, () => rpc(t, f, t.withKey(noScopes)), Code.PermissionDenied, 'MISSING_SCOPE', new RegExp(scope)));

      it(`lets in a key with the scope ${scope}`, async () => {
        const key = await t.key({ kind: 'service', name: `only-${scope.replace(':', '-')}`, scopes: [scope] });
        await rpc(t, f, t.withKey(key));
      });
    });
  }
});

describeOnEachListener('What a key may touch', (listener) => {
  let t: TestApp;
  let db: pg.Client;
  const person = `user_${randomUUID()}`;
  const outsider = `user_${randomUUID()}`;

  before(async () => {
    t = await startTestApp({}, listener);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const store = async (agentId: string, userId: string, options: CallOptions = {}) =>
    (await t.memory.storeMemory({ agentId, userId, type: MemoryType.FACT, content: { text: 'sleeps badly' } }, options)).memory!;
  // Refusals recorded on one person's access stream.
  const refusalsOf = async (userId: string): Promise<Record<string, unknown>[]> =>
    (
      await db.query(`select data from events where stream_id = $1 and type = 'access_refused' order by version`, [`access-${userId}`])
    ).rows.map((r) => r.data as Record<string, unknown>);
  const deniedAndRecorded = async (userId: string, call: () => Promise<unknown>, message: RegExp) => {
    const before = (await refusalsOf(userId)).length;
    await rejectsWith(call(), Code.PermissionDenied, message);
    const after = await refusalsOf(userId);
    assert.equal(after.length, before + 1, 'the refusal is on the person’s access stream');
    return after.at(-1)!;
  };

  describe('an agent key acts as its own agent only', () => {
    it('stores, updates and deletes its own memories', async () => {
      const mine = await store('coach', person, t.as('coach'));
      await t.memory.updateMemory({ id: mine.id, confidence: 0.4 }, t.as('coach'));
      await t.memory.deleteMemory({ id: mine.id }, t.as('coach'));
    });

    it("refuses storing, updating or deleting another agent's memory, and records each refusal on the person's trail", async () => {
      const theirs = await store('sleep_specialist', person, t.as('sleep_specialist'));
      const refusal = await deniedAndRecorded(
        person,
        () => store('sleep_specialist', person, t.as('nutritionist')),
        /writes only its own memories/,
      );
      assert.equal((refusal.principal as { name: string }).name, 'nutritionist');
      await deniedAndRecorded(
        person,
        () => t.memory.updateMemory({ id: theirs.id, confidence: 0.1 }, t.as('nutritionist')),
        /own memories/,
      );
      await deniedAndRecorded(person, () => t.memory.deleteMemory({ id: theirs.id }, t.as('nutritionist')), /own memories/);
      assert.equal((await t.memory.getMemory({ id: theirs.id })).memory?.version, 1n, 'nothing changed');
    });

    it("refuses reading another agent's memories without memory:shared, and records the refusal", async () => {
      const theirs = await store('sleep_specialist', person, t.as('sleep_specialist'));
      await deniedAndRecorded(person, () => t.memory.getMemory({ id: theirs.id }, t.as('nutritionist')), /memory:shared/);
      await deniedAndRecorded(person, () => t.memory.getMemoryHistory({ id: theirs.id }, t.as('nutritionist')), /memory:shared/);
      await deniedAndRecorded(
        person,
        () => t.memory.listMemories({ agentId: 'sleep_specialist', userId: person }, t.as('nutritionist')),
        /memory:shared/,
      );
      await rejectsWith(t.memory.getMemoryStats({ agentId: 'sleep_specialist' }, t.as('nutritionist')), Code.PermissionDenied);
      // Without an agent filter, an agent lists and searches its own memories only.
      const listed = await t.memory.listMemories({ userId: person }, t.as('nutritionist'));
      assert.ok(listed.memories.every((m) => m.agentId === 'nutritionist'));
      const found = await t.memory.searchMemories({ query: 'sleeps', userId: person }, t.as('nutritionist'));
      assert.deepEqual(found.results, []);
    });

    it("reads another agent's memories with memory:shared, and the read's record says it was shared", async () => {
      const theirs = await store('sleep_specialist', person, t.as('sleep_specialist'));
      const shared = await t.key({ kind: 'agent', agentId: 'neuroscientist', scopes: ['memory:read', 'memory:shared'] });
      assert.equal((await t.memory.getMemory({ id: theirs.id }, t.withKey(shared))).memory?.id, theirs.id);
      const { rows } = await db.query(
        `select data from events where stream_id = $1 and type = 'memory_retrieved' and data->>'caller' = 'neuroscientist'`,
        [`access-${person}`],
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0].data.shared, true);
      assert.equal(rows[0].data.principal.kind, 'agent');
    });

    it('ignores a caller header: the key names the caller, whatever the header claims', async () => {
      const memory = await store('nutritionist', person, {
        headers: { ...(t.as('nutritionist').headers as Record<string, string>), 'x-auren-agent': 'auren.expiry-sweeper' },
      });
      const { rows } = await db.query(`select metadata from events where stream_id = $1`, [`memory-${memory.id}`]);
      assert.equal(rows[0].metadata.caller, 'nutritionist');
      assert.equal(rows[0].metadata.auren.principal.kind, 'agent');
    });
  });

  describe('a key bound to a tenant touches its people only', () => {
    let tenantKey: string;
    before(async () => {
      tenantKey = await t.key({
        kind: 'agent',
        agentId: 'coach',
        scopes: ['memory:read', 'memory:write', 'audit:read', 'events:read', 'events:append'],
        tenant: [person],
      });
    });

    it('works within the tenant', async () => {
      const memory = await store('coach', person, t.withKey(tenantKey));
      assert.equal((await t.memory.getMemory({ id: memory.id }, t.withKey(tenantKey))).memory?.id, memory.id);
      await t.memory.listAuditTrail({ userId: person }, t.withKey(tenantKey));
    });

    it('refuses anything about someone outside it, and records each refusal on their trail', async () => {
      const outside = await store('coach', outsider, t.as('coach'));
      await deniedAndRecorded(outsider, () => store('coach', outsider, t.withKey(tenantKey)), /may not touch/);
      await deniedAndRecorded(outsider, () => t.memory.getMemory({ id: outside.id }, t.withKey(tenantKey)), /may not touch/);
      // Asked by id, the refusal does not tell the caller whose memory it is (the record on the trail does).
      const byId = await t.memory.getMemory({ id: outside.id }, t.withKey(tenantKey)).catch((e: ConnectError) => e);
      assert.ok(byId instanceof ConnectError);
      const details = byId.details
        .map((d) => ('value' in d && d.value instanceof Uint8Array ? Buffer.from(d.value).toString('latin1') : JSON.stringify(d)))
        .join();
      assert.ok(details.length > 0, 'the error has its details');
      assert.ok(!`${byId.message} ${details}`.includes(outsider), `${byId.message} ${details}`);
      await deniedAndRecorded(
        outsider,
        () => t.memory.updateMemory({ id: outside.id, confidence: 0.2 }, t.withKey(tenantKey)),
        /may not touch/,
      );
      await deniedAndRecorded(outsider, () => t.memory.getMemoryHistory({ id: outside.id }, t.withKey(tenantKey)), /may not touch/);
      await deniedAndRecorded(outsider, () => t.memory.listMemories({ userId: outsider }, t.withKey(tenantKey)), /may not touch/);
      await deniedAndRecorded(
        outsider,
        () => t.memory.searchMemories({ query: 'sleeps', userId: outsider }, t.withKey(tenantKey)),
        /may not touch/,
      );
      await deniedAndRecorded(outsider, () => t.memory.listAuditTrail({ userId: outsider }, t.withKey(tenantKey)), /audit trail/);
      await deniedAndRecorded(
        outsider,
        () =>
          t.events.appendToStream(
            { streamId: freshStream('notes'), expected: any, events: [proposed({ metadata: { user_id: outsider } })] },
            t.withKey(tenantKey),
          ),
        /may not write/,
      );
      await deniedAndRecorded(
        outsider,
        () => t.events.readStream({ streamId: `memory-${outside.id}` }, t.withKey(tenantKey)),
        /may not read/,
      );
    });

    it('lists only its people when it names nobody', async () => {
      await store('coach', outsider, t.as('coach'));
      const listed = await t.memory.listMemories({}, t.withKey(tenantKey));
      assert.ok(listed.memories.length > 0);
      assert.ok(listed.memories.every((m) => m.userId === person));
    });
  });
});
