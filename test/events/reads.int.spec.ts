import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import pg from 'pg';
import { ReadDirection } from '../../src/gen/auren/v1/events_pb.js';
import type { Event, Position } from '../../src/gen/auren/v1/events_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { EventFilterSchema } from '../../src/gen/auren/v1/events_pb.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream, proposed, rejectsWith } from '../support/events.js';

describeOnEachListener('Reading', (listener) => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ READ_MAX_COUNT: '500' }, listener);
  });
  after(() => t.stop());

  /** Reads the whole log page by page, as a client would. */
  async function readAllPages(filter: MessageInitShape<typeof EventFilterSchema> = {}, limit = 37, from?: Position): Promise<Event[]> {
    const events: Event[] = [];
    let fromPosition = from;
    for (let page = 0; page < 10_000; page++) {
      const r = await t.events.readAll({ fromPosition, limit, filter });
      events.push(...r.events);
      if (r.endOfLog) return events;
      fromPosition = r.nextPosition;
    }
    throw new Error('ReadAll never reached the end of the log');
  }

  describe('ReadStream', () => {
    const streamId = freshStream('read');
    before(async () => {
      for (let i = 1; i <= 10; i++) await t.events.appendToStream({ streamId, events: [proposed({ data: { i } })] });
    });

    it('reads forwards from the start', async () => {
      const r = await t.events.readStream({ streamId });
      assert.deepEqual(
        r.events.map((e) => e.data?.i),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
      assert.equal(r.streamVersion, 10n);
      assert.equal(r.endOfStream, true);
    });

    it('reads forwards from a version, in pages', async () => {
      const r = await t.events.readStream({ streamId, fromVersion: 4n, limit: 3 });
      assert.deepEqual(
        r.events.map((e) => e.version),
        [4n, 5n, 6n],
      );
      assert.equal(r.endOfStream, false);
      const rest = await t.events.readStream({ streamId, fromVersion: 7n, limit: 3 });
      assert.deepEqual(
        rest.events.map((e) => e.version),
        [7n, 8n, 9n],
      );
      const last = await t.events.readStream({ streamId, fromVersion: 10n, limit: 3 });
      assert.deepEqual(
        last.events.map((e) => e.version),
        [10n],
      );
      assert.equal(last.endOfStream, true);
    });

    it('reads backwards from the end and from a version', async () => {
      const end = await t.events.readStream({ streamId, direction: ReadDirection.BACKWARDS, limit: 3 });
      assert.deepEqual(
        end.events.map((e) => e.version),
        [10n, 9n, 8n],
      );
      assert.equal(end.endOfStream, false);
      const mid = await t.events.readStream({ streamId, direction: ReadDirection.BACKWARDS, fromVersion: 3n, limit: 5 });
      assert.deepEqual(
        mid.events.map((e) => e.version),
        [3n, 2n, 1n],
      );
      assert.equal(mid.endOfStream, true);
    });

    it('reading past the end returns nothing and says so', async () => {
      const r = await t.events.readStream({ streamId, fromVersion: 11n });
      assert.equal(r.events.length, 0);
      assert.equal(r.streamVersion, 10n);
      assert.equal(r.endOfStream, true);
    });

    it('a stream that does not exist is NOT_FOUND', () =>
      rejectsWith(t.events.readStream({ streamId: freshStream() }), Code.NotFound, /does not exist/));
    it('an unknown direction is INVALID_ARGUMENT', () =>
      rejectsWith(t.events.readStream({ streamId, direction: 7 as ReadDirection }), Code.InvalidArgument, /^direction/));
    it('a limit over the maximum is INVALID_ARGUMENT', () =>
      rejectsWith(t.events.readStream({ streamId, limit: 501 }), Code.InvalidArgument, /^limit: expects at most 500/));
  });

  describe('GetStreamInfo and GetEvent', () => {
    it('describes an existing stream and a missing one', async () => {
      const streamId = freshStream();
      const before = Date.now();
      await t.events.appendToStream({ streamId, events: [proposed(), proposed()] });
      const info = await t.events.getStreamInfo({ streamId });
      assert.equal(info.exists, true);
      assert.equal(info.version, 2n);
      assert.ok(Number(info.createdAt!.seconds) * 1000 >= before - 5000);
      assert.ok(info.updatedAt);
      const missing = await t.events.getStreamInfo({ streamId: freshStream() });
      assert.equal(missing.exists, false);
      assert.equal(missing.version, 0n);
    });

    it('gets an event by id; an unknown id is NOT_FOUND, a malformed one INVALID_ARGUMENT', async () => {
      const eventId = randomUUID();
      const streamId = freshStream();
      const appended = await t.events.appendToStream({
        streamId,
        events: [proposed({ eventId, type: 'sleep_logged', data: { hours: 7.5 } })],
      });
      const { event } = await t.events.getEvent({ eventId });
      assert.equal(event?.type, 'sleep_logged');
      assert.deepEqual(event?.data, { hours: 7.5 });
      assert.deepEqual(event?.position, appended.firstPosition);
      await rejectsWith(t.events.getEvent({ eventId: randomUUID() }), Code.NotFound);
      await rejectsWith(t.events.getEvent({ eventId: 'nope' }), Code.InvalidArgument, /^event_id: expects a UUID/);
    });
  });

  describe('ReadAll', () => {
    it('pages across the whole log with no event missed or repeated, in position order', async () => {
      const appended: string[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, writer) => {
          for (let i = 0; i < 25; i++) {
            const ids = [randomUUID(), randomUUID()];
            await t.events.appendToStream({ streamId: `all-${writer}-${i % 5}`, events: ids.map((eventId) => proposed({ eventId })) });
            appended.push(...ids);
          }
        }),
      );
      const events = await readAllPages();
      const ids = events.map((e) => e.eventId);
      assert.equal(new Set(ids).size, ids.length, 'no event twice');
      for (const id of appended) assert.ok(ids.includes(id), `event ${id} missing`);
      for (let i = 1; i < events.length; i++)
        assert.ok(comparePositions(events[i - 1]!.position!, events[i]!.position!) < 0, 'position order');
      const oneRead = await t.events.readAll({ limit: 500 });
      assert.deepEqual(
        oneRead.events.slice(0, ids.length).map((e) => e.eventId),
        ids.slice(0, oneRead.events.length),
      );
    });

    it('filters by event type and by stream-id prefix, also across pages', async () => {
      const tag = randomUUID().slice(0, 8);
      for (let i = 0; i < 30; i++) {
        await t.events.appendToStream({
          streamId: `${tag}-user-${i % 3}`,
          events: [proposed({ type: i % 2 ? `${tag}_odd` : `${tag}_even`, data: { i } })],
        });
        await t.events.appendToStream({ streamId: `other-${tag}-${i}`, events: [proposed({ type: `${tag}_odd`, data: { i } })] });
      }
      const odd = await readAllPages({ eventTypes: [`${tag}_odd`] }, 4);
      assert.equal(odd.length, 45);
      const prefixed = await readAllPages({ streamIdPrefixes: [`${tag}-user-`] }, 7);
      assert.deepEqual(
        prefixed.map((e) => e.data?.i),
        Array.from({ length: 30 }, (_, i) => i),
      );
      const both = await readAllPages({ eventTypes: [`${tag}_even`], streamIdPrefixes: [`${tag}-user-1`, `${tag}-user-2`] }, 3);
      assert.deepEqual(
        both.map((e) => e.data?.i),
        [2, 4, 8, 10, 14, 16, 20, 22, 26, 28],
      );
      const none = await t.events.readAll({ filter: { eventTypes: [`${tag}_never`] } });
      assert.equal(none.events.length, 0);
      assert.equal(none.endOfLog, true);
    });

    it('treats % and _ in a prefix literally', async () => {
      const tag = randomUUID().slice(0, 8);
      await t.events.appendToStream({ streamId: `${tag}_a%b`, events: [proposed()] });
      await t.events.appendToStream({ streamId: `${tag}xaxxb`, events: [proposed()] });
      const r = await readAllPages({ streamIdPrefixes: [`${tag}_a%`] });
      assert.deepEqual(
        r.map((e) => e.streamId),
        [`${tag}_a%b`],
      );
    });

    it('continues from next_position with nothing repeated once new events arrive', async () => {
      const first = await readAllPages();
      const last = await t.events.readAll({ fromPosition: first.at(-1)!.position, limit: 10 });
      assert.equal(last.events.length, 1, 'from_position is inclusive');
      const tail = await t.events.readAll({ fromPosition: last.nextPosition });
      assert.equal(tail.events.length, 0);
      const streamId = freshStream();
      await t.events.appendToStream({ streamId, events: [proposed(), proposed()] });
      const more = await t.events.readAll({ fromPosition: tail.nextPosition });
      assert.deepEqual(
        more.events.map((e) => e.streamId),
        [streamId, streamId],
      );
    });

    it('positions follow commit order: an append waits while another appending transaction is open, then follows it', async () => {
      const client = new pg.Client({ connectionString: t.databaseUrl });
      await client.connect();
      try {
        const start = (await readAllPages()).at(-1)!.position!;
        const from = { commit: start.commit + 1n, prepare: start.prepare + 1n };
        await client.query('begin');
        await client.query(`select * from append_to_stream($1, 'any', 0, $2::jsonb)`, [
          'slow-writer',
          JSON.stringify([{ event_id: randomUUID(), type: 'slow', data: {}, metadata: {} }]),
        ]);
        let acknowledged = false;
        const fast = t.events.appendToStream({ streamId: freshStream(), events: [proposed({ type: 'fast' })] }).then((r) => {
          acknowledged = true;
          return r;
        });
        await sleep(300);
        assert.equal(acknowledged, false, 'the later append waits for the open one');
        const meanwhile = await t.events.readAll({ fromPosition: from });
        assert.deepEqual(
          meanwhile.events.map((e) => e.type),
          [],
          'reads never wait, and see nothing uncommitted',
        );
        await client.query('commit');
        const appended = await fast;
        const after = await t.events.readAll({ fromPosition: meanwhile.nextPosition });
        assert.deepEqual(
          after.events.map((e) => e.type),
          ['slow', 'fast'],
        );
        assert.deepEqual(after.events[1]!.position, appended.firstPosition);
      } finally {
        await client.end();
      }
    });

    it('a transaction held open elsewhere on the server holds nothing back', async () => {
      const other = new pg.Client({ connectionString: t.databaseUrl.replace(/\/[^/]*$/, '/postgres') });
      await other.connect();
      try {
        await other.query('begin');
        await other.query('select pg_current_xact_id()'); // a transaction id, as any writer has
        const appended = await t.events.appendToStream({ streamId: freshStream(), events: [proposed({ type: 'not-held' })] });
        const read = await t.events.readAll({ fromPosition: appended.firstPosition });
        assert.deepEqual(
          read.events.map((e) => e.type),
          ['not-held'],
        );
      } finally {
        await other.query('rollback');
        await other.end();
      }
    });

    it('a filtered read scans a bounded window and says where to continue', async () => {
      const small = await startTestApp({ READ_FILTER_SCAN: '5' }, listener);
      try {
        const tag = randomUUID().slice(0, 8);
        for (let i = 0; i < 23; i++)
          await small.events.appendToStream({ streamId: freshStream(), events: [proposed({ type: i % 6 === 0 ? `${tag}-hit` : 'miss' })] });
        const first = await small.events.readAll({ filter: { eventTypes: [`${tag}-never`] } });
        assert.deepEqual(first.events, []);
        assert.equal(first.endOfLog, false, 'more to scan after the window');
        const hits: string[] = [];
        let fromPosition = undefined as Position | undefined;
        let calls = 0;
        for (;;) {
          const page = await small.events.readAll({ fromPosition, filter: { eventTypes: [`${tag}-hit`] } });
          calls++;
          hits.push(...page.events.map((e) => e.type));
          if (page.endOfLog) break;
          fromPosition = page.nextPosition;
        }
        assert.equal(hits.length, 4);
        assert.ok(calls >= 5, `${calls} calls for 23 events in windows of 5`);
      } finally {
        await small.stop();
      }
    });

    it('rejects an empty filter entry', () =>
      rejectsWith(t.events.readAll({ filter: { eventTypes: [''] } }), Code.InvalidArgument, /^filter\.event_types\[0\]/));

    it('refuses a position this store never gives out (commit and prepare differ)', () =>
      rejectsWith(
        t.events.readAll({ fromPosition: { commit: 5n, prepare: 3n } }),
        Code.InvalidArgument,
        /^from_position: has commit 5 and prepare 3/,
      ));
  });
});

function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  return a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;
}
