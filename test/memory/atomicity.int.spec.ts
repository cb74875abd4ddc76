import { agentCaller } from '../support/memories.js';
import { memoryLimits } from '../../src/app.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { DuplicateEventId } from '../../src/events/errors.js';
import { createMemoryWrites } from '../../src/memory/writes.js';
import type { MemoryWrites } from '../../src/memory/writes.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';

// Invariant 1 (seed defect 2): a memory row and its event commit together or not at all.
describe('Memory writes are atomic', () => {
  let t: TestApp;
  let db: pg.Client;
  // Ids the writes will use next, in order (memory id, then event id); random once empty.
  const nextIds: string[] = [];
  let writes: MemoryWrites;
  const caller = agentCaller('sleep');

  before(async () => {
    t = await startTestApp();
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    writes = createMemoryWrites({
      pool: t.app.pool,
      writer: t.app.memoryStreams,
      limits: memoryLimits(loadConfig({})),
      newId: () => nextIds.shift() ?? randomUUID(),
    });
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const memoryCount = async (id: string) => Number((await db.query('select count(*) from memories where id = $1', [id])).rows[0].count);
  const streamEvents = async (id: string) =>
    (await db.query('select type from events where stream_id = $1 order by version', [`memory-${id}`])).rows.map((r) => r.type as string);
  const input = { agentId: 'sleep', userId: 'user_9', type: 'fact', content: { text: 'sleeps 7 hours' } };

  describe('when the event append is refused', () => {
    // An event already holding the id the write will use makes the append refuse it.
    const occupy = (eventId: string) =>
      db.query(`select * from append_to_stream($1, 'any', 0, $2::jsonb)`, [
        `other-${eventId}`,
        JSON.stringify([{ event_id: eventId, type: 'other', data: {}, metadata: {} }]),
      ]);

    it('StoreMemory leaves no memory row', async () => {
      const id = randomUUID();
      const eventId = randomUUID();
      await occupy(eventId);
      nextIds.push(id, eventId);
      await assert.rejects(writes.storeMemory(caller, input), DuplicateEventId);
      assert.equal(await memoryCount(id), 0);
      assert.deepEqual(await streamEvents(id), []);
    });

    it('UpdateMemory and DeleteMemory leave the row as it was', async () => {
      const memory = await writes.storeMemory(caller, input);
      for (const write of [
        () => writes.updateMemory(caller, { id: memory.id, content: { text: 'changed' } }),
        () => writes.deleteMemory(caller, memory.id, 'gone'),
      ]) {
        const eventId = randomUUID();
        await occupy(eventId);
        nextIds.push(eventId);
        await assert.rejects(write(), DuplicateEventId);
      }
      const row = (await db.query('select version, content, deleted_at, last_event_id::text from memories where id = $1', [memory.id]))
        .rows[0];
      assert.deepEqual(row, { version: '1', content: input.content, deleted_at: null, last_event_id: memory.lastEventId });
      assert.deepEqual(await streamEvents(memory.id), ['memory_created']);
    });
  });

  describe('when the row write fails after the event was appended', () => {
    // A deferred constraint trigger fails the memories write at COMMIT: by then the event is
    // appended in the same transaction, and must go with the row.
    before(async () => {
      await db.query(`
        create function test_refuse_memory_write() returns trigger language plpgsql as $$
        begin raise exception 'test: memory write refused at commit'; end $$;
        create constraint trigger test_refuse_memory_write after insert or update on memories
          deferrable initially deferred for each row execute function test_refuse_memory_write();`);
    });
    after(async () => {
      await db.query('drop trigger test_refuse_memory_write on memories; drop function test_refuse_memory_write();');
    });

    it('StoreMemory leaves no event', async () => {
      const events = Number(await db.query('select count(*) from events').then((r) => r.rows[0].count));
      const id = randomUUID();
      nextIds.push(id);
      await assert.rejects(writes.storeMemory(caller, input), /memory write refused at commit/);
      assert.equal(await memoryCount(id), 0);
      assert.deepEqual(await streamEvents(id), []);
      assert.equal(Number(await db.query('select count(*) from events').then((r) => r.rows[0].count)), events);
      const stream = await db.query('select 1 from streams where stream_id = $1', [`memory-${id}`]);
      assert.equal(stream.rowCount, 0, 'no stream row either');
    });

    it('UpdateMemory and DeleteMemory leave no event', async () => {
      await db.query('alter table memories disable trigger test_refuse_memory_write');
      const memory = await writes.storeMemory(caller, input);
      await db.query('alter table memories enable trigger test_refuse_memory_write');
      await assert.rejects(writes.updateMemory(caller, { id: memory.id, confidence: 0.2 }), /refused at commit/);
      await assert.rejects(writes.deleteMemory(caller, memory.id, ''), /refused at commit/);
      assert.deepEqual(await streamEvents(memory.id), ['memory_created']);
      assert.equal((await t.app.eventStore.getStreamInfo(`memory-${memory.id}`)).version, 1n);
    });
  });
});
