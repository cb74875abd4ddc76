import assert from 'node:assert/strict';
import { sql } from 'slonik';
import type { QuerySqlToken } from 'slonik';
import { z } from 'zod';
import { noRows } from '../../src/db/pool.js';
import { listQuery, searchQuery, statsQuery } from '../../src/memory/queries.js';
import type { MemoryFilter } from '../../src/memory/queries.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { insertGenerated } from '../support/memories.js';

const anyone: MemoryFilter = { agentId: null, userId: null, types: [], minConfidence: null, includeExpired: false };
// A position in the middle of the generated times: a later page.
const later = { createdAtUs: BigInt(Date.parse('2023-01-01T00:00:20Z')) * 1000n, id: '80000000-0000-4000-8000-000000000000' };

describe('Indexes of the memory reads', () => {
  let t: TestApp;
  before(async function () {
    this.timeout(120_000);
    t = await startTestApp();
    // 50,000 memories: 20 agents of 2,500, 2,000 people of 25. And one heavy person: 5,000
    // memories with 5 agents, where reading a person's whole history to sort it would be wasteful.
    await insertGenerated(t.app.pool, { count: 50_000, prefix: 'ix', agents: 20, users: 2000, from: '2023-01-01T00:00:00Z' });
    await insertGenerated(t.app.pool, { count: 5_000, prefix: 'heavy', agents: 5, users: 1, from: '2023-01-01T00:00:00.5Z' });
    // The steady state autovacuum keeps: statistics, and the GIN index's pending list merged.
    await t.app.pool.query(sql.type(noRows)`vacuum analyze memories`);
  });
  after(() => t.stop());

  async function plan(query: QuerySqlToken): Promise<string> {
    const rows = await t.app.pool.any(sql.type(z.object({ 'QUERY PLAN': z.string() }))`explain ${query}`);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  }

  const agent = { ...anyone, agentId: 'agent-ix-3' };
  const person = { ...anyone, userId: 'user-ix-3' };
  const pair = { ...anyone, agentId: 'agent-ix-3', userId: 'user-ix-3' };
  const heavyPerson = { ...anyone, userId: 'user-heavy-0' };
  const heavyPair = { ...anyone, agentId: 'agent-heavy-1', userId: 'user-heavy-0' };

  // [what, query, the index it must use, whether that index must also give the order (no Sort)]
  const lists: [string, QuerySqlToken, string, boolean][] = [
    ['everything', listQuery(anyone, null, 51, 3_145_728), 'memories_newest', true],
    ['everything, a later page', listQuery(anyone, later, 501, 3_145_728), 'memories_newest', true],
    ['one agent', listQuery(agent, null, 51, 3_145_728), 'memories_agent_newest', true],
    ['one agent, a later page', listQuery(agent, later, 51, 3_145_728), 'memories_agent_newest', true],
    [
      'one agent, some types, a minimum confidence',
      listQuery({ ...agent, types: ['fact', 'insight'], minConfidence: 0.5 }, null, 51, 3_145_728),
      'memories_agent_newest',
      true,
    ],
    ['one agent and person', listQuery(pair, null, 51, 3_145_728), 'memories_user_agent_newest', false],
    ['one agent and person, a later page', listQuery(pair, later, 51, 3_145_728), 'memories_user_agent_newest', false],
    ['one agent and a heavy person', listQuery(heavyPair, null, 51, 3_145_728), 'memories_user_agent_newest', true],
    ['one agent and a heavy person, a later page', listQuery(heavyPair, later, 51, 3_145_728), 'memories_user_agent_newest', true],
    // 25 rows: fetching them through an index of the person and sorting them is the cheaper
    // plan; either index that starts with the person gives the same 25 rows.
    ['one person', listQuery(person, null, 51, 3_145_728), 'memories_user_(agent_)?newest', false],
    ['one person, a later page', listQuery(person, later, 51, 3_145_728), 'memories_user_(agent_)?newest', false],
    ['one heavy person', listQuery(heavyPerson, null, 51, 3_145_728), 'memories_user_newest', true],
    ['one heavy person, a later page', listQuery(heavyPerson, later, 51, 3_145_728), 'memories_user_newest', true],
  ];
  for (const [name, query, index, ordered] of lists) {
    it(`lists ${name} through ${index}${ordered ? ', in its order' : ''}`, async () => {
      const text = await plan(query);
      assert.match(text, new RegExp(`(Index Scan using|Bitmap Index Scan on) ${index} `), text);
      assert.doesNotMatch(text, /Seq Scan/, text);
      if (ordered) assert.doesNotMatch(text, /Sort/, text);
    });
  }

  const searches: [string, string][] = [
    ['a rare word', 'ashwagandha'],
    ['a common word', 'magnesium'],
    ['a phrase', '"sleep and magnesium"'],
  ];
  for (const [name, text] of searches) {
    it(`searches ${name} through the GIN index memories_search, with and without filters`, async () => {
      for (const filter of [anyone, agent, { ...agent, types: ['fact' as const] }]) {
        const p = await plan(searchQuery(filter, text, 10, 3_145_728));
        assert.match(p, /Bitmap Index Scan on memories_search/, p);
      }
    });
  }

  it("counts an agent's memories through an index of its agent", async () => {
    const p = await plan(statsQuery('agent-ix-3'));
    assert.match(p, /Index.* on memories_agent_/, p);
    assert.doesNotMatch(p, /Seq Scan/, p);
  });
});
