import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import pg from 'pg';
import { MemoryType } from '../../src/gen/auren/v1/memory_pb.js';
import { startTestApp, TEST_SECRET } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { runAuren } from '../support/auren.js';
import { any, freshStream, proposed, rejectsWith } from '../support/events.js';

// Rotating the server's secret: AUREN_SECRET becomes a new one and the old one moves to
// AUREN_PREVIOUS_SECRETS. Keys, the hash chain and page tokens made under the old one go on
// verifying; keys are rehashed under the new one on use, so the old one can be dropped later.

const NEW_SECRET = 'the-new-secret-the-new-secret-0123456789';

describe('Rotating AUREN_SECRET', function () {
  this.timeout(120_000);
  let databaseUrl: string;
  let db: pg.Client;
  let before_: TestApp;
  let used: string; // an agent key used after the rotation
  let unused: string; // an agent key never used after it
  let pageToken: string;
  const person = `user_${randomUUID()}`;
  const stream = freshStream('rotation');

  before(async () => {
    before_ = await startTestApp();
    databaseUrl = before_.databaseUrl;
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    used = await before_.key({ kind: 'agent', agentId: 'coach' });
    unused = await before_.key({ kind: 'agent', agentId: 'sleep' });
    for (let i = 0; i < 3; i++) {
      await before_.memory.storeMemory(
        { agentId: 'coach', userId: person, type: MemoryType.FACT, content: { text: `n${i}` } },
        before_.withKey(used),
      );
      await before_.events.appendToStream({ streamId: stream, expected: any, events: [proposed({ data: { i } })] });
    }
    pageToken = (await before_.memory.listMemories({ userId: person, pageSize: 1 }, before_.withKey(used))).nextPageToken;
    assert.ok(pageToken);
    await before_.stop();
  });
  after(() => db.end());

  const pepperOf = async (key: string): Promise<string | null> => {
    const id = /^auren_([0-9a-f]{32})_/.exec(key)![1]!;
    return (await db.query(`select pepper_id from api_keys where replace(id::text, '-', '') = $1`, [id])).rows[0].pepper_id;
  };

  it('with the old secret among the previous ones: old keys, page tokens and chains still verify; a used key is rehashed', async () => {
    const t = await startTestApp({ DATABASE_URL: databaseUrl, AUREN_SECRET: NEW_SECRET, AUREN_PREVIOUS_SECRETS: TEST_SECRET });
    try {
      const oldPepper = await pepperOf(used);
      const next = await t.memory.listMemories({ userId: person, pageSize: 1, pageToken }, t.withKey(used));
      assert.equal(next.memories.length, 1, 'the page token of the old secret reads the next page');
      assert.notEqual(await pepperOf(used), oldPepper, 'the key was rehashed under the new secret on use');
      assert.equal(await pepperOf(unused), oldPepper, 'an unused key keeps its old hash');
      await t.events.appendToStream({ streamId: stream, expected: any, events: [proposed({ data: { after: true } })] });
      // The chain goes on across the rotation: old events under the old key, new ones under the new.
      const both = await runAuren(['audit', 'verify'], {
        env: { DATABASE_URL: databaseUrl, AUREN_SECRET: NEW_SECRET, AUREN_PREVIOUS_SECRETS: TEST_SECRET },
      });
      assert.equal(both.code, 0, both.stdout + both.stderr);
      assert.match(
        both.stdout,
        /^ok: \d+ events checked; every chain is intact \(\d+ under secret [0-9a-f]{16}, \d+ under secret [0-9a-f]{16}\)$/m,
      );
      // What the operator looks at before dropping the old secret: keys still hashed under it.
      const secrets = await runAuren(['keys', 'secrets'], {
        env: { DATABASE_URL: databaseUrl, AUREN_SECRET: NEW_SECRET, AUREN_PREVIOUS_SECRETS: TEST_SECRET },
      });
      assert.equal(secrets.code, 0, secrets.stderr);
      assert.match(secrets.stdout, new RegExp(`^current secret ${await pepperOf(used)}$`, 'm'));
      assert.match(secrets.stdout, new RegExp(`^previous secret ${oldPepper}$`, 'm'));
      assert.match(secrets.stdout, new RegExp(`^[1-9]\\d* key\\(s\\) in use hashed under secret ${oldPepper} \\(previous\\)$`, 'm'));
      // Without the old secret, the events it hashed cannot be told from altered ones.
      const newOnly = await runAuren(['audit', 'verify', '--stream', stream], {
        env: { DATABASE_URL: databaseUrl, AUREN_SECRET: NEW_SECRET },
      });
      assert.equal(newOnly.code, 1, newOnly.stdout);
      assert.equal(newOnly.stdout.split('\n').filter((l) => l.startsWith('altered:')).length, 3);
    } finally {
      await t.stop();
    }
  });

  it('once the old secret is dropped: a rehashed key still works, one never used since is refused', async () => {
    const t = await startTestApp({ DATABASE_URL: databaseUrl, AUREN_SECRET: NEW_SECRET });
    try {
      await t.memory.listMemories({ userId: person }, t.withKey(used));
      await rejectsWith(t.memory.listMemories({ userId: person }, t.withKey(unused)), Code.Unauthenticated, /not valid/);
      await rejectsWith(
        t.memory.listMemories({ userId: person, pageSize: 1, pageToken }, t.withKey(used)),
        Code.InvalidArgument,
        /page_token: is not a page token of this service/,
      );
    } finally {
      await t.stop();
    }
  });

  it('refuses a previous secret shorter than 32 characters, naming the variable', async () => {
    await assert.rejects(startTestApp({ DATABASE_URL: databaseUrl, AUREN_PREVIOUS_SECRETS: 'short' }), /AUREN_PREVIOUS_SECRETS/);
  });
});
