import { memoryLimits } from '../../src/app.js';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.js';
import { createMemoryReads } from '../../src/memory/reads.js';
import type { MemoryReads } from '../../src/memory/reads.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { insertGenerated, insertMemories, serviceCaller } from '../support/memories.js';

const caller = serviceCaller('agent-pager');
const FROM = Date.parse('2024-06-01T00:00:00Z');
const COUNT = 10_000;
const TIE = 4;

/** The created_at of generated row `n` (see insertGenerated), as ISO text with microseconds. */
function generatedTime(n: number): string {
  const us = Math.floor(n / TIE) * 1001;
  const iso = new Date(FROM + Math.floor(us / 1000)).toISOString();
  return iso.replace('Z', `${String(us % 1000).padStart(3, '0')}Z`);
}

describe('Paging through memories while others are inserted', () => {
  let t: TestApp;
  let reads: MemoryReads;
  before(async function () {
    this.timeout(120_000);
    t = await startTestApp();
    reads = createMemoryReads({
      pool: t.app.pool,
      writer: t.app.memoryStreams,
      tokens: t.app.pageTokens,
      limits: memoryLimits(loadConfig({})),
    });
    // Four rows per created_at, times 1.001 ms apart: many pages end inside a millisecond and
    // inside a tie, where a millisecond token or a missing id tie-break would skip or repeat rows.
    await insertGenerated(t.app.pool, { count: COUNT, prefix: 'page', agents: 1, users: 20, from: new Date(FROM).toISOString(), tie: TIE });
  });
  after(() => t.stop());

  for (const [name, agentId] of [
    ['by agent', 'agent-page-0'],
    ['unfiltered', undefined],
  ] as const) {
    it(`returns every memory that existed at the start exactly once (${name})`, async function () {
      this.timeout(120_000);
      const atStart = await allIds(agentId, 500, async () => {});
      assert.ok(atStart.length >= COUNT);

      // Concurrent writers: newer memories, and memories at and between existing times.
      let stop = false;
      let inserted = 0;
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          const n = Math.floor(Math.random() * COUNT);
          const createdAt = i % 3 === 0 ? undefined : generatedTime(n);
          await insertMemories(t.app.pool, [{ agentId: 'agent-page-0', createdAt }]);
          inserted++;
        }
      })();
      let seen: string[];
      try {
        seen = await allIds(agentId, 337, () => new Promise((resolve) => setTimeout(resolve, 5)));
      } finally {
        stop = true;
        await writer;
      }
      assert.ok(inserted > 20, `only ${inserted} concurrent inserts`);
      assert.equal(new Set(seen).size, seen.length, 'a memory was returned twice');
      const seenSet = new Set(seen);
      const missing = atStart.filter((id) => !seenSet.has(id));
      assert.deepEqual(missing, [], `${missing.length} memories were skipped`);
    });
  }

  async function allIds(agentId: string | undefined, pageSize: number, betweenPages: () => Promise<void>): Promise<string[]> {
    const ids: string[] = [];
    let pageToken = '';
    let previous: { createdAt: number; id: string } | undefined;
    do {
      const page = await reads.listMemories(caller, { agentId, types: [], includeExpired: false, pageSize, pageToken });
      for (const m of page.memories) {
        if (previous) assert.ok(m.createdAt <= previous.createdAt, 'not newest first');
        previous = m;
        ids.push(m.id);
      }
      pageToken = page.nextPageToken;
      await betweenPages();
    } while (pageToken);
    return ids;
  }
});
