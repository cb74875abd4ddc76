import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code } from '@connectrpc/connect';
import { timestampFromMs, timestampMs } from '@bufbuild/protobuf/wkt';
import pg from 'pg';
import type { Event } from '../../src/gen/auren/v1/events_pb.js';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { aboutPersonQuery } from '../../src/events/queries.js';
import { START } from '../../src/events/types.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { rejectsWith } from '../support/events.js';

describeOnEachListener('MemoryService history', (listener) => {
  let t: TestApp;
  let db: pg.Client;
  before(async () => {
    t = await startTestApp({}, listener);
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const as = (agent: string) => t.as(agent);
  const store = async (userId: string, agent = 'coach') =>
    (await t.memory.storeMemory({ agentId: agent, userId, type: MemoryType.INSIGHT, content: { text: 'runs at dawn' } }, as(agent)))
      .memory!;
  const trail = async (userId: string, pageSize = 0, extra: { from?: number; to?: number } = {}): Promise<Event[]> => {
    const events: Event[] = [];
    let pageToken = '';
    for (let pages = 0; pages < 100; pages++) {
      const page = await t.memory.listAuditTrail({
        userId,
        pageSize,
        pageToken,
        from: extra.from === undefined ? undefined : timestampFromMs(extra.from),
        to: extra.to === undefined ? undefined : timestampFromMs(extra.to),
      });
      if (pageSize > 0) assert.ok(page.events.length <= pageSize);
      events.push(...page.events);
      if (!page.nextPageToken) return events;
      assert.equal(page.events.length, pageSize, 'only the last page is short');
      pageToken = page.nextPageToken;
    }
    throw new Error('the trail never ended');
  };

  // The trail shows settled events only: a transaction still open anywhere on the server (other
  // test runs share it) holds back the newest for a moment.
  const settledTrail = async (userId: string, count: number): Promise<Event[]> => {
    for (const deadline = Date.now() + 10_000; ; ) {
      const events = await trail(userId);
      if (events.length >= count || Date.now() > deadline) return events;
      await sleep(20);
    }
  };

  describe('GetMemoryHistory', () => {
    it('returns exactly the operations performed, in order, and records the read', async () => {
      const { id } = await store('user_h');
      await t.memory.updateMemory({ id, confidence: 0.3 }, as('coach'));
      // The admin key acts for any agent; an agent key only for its own (test/auth/).
      await t.memory.updateMemory({ id, content: { text: 'runs at dusk' } });
      await t.memory.deleteMemory({ id, reason: 'wrong' }, as('coach'));
      const { events } = await t.memory.getMemoryHistory({ id });
      assert.deepEqual(
        events.map((e) => [e.type, e.version]),
        [
          ['memory_created', 1n],
          ['memory_updated', 2n],
          ['memory_updated', 3n],
          ['memory_deleted', 4n],
        ],
      );
      assert.ok(events.every((e) => e.streamId === `memory-${id}` && e.data?.memory_id === id));
      assert.deepEqual(
        events.map((e) => e.metadata?.caller),
        ['coach', 'coach', 'test-admin', 'coach'],
      );
      const lastEventId = (await db.query('select last_event_id::text from memories where id = $1', [id])).rows[0].last_event_id;
      assert.equal(events[3]!.eventId, lastEventId);

      const reads = await db.query(`select data, metadata from events where stream_id = 'access-user_h' and type = 'memory_retrieved'`);
      assert.equal(reads.rowCount, 1);
      assert.equal(reads.rows[0].metadata.user_id, 'user_h');
      assert.equal(reads.rows[0].metadata.caller, 'test-admin');
      assert.deepEqual(reads.rows[0].metadata.auren.principal.name, 'test-admin');
      assert.equal(reads.rows[0].data.operation, 'get_memory_history');
      assert.deepEqual(reads.rows[0].data.memory_ids, [id]);
    });

    it('NOT_FOUND for an unknown memory, INVALID_ARGUMENT for a malformed id; neither is recorded', async () => {
      const before = (await db.query(`select count(*)::int as n from events`)).rows[0].n;
      await rejectsWith(t.memory.getMemoryHistory({ id: randomUUID() }), Code.NotFound);
      await rejectsWith(t.memory.getMemoryHistory({ id: 'nope' }), Code.InvalidArgument, /^id:/);
      assert.equal((await db.query(`select count(*)::int as n from events`)).rows[0].n, before);
    });
  });

  describe('ListAuditTrail', () => {
    const person = `user_${randomUUID()}`;
    const other = `user_${randomUUID()}`;
    let all: Event[];
    let secondPhase: number;

    before(async () => {
      const a = await store(person, 'coach');
      await store(other, 'coach');
      await t.memory.updateMemory({ id: a.id, confidence: 0.5 });
      await sleep(30);
      const b = await store(person, 'nutritionist');
      await t.memory.getMemoryHistory({ id: a.id });
      await t.memory.deleteMemory({ id: b.id }, as('nutritionist'));
      await t.memory.getMemoryHistory({ id: b.id });
      all = await settledTrail(person, 6);
      secondPhase = timestampMs(all[2]!.createdAt!);
    });

    it("lists one person's writes and reads in log order, nothing of anyone else", () => {
      assert.deepEqual(
        all.map((e) => e.type),
        ['memory_created', 'memory_updated', 'memory_created', 'memory_retrieved', 'memory_deleted', 'memory_retrieved'],
      );
      assert.ok(all.every((e) => e.metadata?.user_id === person));
      assert.deepEqual(
        all.map((e) => e.metadata?.caller),
        ['coach', 'test-admin', 'nutritionist', 'test-admin', 'nutritionist', 'test-admin'],
      );
      for (let i = 1; i < all.length; i++) {
        const [p, q] = [all[i - 1]!.position!, all[i]!.position!];
        assert.ok(p.commit < q.commit || (p.commit === q.commit && p.prepare < q.prepare), 'in log order');
      }
    });

    it('pages through the same trail with any page size', async () => {
      for (const size of [1, 2, 5, 6, 7])
        assert.deepEqual(
          (await trail(person, size)).map((e) => e.eventId),
          all.map((e) => e.eventId),
        );
    });

    it('selects a time range: from inclusive, to exclusive', async () => {
      assert.ok(timestampMs(all[1]!.createdAt!) < secondPhase, 'the phases are apart in time');
      assert.deepEqual(
        (await trail(person, 2, { from: secondPhase })).map((e) => e.eventId),
        all.slice(2).map((e) => e.eventId),
      );
      assert.deepEqual(
        (await trail(person, 1, { to: secondPhase })).map((e) => e.eventId),
        all.slice(0, 2).map((e) => e.eventId),
      );
      assert.deepEqual(await trail(person, 0, { from: Date.now() + 60_000 }), []);
      await rejectsWith(
        t.memory.listAuditTrail({ userId: person, from: timestampFromMs(secondPhase), to: timestampFromMs(secondPhase) }),
        Code.InvalidArgument,
        /^to:/,
      );
    });

    it('shows an event as soon as it is committed, even while an older transaction runs', async () => {
      const blocker = new pg.Client({ connectionString: t.databaseUrl });
      await blocker.connect();
      try {
        await blocker.query('begin; select pg_current_xact_id();');
        const late = await store(person);
        assert.ok(
          (await trail(person)).some((e) => e.data?.memory_id === late.id),
          'not held back by an unrelated transaction',
        );
        await blocker.query('commit');
      } finally {
        await blocker.end();
      }
    });

    it('refuses a tampered page token, a token of another trail, an empty user id and an oversized page', async () => {
      const { nextPageToken } = await t.memory.listAuditTrail({ userId: person, pageSize: 1 });
      const decoded = JSON.parse(Buffer.from(nextPageToken, 'base64url').toString()) as { p: { prepare: string } };
      const edited = Buffer.from(
        JSON.stringify({ ...decoded, p: { ...decoded.p, prepare: String(BigInt(decoded.p.prepare) + 1n) } }),
      ).toString('base64url');
      for (const pageToken of [`${nextPageToken}x`, 'garbage', edited]) {
        await rejectsWith(t.memory.listAuditTrail({ userId: person, pageToken }), Code.InvalidArgument, /^page_token:/);
      }
      await rejectsWith(t.memory.listAuditTrail({ userId: other, pageToken: nextPageToken }), Code.InvalidArgument, /^page_token:/);
      await rejectsWith(t.memory.listAuditTrail({ userId: '' }), Code.InvalidArgument, /^user_id:/);
      await rejectsWith(t.memory.listAuditTrail({ userId: person, pageSize: 1001 }), Code.InvalidArgument, /^page_size:/);
    });

    it('answers from the index events_user_order, and a long trail in log order without sorting it', async () => {
      // Enough people and events that a scan of the log would cost more than the index.
      await db.query(`
        with head as (update log_head set last = last + 30000 returning last - 30000 as base)
        insert into events (position, event_id, stream_id, version, type, data, metadata)
        select head.base + n, gen_random_uuid(), 'bulk-' || n, 1, 'memory_retrieved', '{}',
               jsonb_build_object('user_id', case when n % 6 = 0 then 'bulk_heavy' else 'bulk_' || (n % 500) end)
          from head, generate_series(1, 30000) as n;
        analyze events;`);
      const plan = async (userId: string) => {
        const query = aboutPersonQuery(userId, Date.parse('2020-01-01'), null, START, 101, 3_145_728, ['bulk-']);
        // slonik numbers its placeholders $slonik_N; pg expects $N.
        const text = query.sql.replace(/\$slonik_(\d+)/g, '$$$1');
        return (await db.query(`explain ${text}`, [...query.values])).rows.map((r) => r['QUERY PLAN']).join('\n');
      };
      const few = await plan(person);
      assert.match(few, /Index Scan (using|on) events_user_order/, few);
      // A heavy trail is walked in log order, by its own index or by the log's (every sixth
      // event is theirs), and the walk stops at the page's end: never read whole and sorted.
      const many = await plan('bulk_heavy');
      assert.match(many, /Limit[\s\S]*Index Scan using (events_user_order|events_pkey)/, many);
      assert.doesNotMatch(many, /Sort/, many);
    });
  });
});
