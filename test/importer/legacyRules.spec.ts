import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileRefused, readLegacyFile } from '../../src/importer/legacyFile.js';
import type { LegacyFile } from '../../src/importer/legacyFile.js';
import { agentFromPath, confidenceOf, memoryType, readLegacyItem, timeOf, userFromPath } from '../../src/importer/legacyRules.js';
import { importedIds } from '../../src/importer/memoryIds.js';
import { IMPORTER } from '../../src/importer/importer.js';
import { InvalidArgument } from '../../src/errors.js';
import { changeAppend } from '../../src/memory/changes.js';
import { callerMetadata, checkImportedMemory, createdEvent } from '../../src/memory/imports.js';
import type { ImportedMemory, ImportedMemoryInput } from '../../src/memory/imports.js';
import { MEMORY_EVENTS } from '../../src/memory/model.js';
import type { MemoryLimits } from '../../src/memory/model.js';

describe('Legacy memory rules (seed §3.7)', () => {
  it('maps legacy types, keeps our own, and makes anything else a fact', () => {
    const cases: [unknown, string][] = [
      ['observation', 'fact'],
      ['pattern', 'analysis'],
      ['suggestion', 'recommendation'],
      ['note', 'insight'],
      ['chat', 'conversation'],
      ['hypothesis', 'hypothesis'],
      ['decision', 'decision'],
      ['gossip', 'fact'],
      ['constructor', 'fact'],
      [7, 'fact'],
      [null, 'fact'],
      [undefined, 'fact'],
    ];
    for (const [legacy, type] of cases) assert.equal(memoryType(legacy as never), type, String(legacy));
  });

  it('takes content from content, else value, data, text or message, else the item without its bookkeeping keys', () => {
    assert.deepEqual(readLegacyItem({ content: { a: 1 }, value: 'v' }).content, { a: 1 });
    assert.deepEqual(readLegacyItem({ content: '', value: { b: 2 } }).content, { b: 2 });
    assert.deepEqual(readLegacyItem({ data: { c: 3 } }).content, { c: 3 });
    assert.deepEqual(readLegacyItem({ text: 'sleeps badly' }).content, { text: 'sleeps badly' });
    assert.deepEqual(readLegacyItem({ message: 'hello', value: 0 }).content, { text: 'hello' });
    assert.deepEqual(readLegacyItem({ value: [1, 2] }).content, { value: [1, 2] });
    assert.deepEqual(
      readLegacyItem({ type: 'note', agent_id: 'a', user_id: 'u', metadata: { m: 1 }, timestamp: 't', mood: 'calm', steps: 9000 }).content,
      { mood: 'calm', steps: 9000 },
    );
    assert.equal(readLegacyItem({ text: 'x' }).metadata.content_field, 'text');
  });

  it('keeps the item metadata, marks the import, and records a legacy type that was mapped', () => {
    const item = readLegacyItem({ type: 'pattern', content: 'x', metadata: { session: 's1' } });
    assert.deepEqual(item.metadata, { session: 's1', migrated_from: 'json_file', legacy_type: 'pattern' });
    assert.deepEqual(readLegacyItem({ content: 'x', metadata: 'loose' }).metadata, {
      legacy_metadata: 'loose',
      migrated_from: 'json_file',
    });
  });

  it('parses string confidences and clamps every confidence to [0, 1]; 1 when absent or unreadable', () => {
    assert.equal(confidenceOf(0.4), 0.4);
    assert.equal(confidenceOf('0.75'), 0.75);
    assert.equal(confidenceOf(' 0.5 '), 0.5);
    assert.equal(confidenceOf(1.7), 1);
    assert.equal(confidenceOf(-3), 0);
    assert.equal(confidenceOf('12'), 1);
    assert.equal(confidenceOf('high'), 1);
    assert.equal(confidenceOf(undefined), 1);
    assert.equal(confidenceOf(null), 1);
  });

  it('keeps the original time: ISO 8601 (UTC without a zone) or epoch seconds or milliseconds', () => {
    assert.equal(timeOf('2024-03-01T08:30:00Z'), Date.UTC(2024, 2, 1, 8, 30));
    assert.equal(timeOf('2024-03-01T08:30:00+02:00'), Date.UTC(2024, 2, 1, 6, 30));
    assert.equal(timeOf('2024-03-01T08:30:00'), Date.UTC(2024, 2, 1, 8, 30));
    assert.equal(timeOf('2024-03-01 08:30:00.250'), Date.UTC(2024, 2, 1, 8, 30, 0, 250));
    assert.equal(timeOf(1_709_281_800), 1_709_281_800_000);
    assert.equal(timeOf(1_709_281_800_000), 1_709_281_800_000);
    assert.equal(timeOf('yesterday'), null);
    assert.equal(timeOf(''), null);
    assert.equal(readLegacyItem({ created_at: '2023-01-02T00:00:00Z', content: 'x' }).createdAt, Date.UTC(2023, 0, 2));
  });

  it("names the agent from the file name, else its folder's, by the seed's map", () => {
    assert.equal(agentFromPath('/x/neuroscientist_notes.json'), 'neuroscientist');
    assert.equal(agentFromPath('/x/Diet-2023.json'), 'nutritionist');
    assert.equal(agentFromPath('/x/coach.json'), 'training_agent');
    assert.equal(agentFromPath('/exports/sleep/2024.json'), 'sleep_agent');
    assert.equal(agentFromPath('/exports/Mental Health/a.json'), 'mental_health_agent');
    assert.equal(agentFromPath('/exports/recovery/training.json'), 'training_agent');
    assert.equal(agentFromPath('/exports/misc/a.json'), null);
  });

  it('names the person from a UUID in the file name', () => {
    assert.equal(userFromPath('/x/memories_1B4E28BA-2FA1-11D2-883F-0016D3CCA427.json'), '1B4E28BA-2FA1-11D2-883F-0016D3CCA427');
    assert.equal(userFromPath('/x/memories_user_12.json'), null);
  });

  it('derives the same memory and event ids from the same file bytes and item index, others from any other', () => {
    const { memoryId: id, eventId } = importedIds('ab'.repeat(32), 3);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(importedIds('ab'.repeat(32), 3), { memoryId: id, eventId });
    assert.notEqual(importedIds('ab'.repeat(32), 4).memoryId, id);
    assert.notEqual(importedIds('cd'.repeat(32), 3).memoryId, id);
    assert.notEqual(eventId, id);
  });

  it('derives a memory’s id as every earlier version did, so a run resumed by a newer importer writes nothing twice', () => {
    // The first 128 bits of SHA-256("auren.importer/memory/<file sha256>/<index>"), as version 8.
    assert.equal(importedIds('ab'.repeat(32), 3).memoryId, '40918b80-8e97-8a2a-ae75-eebc4adb853c');
  });
});

describe('Legacy memory files', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(tmpdir(), 'auren-legacy-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  const file = async (name: string, content: string | Buffer) => {
    const at = path.join(dir, name);
    await writeFile(at, content);
    return at;
  };
  const items = async (legacy: LegacyFile) => {
    const all = [];
    for await (const item of legacy.items()) all.push(item);
    return all;
  };
  // Every file is read both ways: whole (small) and streamed (as a large one is).
  const bothWays = async (name: string, content: string) => {
    const at = await file(name, content);
    const whole = await readLegacyFile(at, Number.MAX_SAFE_INTEGER);
    const streamed = await readLegacyFile(at, 0);
    // As the importer reads a file listed small: whole, without opening it first for its head.
    const listed = await readLegacyFile(at, Number.MAX_SAFE_INTEGER, Buffer.byteLength(content));
    assert.deepEqual({ ...listed, items: null }, { ...whole, items: null });
    assert.deepEqual(await items(listed), await items(whole));
    assert.equal(whole.streamed, false);
    assert.equal(streamed.streamed, true);
    const wholeItems = await items(whole);
    assert.deepEqual(await items(streamed), wholeItems, `${name}: streamed items differ`);
    for (const key of ['sha256', 'size', 'agentId', 'userId', 'objects', 'others'] as const)
      assert.deepEqual(streamed[key], whole[key], `${name}: ${key} differs`);
    return { legacy: whole, items: wholeItems };
  };

  it('finds the items of every shape the seed accepts, the same whether parsed whole or streamed', async () => {
    const list = await bothWays('list.json', '[{"content":"a"}, 5, {"content":"b"}]');
    assert.deepEqual(
      list.items.map((i) => i.index),
      [0, 1, 2],
    );
    assert.equal(list.legacy.objects, 2);
    assert.equal(list.legacy.others, 1);

    const memories = await bothWays('memories.json', '{"user_id":"u1","memories":[{"text":"x"}],"agent_id":"a1"}');
    assert.deepEqual(memories.items, [{ index: 0, value: { text: 'x' } }]);
    assert.equal(memories.legacy.agentId, 'a1');
    assert.equal(memories.legacy.userId, 'u1');

    const nested = await bothWays('nested.json', '{"data":{"data":{"memories":[{"a":1},{"b":2}]}}}');
    assert.deepEqual(
      nested.items.map((i) => i.value),
      [{ a: 1 }, { b: 2 }],
    );
    const nestedList = await bothWays('nestedList.json', '{"data":[{"a":1}]}');
    assert.deepEqual(nestedList.items, [{ index: 0, value: { a: 1 } }]);
    const single = await bothWays('single.json', '{"content":"one","type":"note"}');
    assert.deepEqual(single.items, [{ index: 0, value: { content: 'one', type: 'note' } }]);
    // memories that is not a list: the data key is looked into instead; the last of a repeated key counts.
    const notList = await bothWays('notList.json', '{"memories":{"a":1},"data":[{"q":1}]}');
    assert.deepEqual(notList.items, [{ index: 0, value: { q: 1 } }]);
    const repeated = await bothWays('repeated.json', '{"memories":[{"a":1}],"memories":[{"b":1},{"c":1}]}');
    assert.equal(repeated.items.length, 2);
    const repeatedData = await bothWays('repeatedData.json', '{"data":{"memories":[{"a":1}]},"data":{"memories":[{"b":1}]}}');
    assert.deepEqual(repeatedData.items, [{ index: 0, value: { b: 1 } }]);
    const repeatedSingle = await bothWays('repeatedSingle.json', '{"data":[{"a":1},{"a":2}],"data":{"content":"x"}}');
    assert.deepEqual(repeatedSingle.items, [{ index: 0, value: { content: 'x' } }]);
    const nothing = await bothWays('nothing.json', '{"data":"text"}');
    assert.equal(nothing.legacy.objects, 0);
    const bom = await bothWays('bom.json', '\uFEFF[{"content":"x"}]');
    assert.equal(bom.legacy.objects, 1);
  });

  it('refuses files that are not UTF-8 JSON, saying why, whether parsed whole or streamed', async () => {
    const cases: [string, string | Buffer, RegExp][] = [
      ['invalid.json', '[{"a":1} {"b":2}]', /^invalid JSON/],
      ['truncated.json', '{"memories":[{"a":1}', /^invalid JSON/],
      ['trailing.json', '[{"a":1}] x', /^invalid JSON/],
      ['empty.json', '  \n', /^empty file/],
      ['latin1.json', Buffer.from('[{"content":"caf\xe9"}]', 'latin1'), /^not UTF-8/],
      ['utf16.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[{"a":1}]', 'utf16le')]), /UTF-16/],
    ];
    for (const [name, content, reason] of cases) {
      const at = await file(name, content);
      for (const [streamAbove, listedSize] of [
        [Number.MAX_SAFE_INTEGER, undefined],
        [Number.MAX_SAFE_INTEGER, content.length],
        [0, undefined],
      ]) {
        await assert.rejects(readLegacyFile(at, streamAbove!, listedSize), (error: unknown) => {
          assert.ok(error instanceof FileRefused, `${name}: ${String(error)}`);
          assert.match(error.message, reason, name);
          return true;
        });
      }
    }
  });
});

describe('An imported memory’s memory_created event', () => {
  const limits = { contentMaxBytes: 4096 } as MemoryLimits;
  const ids = importedIds('ab'.repeat(32), 7);
  const memory = (overrides: Partial<ImportedMemoryInput> = {}) =>
    checkImportedMemory(
      {
        id: ids.memoryId,
        eventId: ids.eventId,
        agentId: 'sleep_agent',
        userId: 'user-ü-1',
        type: 'insight',
        content: { text: 'slept “well”, 7h', nested: { list: [1, 2.5, null, true, 'é'] } },
        metadata: { migrated_from: 'json_file', legacy_type: 'note' },
        confidence: 0.85,
        createdAt: Date.UTC(2024, 0, 1, 8, 30),
        source: { source_file: 'sleep/memories.json', item_index: 7, file_sha256: 'ab'.repeat(32) },
        ...overrides,
      },
      limits,
    );
  // What StoreMemory's path makes of the same memory: changeAppend's event.
  const storeMemoryEvent = (m: ImportedMemory) =>
    changeAppend({
      memory: m,
      versionBefore: 0n,
      eventId: m.eventId,
      type: MEMORY_EVENTS.created,
      caller: IMPORTER,
      data: {
        content: m.content,
        metadata: m.metadata,
        confidence: m.confidence,
        expires_at: null,
        ...(m.createdAt === null ? {} : { created_at: new Date(m.createdAt).toISOString() }),
      },
      metadata: m.source,
    }).events[0]!;

  it('is the event changeAppend makes for StoreMemory, with or without a person and an original time', () => {
    for (const m of [memory(), memory({ userId: null }), memory({ createdAt: null })]) {
      const sent = JSON.parse(createdEvent(m, callerMetadata(IMPORTER), 1 << 20)) as Record<string, unknown>;
      const expected = storeMemoryEvent(m);
      assert.deepEqual(sent, { event_id: m.eventId, data: expected.data, metadata: expected.metadata });
    }
  });

  it('is refused over the event size limit, counted in bytes as the event store counts them', () => {
    const m = memory();
    const expected = storeMemoryEvent(m);
    const bytes = Buffer.byteLength(JSON.stringify(expected.data)) + Buffer.byteLength(JSON.stringify(expected.metadata));
    assert.doesNotThrow(() => createdEvent(m, callerMetadata(IMPORTER), bytes));
    assert.throws(
      () => createdEvent(m, callerMetadata(IMPORTER), bytes - 1),
      (error: unknown) => error instanceof InvalidArgument && error.message.includes(`takes ${bytes} bytes`),
    );
  });
});
