import { memoryLimits } from '../../src/app.js';
import assert from 'node:assert/strict';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { StreamNotFound } from '../../src/events/errors.js';
import type { RecordedEvent } from '../../src/events/types.js';
import { accessStream } from '../../src/memory/model.js';
import { createMemoryReads } from '../../src/memory/reads.js';
import type { MemoryReads } from '../../src/memory/reads.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { insertMemories, serviceCaller } from '../support/memories.js';

const caller = serviceCaller('agent-auditor');
const principal = { name: 'agent-auditor', kind: 'service', key_id: null };

describe('Access log of memory reads', () => {
  let t: TestApp;
  let reads: MemoryReads;
  const limits = memoryLimits(loadConfig({}));
  before(async () => {
    t = await startTestApp();
    reads = createMemoryReads({ pool: t.app.pool, writer: t.app.memoryStreams, tokens: t.app.pageTokens, limits });
  });
  after(() => t.stop());

  async function accessLog(userId: string): Promise<RecordedEvent[]> {
    try {
      return (await t.app.eventStore.readStream(accessStream(userId), 0n, 'forwards', 1000)).events;
    } catch (error) {
      if (error instanceof StreamNotFound) return [];
      throw error;
    }
  }

  /** Two people's memories under one agent, plus one about nobody. */
  async function fixtures() {
    const agent = `agent-${randomUUID()}`;
    const alice = `user-${randomUUID()}`;
    const bob = `user-${randomUUID()}`;
    const [a1, b1, a2, nobody] = await insertMemories(t.app.pool, [
      { agentId: agent, userId: alice, content: { note: 'iron low' } },
      { agentId: agent, userId: bob, content: { note: 'iron fine' } },
      { agentId: agent, userId: alice, content: { note: 'iron rising' } },
      { agentId: agent, userId: null, content: { note: 'iron in general' } },
    ]);
    return { agent, alice, bob, a1: a1!, b1: b1!, a2: a2!, nobody: nobody! };
  }

  it('records a get: caller, person, id and query', async () => {
    const f = await fixtures();
    await reads.getMemory(caller, f.a1, false);
    const [event, ...more] = await accessLog(f.alice);
    assert.equal(more.length, 0);
    assert.equal(event!.type, 'memory_retrieved');
    assert.deepEqual(event!.data, {
      caller: caller.name,
      principal,
      shared: false,
      user_id: f.alice,
      operation: 'get_memory',
      memory_ids: [f.a1],
      query: { id: f.a1, include_expired: false },
    });
    assert.deepEqual(event!.metadata, { user_id: f.alice, caller: caller.name, auren: { principal } });
  });

  it("records a list once per person returned, naming only that person's memories, the filters and the page token", async () => {
    const f = await fixtures();
    await reads.listMemories(caller, { agentId: f.agent, types: [], includeExpired: false, pageSize: 10 });
    const [forAlice, ...moreAlice] = await accessLog(f.alice);
    const [forBob, ...moreBob] = await accessLog(f.bob);
    assert.equal(moreAlice.length + moreBob.length, 0);
    const query = {
      agent_id: f.agent,
      user_id: null,
      types: [],
      min_confidence: null,
      include_expired: false,
      page_size: 10,
      page_token: null,
    };
    assert.deepEqual(forAlice!.data, {
      caller: caller.name,
      principal,
      shared: false,
      user_id: f.alice,
      operation: 'list_memories',
      memory_ids: [f.a2, f.a1],
      query,
    });
    assert.deepEqual(forBob!.data, {
      caller: caller.name,
      principal,
      shared: false,
      user_id: f.bob,
      operation: 'list_memories',
      memory_ids: [f.b1],
      query,
    });
  });

  it('records a search once per person returned, with the search text', async () => {
    const f = await fixtures();
    const results = await reads.searchMemories(caller, {
      text: 'iron',
      agentId: f.agent,
      types: [],
      mode: 'full_text',
      limit: 0,
      includeExpired: false,
    });
    assert.equal(results.length, 4);
    const [forAlice] = await accessLog(f.alice);
    const [forBob] = await accessLog(f.bob);
    assert.equal(forAlice!.data.operation, 'search_memories');
    assert.equal((forAlice!.data.query as { text: string }).text, 'iron');
    assert.deepEqual(new Set(forAlice!.data.memory_ids as string[]), new Set([f.a1, f.a2]));
    assert.deepEqual(forBob!.data.memory_ids, [f.b1]);
  });

  it('records nothing for memories about nobody, or for a read that found nothing', async () => {
    const f = await fixtures();
    const before = await t.app.eventStore.logEnd();
    await reads.getMemory(caller, f.nobody, false);
    await reads.searchMemories(caller, { text: 'zebra', agentId: f.agent, types: [], mode: 'full_text', limit: 0, includeExpired: false });
    assert.deepEqual(await t.app.eventStore.logEnd(), before);
  });

  it('fails the read and records nothing when the record cannot be written, even for a person already recorded', async () => {
    const f = await fixtures();
    // PostgreSQL itself refuses the record of one of the two people the read returns.
    const db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    const refuse = async (userId: string) => {
      await db.query(`create or replace function refuse_access() returns trigger language plpgsql as $$
        begin raise exception 'access log unavailable'; end $$`);
      await db.query(`create or replace trigger refuse_access before insert on events for each row
        when (new.stream_id = '${accessStream(userId)}') execute function refuse_access()`);
    };
    try {
      await refuse(f.bob);
      await assert.rejects(
        reads.listMemories(caller, { agentId: f.agent, types: [], includeExpired: false, pageSize: 10 }),
        /access log unavailable/,
      );
      assert.deepEqual(await accessLog(f.alice), [], "alice was read too: her record is not kept without bob's");
      assert.deepEqual(await accessLog(f.bob), []);
      await refuse(f.alice);
      await assert.rejects(reads.getMemory(caller, f.a1, false), /access log unavailable/);
      assert.deepEqual(await accessLog(f.alice), []);
    } finally {
      await db.query('drop trigger if exists refuse_access on events');
      await db.end();
    }
  });

  it("does not record stats: they hold no person's data", async () => {
    const f = await fixtures();
    const before = await t.app.eventStore.logEnd();
    assert.equal((await reads.getMemoryStats(caller, f.agent)).total, 4);
    assert.deepEqual(await t.app.eventStore.logEnd(), before);
  });
});
