import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import { InvalidArgument } from '../../src/errors.js';
import { createPageTokens } from '../../src/paging.js';

// Page tokens are signed with the server's key (HMAC-SHA256), which changes every period; a
// token of the previous period still verifies. Anything forged or altered is INVALID_ARGUMENT.

const DAY = 86_400_000;
const shape = z.object({ n: z.string() }).strict();
const keyOf = (secret: string) => (period: number) => createHmac('sha256', secret).update(`page token ${period}`).digest();

describe('Page tokens', () => {
  let now = 100 * DAY + 5;
  const tokens = createPageTokens(keyOf('server'), DAY, () => now);
  const decode = (token: string, scope = 'scope-a') => tokens.decode('page_token', token, scope, shape, 'made for another scope');
  const refused = (token: string, message: RegExp = /is not a page token of this service/, scope = 'scope-a') =>
    assert.throws(
      () => decode(token, scope),
      (error: unknown) => error instanceof InvalidArgument && error.field === 'page_token' && message.test(error.message),
    );
  const parts = (token: string) =>
    JSON.parse(Buffer.from(token, 'base64url').toString()) as { p: Record<string, string>; q: string; k: number; s: string };
  const pack = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  beforeEach(() => (now = 100 * DAY + 5));

  it('reads back what it made, for the same scope only', () => {
    const token = tokens.encode('scope-a', { n: '7' });
    assert.deepEqual(decode(token), { n: '7' });
    refused(token, /made for another scope/, 'scope-b');
  });

  it('refuses an altered position, scope, period or signature', () => {
    const token = parts(tokens.encode('scope-a', { n: '7' }));
    refused(pack({ ...token, p: { n: '8' } }));
    refused(
      pack({ ...token, q: createHash('sha256').update('scope-b').digest('base64url').slice(0, 22) }),
      /not a page token|another scope/,
    );
    refused(pack({ ...token, k: token.k + 1 }));
    refused(pack({ ...token, s: Buffer.alloc(16).toString('base64url') }));
  });

  it('refuses a token signed with another key, and one with the old keyless checksum', () => {
    const other = createPageTokens(keyOf('attacker'), DAY, () => now);
    refused(other.encode('scope-a', { n: '7' }));
    const token = parts(tokens.encode('scope-a', { n: '7' }));
    const keyless = createHash('sha256')
      .update(`${JSON.stringify(token.p)}\n${token.q}`)
      .digest('base64url')
      .slice(0, 22);
    refused(pack({ p: token.p, q: token.q, s: keyless }));
  });

  it('refuses garbage, extra fields, bad base64 and an oversized token', () => {
    for (const bad of [
      'garbage',
      '',
      '!!!',
      pack({ p: {}, q: '', k: 0, s: '', extra: 1 }),
      'a'.repeat(600),
      `${tokens.encode('scope-a', { n: '1' })}x`,
    ])
      refused(bad);
  });

  it('still reads a token of the previous key period after a rotation, and no older one', () => {
    const token = tokens.encode('scope-a', { n: '7' });
    now += DAY;
    assert.deepEqual(decode(token), { n: '7' });
    now += DAY;
    refused(token, /has expired/);
  });
});
