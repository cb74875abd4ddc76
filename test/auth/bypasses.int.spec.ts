import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import pg from 'pg';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { any, freshStream, proposed, rejectsWith } from '../support/events.js';

// The ways around the read audit found on main before authentication (issue 11), each tried
// again as an outsider would: now refused, or let in with the right scope and recorded.

describeOnEachListener('No unaudited path to a person’s data', (listener) => {
  let t: TestApp;
  let db: pg.Client;
  let reader: string; // events:read, nothing else
  let auditor: string; // events:read and audit:read
  const person = `user_${randomUUID()}`;
  let memoryId: string;
  let eventId: string;

  before(async () => {
    t = await startTestApp({}, listener);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    reader = await t.key({ kind: 'service', name: 'reader', scopes: ['events:read', 'events:append'] });
    auditor = await t.key({ kind: 'service', name: 'auditor', scopes: ['events:read', 'audit:read'] });
    const memory = (
      await t.memory.storeMemory(
        { agentId: 'sleep_specialist', userId: person, type: MemoryType.FACT, content: { text: 'wakes at 3am' } },
        t.as('sleep_specialist'),
      )
    ).memory!;
    memoryId = memory.id;
    eventId = (await db.query(`select event_id::text from events where stream_id = $1`, [`memory-${memoryId}`])).rows[0].event_id;
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  // Records of reads of the person's data made through the log.
  const logReads = async (operation: string): Promise<Record<string, unknown>[]> =>
    (
      await db.query(`select data from events where stream_id = $1 and type = 'data_accessed' and data->>'operation' = $2`, [
        `access-${person}`,
        operation,
      ])
    ).rows.map((r) => r.data as Record<string, unknown>);

  it('ReadStream of a memory stream: refused without audit:read; with it, answered and recorded', async () => {
    await rejectsWith(t.events.readStream({ streamId: `memory-${memoryId}` }, t.withKey(reader)), Code.PermissionDenied, /audit:read/);
    const read = await t.events.readStream({ streamId: `memory-${memoryId}` }, t.withKey(auditor));
    assert.deepEqual(read.events[0]?.data?.content, { text: 'wakes at 3am' });
    const [record, ...more] = await logReads('read_stream');
    assert.equal(more.length, 0);
    assert.equal((record!.principal as { name: string }).name, 'auditor');
    assert.deepEqual(record!.event_ids, [eventId]);
  });

  it('GetStreamInfo, ReadStream past the end and SubscribeToStream of a person’s access stream: refused without audit:read', async () => {
    // Found trying the service as an outsider: an empty page still said the stream's version, so a
    // key with events:read alone learned whether a person exists and how often their data is read.
    const access = `access-${person}`;
    await rejectsWith(t.events.getStreamInfo({ streamId: access }, t.withKey(reader)), Code.PermissionDenied, /audit:read/);
    await rejectsWith(t.events.getStreamInfo({ streamId: `memory-${memoryId}` }, t.withKey(reader)), Code.PermissionDenied, /audit:read/);
    await rejectsWith(
      t.events.readStream({ streamId: access, fromVersion: 1_000_000n }, t.withKey(reader)),
      Code.PermissionDenied,
      /audit:read/,
    );
    const tail = t.events.subscribeToStream({ streamId: access, fromVersion: 1_000_000n }, t.withKey(reader));
    await rejectsWith(
      (async () => {
        for await (const _ of tail) void _;
      })(),
      Code.PermissionDenied,
      /audit:read/,
    );
    // The refusal is on the person’s trail.
    const refused = await db.query(
      `select count(*)::int as n from events where stream_id = $1 and type = 'access_refused' and data->>'procedure' like '%GetStreamInfo'`,
      [access],
    );
    assert.equal(refused.rows[0].n, 1);
    // With audit:read (and the person in the tenant, when the key has one), answered.
    assert.equal((await t.events.getStreamInfo({ streamId: access }, t.withKey(auditor))).exists, true);
    const elsewhere = await t.key({
      kind: 'service',
      name: 'other-tenant',
      scopes: ['events:read', 'audit:read'],
      tenant: ['someone_else'],
    });
    await rejectsWith(
      t.events.getStreamInfo({ streamId: access }, t.withKey(elsewhere)),
      Code.PermissionDenied,
      /may not read the data of/,
    );
  });

  it('GetEvent of a memory event: refused without audit:read; with it, answered and recorded', async () => {
    await rejectsWith(t.events.getEvent({ eventId }, t.withKey(reader)), Code.PermissionDenied, /audit:read/);
    assert.equal((await t.events.getEvent({ eventId }, t.withKey(auditor))).event?.eventId, eventId);
    assert.equal((await logReads('get_event')).length, 1);
  });

  it('ReadAll: a person’s data is withheld without audit:read (that recorded); with it, returned and recorded', async () => {
    const plain = freshStream('plain');
    await t.events.appendToStream({ streamId: plain, expected: any, events: [proposed()] }, t.withKey(reader));
    const withheld = await t.events.readAll({ limit: 1000 }, t.withKey(reader));
    assert.ok(
      withheld.events.some((e) => e.streamId === plain),
      'other events are returned',
    );
    assert.ok(!withheld.events.some((e) => e.streamId.startsWith('memory-') || e.streamId.startsWith('access-')));
    assert.ok(!withheld.events.some((e) => e.metadata?.user_id !== undefined));
    const all = await t.events.readAll({ limit: 1000 }, t.withKey(auditor));
    assert.ok(all.events.some((e) => e.eventId === eventId));
    assert.ok((await logReads('read_all')).some((r) => (r.event_ids as string[]).includes(eventId)));
  });

  it('SubscribeToAll: a person’s data is never sent without audit:read, and its withholding is recorded', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    try {
      for await (const m of t.events.subscribeToAll(
        { from: { case: 'start', value: {} } },
        { ...t.withKey(reader), signal: controller.signal },
      )) {
        if (m.message.case === 'event') seen.push(m.message.value.streamId);
        if (m.message.case === 'caughtUp') controller.abort();
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    assert.ok(seen.length > 0);
    assert.ok(!seen.some((s) => s.startsWith('memory-') || s.startsWith('access-') || s.startsWith('auren-')), seen.join(', '));
    // Withheld, not silently: the refusal log has it (its repeats counted, src/auth/refusals.ts).
    await t.app.refusals.flush();
    const withheld = await db.query(
      `select sum((data->>'withheld_events')::int)::int as n from events where stream_id = 'auren-refusals' and type = 'access_refused'
          and data->>'procedure' = 'auren.v1.EventStoreService/SubscribeToAll' and data->>'reason' = 'WITHHELD'
          and data->'principal'->>'name' = 'reader'`,
    );
    assert.ok(withheld.rows[0].n >= 1, `${withheld.rows[0].n} events counted as withheld`);
  });

  it('a client cannot forge an audit entry: metadata.user_id in its own stream stays off the trail, metadata.auren is refused', async () => {
    await t.events.appendToStream(
      { streamId: freshStream('forged'), expected: any, events: [proposed({ type: 'memory_retrieved', metadata: { user_id: person } })] },
      t.withKey(reader),
    );
    const trail = await t.memory.listAuditTrail({ userId: person });
    assert.ok(!trail.events.some((e) => e.streamId.startsWith('forged-')), 'only the service’s own streams are on the trail');
    await rejectsWith(
      t.events.appendToStream(
        { streamId: freshStream('forged'), expected: any, events: [proposed({ metadata: { auren: { principal: { name: 'auren' } } } })] },
        t.withKey(reader),
      ),
      Code.InvalidArgument,
      /^events\[0\]\.metadata\.auren: is written by this service only/,
    );
  });

  it('ListAuditTrail needs audit:read, and each read of it is recorded on the person’s access stream', async () => {
    await rejectsWith(t.memory.listAuditTrail({ userId: person }, t.as('sleep_specialist')), Code.PermissionDenied, /audit:read/);
    const auditTrailReader = await t.key({ kind: 'service', name: 'trail-reader', scopes: ['audit:read'] });
    const { events } = await t.memory.listAuditTrail({ userId: person }, t.withKey(auditTrailReader));
    const { rows } = await db.query(
      `select data from events where stream_id = $1 and type = 'audit_trail_read' and data->>'caller' = 'trail-reader'`,
      [`access-${person}`],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].data.principal.name, 'trail-reader');
    assert.deepEqual(
      rows[0].data.event_ids,
      events.map((e) => e.eventId),
    );
  });

  it('the service’s own names cannot be claimed: the principal is the key’s', async () => {
    const memory = (
      await t.memory.storeMemory(
        { agentId: 'sleep_specialist', userId: person, type: MemoryType.FACT, content: { text: 'naps' } },
        { headers: { ...(t.as('sleep_specialist').headers as Record<string, string>), 'x-auren-agent': 'auren.expiry-sweeper' } },
      )
    ).memory!;
    const { rows } = await db.query(`select metadata from events where stream_id = $1`, [`memory-${memory.id}`]);
    assert.deepEqual(rows[0].metadata.auren.principal.name, 'sleep_specialist');
  });
});
