import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { InvalidArgument } from './errors.js';

/** What a page size of 0 (unset) means, and the most a client may ask for. */
export interface PageBounds {
  default: number;
  max: number;
}

/** Checks a requested page size: 0 means the default; a fraction, a negative or above the maximum is refused. */
export function checkPageSize(field: string, requested: number, bounds: PageBounds): number {
  if (!Number.isInteger(requested) || requested < 0)
    throw new InvalidArgument(field, `expects a whole number from 0 to ${bounds.max}, got ${requested}`);
  if (requested > bounds.max) throw new InvalidArgument(field, `expects at most ${bounds.max}, got ${requested}`);
  return requested === 0 ? bounds.default : requested;
}

// Far above any token made here; refused before decoding anything.
const MAX_TOKEN_LENGTH = 512;

const tokenShape = z
  .object({
    // Where the next page starts, as strings.
    p: z.record(z.string()),
    // Digest of the scope the token was made for (a query's filters, a person).
    q: z.string(),
    // The period of the key that signed it.
    k: z.number().int().nonnegative(),
    // HMAC-SHA256 of all three under that key: a token made or edited by anyone else is refused.
    s: z.string(),
  })
  .strict();

/** Opaque page tokens signed with the server's key, good only for the scope they were made for. */
export interface PageTokens {
  /** The token of a page that starts at `position`, good only for `scope` (base64url of JSON). */
  encode(scope: string, position: Record<string, string>): string;
  /**
   * Reads a token made by encode for the same `scope`, its position checked by `shape`.
   * Anything else is InvalidArgument on `field`: `otherScope` says what to do when the token
   * is sound but was made for another scope.
   */
  decode<T>(field: string, token: string, scope: string, shape: z.ZodType<T, z.ZodTypeDef, unknown>, otherScope: string): T;
}

/**
 * Creates the page-token codec. The signing key changes every `rotateMs` (the keys of period n
 * are `keyOf(n)`); a token signed with the previous period's key still verifies, so a client
 * paging across a change goes on, and any older one is refused. Replicas with the same
 * secret sign and verify alike. `keyOf` may give several keys of a period, the server's
 * current secret's first: tokens are signed with that one and verify under any (a rotated
 * secret, kept in AUREN_PREVIOUS_SECRETS, does not cut clients off mid-listing).
 */
export function createPageTokens(
  keyOf: (period: number) => Buffer | readonly Buffer[],
  rotateMs: number,
  now: () => number = Date.now,
): PageTokens {
  const keys = new Map<number, readonly Buffer[]>();
  const keysOf = (period: number) => {
    let found = keys.get(period);
    if (!found) {
      const made = keyOf(period);
      found = Buffer.isBuffer(made) ? [made] : made;
      keys.set(period, found);
      // Only the current and the previous period verify: older keys are dropped.
      for (const old of keys.keys()) if (old < period - 1) keys.delete(old);
    }
    return found;
  };
  const sign = (key: Buffer, period: number, q: string, p: Record<string, string>) =>
    createHmac('sha256', key)
      .update(`${period}\n${q}\n${JSON.stringify(p)}`)
      .digest()
      .subarray(0, 16);
  const signedBy = (given: Buffer, period: number, q: string, p: Record<string, string>) => {
    let valid = false;
    for (const key of keysOf(period)) {
      const expected = sign(key, period, q, p);
      if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
    }
    return valid;
  };

  return {
    encode(scope, position) {
      const q = digest(scope);
      const k = Math.floor(now() / rotateMs);
      const s = sign(keysOf(k)[0]!, k, q, position).toString('base64url');
      return Buffer.from(JSON.stringify({ p: position, q, k, s })).toString('base64url');
    },
    decode(field, token, scope, shape, otherScope) {
      const invalid = new InvalidArgument(
        field,
        'is not a page token of this service; pass next_page_token unchanged, or start again without one',
      );
      if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid;
      let parsed: z.infer<typeof tokenShape>;
      try {
        const text = Buffer.from(token, 'base64url').toString('utf8');
        // base64url decoding ignores trailing bits: only the exact encoding of the text counts.
        if (Buffer.from(text).toString('base64url') !== token) throw invalid;
        parsed = tokenShape.parse(JSON.parse(text));
      } catch {
        throw invalid;
      }
      const current = Math.floor(now() / rotateMs);
      if (parsed.k !== current && parsed.k !== current - 1) {
        if (parsed.k < current)
          throw new InvalidArgument(field, 'has expired (its signing key was retired); start again without a page token');
        throw invalid;
      }
      if (!signedBy(Buffer.from(parsed.s, 'base64url'), parsed.k, parsed.q, parsed.p)) throw invalid;
      if (parsed.q !== digest(scope)) throw new InvalidArgument(field, otherScope);
      const position = shape.safeParse(parsed.p);
      if (!position.success) throw invalid;
      return position.data;
    },
  };
}

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 22);
}

/** A uint64 that fits PostgreSQL's bigint, as a decimal string in a token. */
export const tokenInt64 = z
  .string()
  .regex(/^\d{1,19}$/)
  .transform(BigInt)
  .refine((n) => n <= 2n ** 63n - 1n);
