import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';

// The trigger apply_memory_event (sql/functions/) writes the memories rows once per statement,
// from the events the statement inserted: a group commit's batch carries several memories'
// events, some of them on one memory, in one append_batch() statement.
describe('Memory rows follow their events, one statement at a time', () => {
  let t: TestApp;
  let db: pg.Client;
  before(async () => {
    t = await startTestApp();
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await t.stop();
  });

  const append = (memoryId: string, expectedVersion: number, type: string, data: object) => ({
    stream_id: `memory-${memoryId}`,
    expected: 'exact',
    expected_version: String(expectedVersion),
    events: [
      { event_id: randomUUID(), type, data: { memory_id: memoryId, ...data }, metadata: {}, correlation_id: null, causation_id: null },
    ],
  });
  const created = (memoryId: string, text: string) =>
    append(memoryId, 0, 'memory_created', {
      agent_id: 'sleep',
      user_id: 'user_1',
      type: 'fact',
      content: { text },
      metadata: { source: 'test' },
      confidence: 0.5,
      expires_at: null,
    });
  const batch = (appends: object[]) =>
    db.query<{ ord: number; outcome: string }>('select ord, outcome from append_batch($1::jsonb) order by ord', [JSON.stringify(appends)]);
  const row = async (id: string) =>
    (
      await db.query(
        `select content, confidence, version::int, last_event_id::text, deleted_at is not null as deleted,
                expired_at is not null as expired, size = octet_length(content::text) + octet_length(metadata::text) as sized
           from memories where id = $1`,
        [id],
      )
    ).rows[0];
  const lastEventId = async (id: string) =>
    (await db.query('select event_id::text from events where stream_id = $1 order by version desc limit 1', [`memory-${id}`])).rows[0]
      .event_id;

  it('creates, changes, deletes and expires several memories in one statement, each change after the one before', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const other = { ...created(randomUUID(), 'x'), stream_id: `notes-${randomUUID()}` };
    const outcomes = await batch([
      created(a, 'first'),
      created(b, 'second'),
      append(a, 1, 'memory_updated', { content: { text: 'first, changed' }, confidence: 0.9 }),
      other,
      append(b, 1, 'memory_deleted', { reason: 'wrong' }),
      append(a, 2, 'memory_expired', {}),
      created(c, 'third'),
    ]);
    assert.deepEqual(
      outcomes.rows.map((r) => r.outcome),
      Array(7).fill('appended'),
    );
    assert.deepEqual(await row(a), {
      content: { text: 'first, changed' },
      confidence: 0.9,
      version: 3,
      last_event_id: await lastEventId(a),
      deleted: false,
      expired: true,
      sized: true,
    });
    assert.deepEqual(await row(b), {
      content: { text: 'second' },
      confidence: 0.5,
      version: 2,
      last_event_id: await lastEventId(b),
      deleted: true,
      expired: false,
      sized: true,
    });
    assert.equal((await row(c))?.version, 1);
    const strays = await db.query(`select count(*)::int as n from memories where id = $1`, [other.events[0]!.data.memory_id]);
    assert.equal(strays.rows[0].n, 0, 'an event on another stream makes no memory');
  });

  it('refuses the whole statement when an event changes a memory that has no row', async () => {
    const [a, missing] = [randomUUID(), randomUUID()];
    const events = Number((await db.query('select count(*) from events')).rows[0].count);
    await assert.rejects(
      batch([created(a, 'kept?'), { ...append(missing, 0, 'memory_updated', { confidence: 0.1 }), expected: 'any' }]),
      new RegExp(`memory ${missing} has no row for its event memory_updated`),
    );
    assert.equal(await row(a), undefined);
    assert.equal(Number((await db.query('select count(*) from events')).rows[0].count), events);
  });
});
