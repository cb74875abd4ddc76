import assert from 'node:assert/strict';
import { MemoryType } from '../src/gen/auren/v1/memory_pb.js';
import { isUuid } from '../src/events/validation.js';
import { newId } from '../src/ids.js';
import { startTestApp } from './support/app.js';
import type { TestApp } from './support/app.js';
import { freshStream, proposed } from './support/events.js';

// The version nibble of a UUID: its 13th hex digit.
const version = (id: string) => id[14];

describe('Ids the service makes', () => {
  it('are UUIDv7: valid UUIDs, in the order they were made, also within one millisecond', () => {
    const ids = Array.from({ length: 10_000 }, newId);
    for (const id of ids) {
      assert.ok(isUuid(id), id);
      assert.equal(version(id), '7', id);
      assert.match(id[19]!, /[89ab]/, `${id}: RFC 9562 variant`);
    }
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });

  describe('through the API', () => {
    let t: TestApp;
    before(async () => (t = await startTestApp({}, 'GRPC_PORT')));
    after(() => t.stop());

    it('an event sent without an id and a stored memory get UUIDv7 ids, newer ones sorting after older', async () => {
      const streamId = freshStream('ids');
      await t.events.appendToStream({ streamId, events: [proposed(), proposed()] });
      const events = (await t.events.readStream({ streamId })).events.map((e) => e.eventId);
      assert.deepEqual(events.map(version), ['7', '7']);
      assert.ok(events[0]! < events[1]!);
      const stored = [];
      for (let i = 0; i < 3; i++)
        stored.push((await t.memory.storeMemory({ agentId: 'ids', userId: 'user_ids', type: MemoryType.FACT, content: { i } })).memory!.id);
      assert.deepEqual(stored.map(version), ['7', '7', '7']);
      assert.deepEqual([...stored].sort(), stored);
      // A client's own event id is kept as it was sent.
      const own = '0b9e4d7c-1c4e-4a8b-9f3e-2d6a5b4c3e21';
      await t.events.appendToStream({ streamId, events: [proposed({ eventId: own })] });
      assert.equal((await t.events.readStream({ streamId })).events.at(-1)!.eventId, own);
    });
  });
});
