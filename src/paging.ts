import { createHash } from 'node:crypto';
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
    // Digest of both: a token edited by hand is refused rather than obeyed.
    s: z.string(),
  })
  .strict();

/**
 * Makes the opaque token of a page that starts at `position`, good only for `scope` (base64url
 * of JSON). The digests hold no secret: they catch tokens that were corrupted, edited, or
 * reused for another scope; what a token decodes to is checked again by its reader.
 */
export function encodePageToken(scope: string, position: Record<string, string>): string {
  const q = digest(scope);
  return Buffer.from(JSON.stringify({ p: position, q, s: digest(JSON.stringify(position), q) })).toString('base64url');
}

/**
 * Reads a token made by encodePageToken for the same `scope`, its position checked by
 * `shape`. Anything else is InvalidArgument on `field`: `otherScope` says what to do when
 * the token is sound but was made for another scope.
 */
export function decodePageToken<T>(
  field: string,
  token: string,
  scope: string,
  shape: z.ZodType<T, z.ZodTypeDef, unknown>,
  otherScope: string,
): T {
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
  if (parsed.s !== digest(JSON.stringify(parsed.p), parsed.q)) throw invalid;
  if (parsed.q !== digest(scope)) throw new InvalidArgument(field, otherScope);
  const position = shape.safeParse(parsed.p);
  if (!position.success) throw invalid;
  return position.data;
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
