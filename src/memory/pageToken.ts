import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidArgument } from '../errors.js';

/**
 * Where a page of memories starts: just after this memory in newest-first order. The time is in
 * microseconds since the epoch, as precise as timestamptz: a millisecond would merge memories
 * created within one millisecond and skip or repeat them at a page boundary.
 */
export interface Keyset {
  createdAtUs: bigint;
  id: string;
}

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds since the epoch.
const MIN_TIME_US = -62_135_596_800_000_000n;
const MAX_TIME_US = 253_402_300_799_999_999n;

// Far above any token this module makes; refused before decoding anything.
const MAX_TOKEN_LENGTH = 512;

const tokenShape = z.object({
  c: z.string().regex(/^-?\d{1,19}$/),
  i: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
  // Digest of the query the token was made for.
  q: z.string(),
  // Digest of all of the above: a token altered by hand is refused rather than obeyed.
  s: z.string(),
}).strict();

/**
 * Makes the opaque token of the page after `at` for the query whose filters are `queryKey`
 * (base64url of JSON). The digests hold no secret: they catch tokens that were corrupted or
 * reused with other filters. A client that forges one can only move within what its filters
 * already let it read.
 */
export function encodePageToken(at: Keyset, queryKey: string): string {
  const c = at.createdAtUs.toString();
  const q = digest(queryKey);
  return Buffer.from(JSON.stringify({ c, i: at.id, q, s: digest(c, at.id, q) })).toString('base64url');
}

/** Reads a token made by encodePageToken for the same `queryKey`; anything else is InvalidArgument. */
export function decodePageToken(field: string, token: string, queryKey: string): Keyset {
  const invalid = new InvalidArgument(field, 'is not a page token of this service; start again without a page token');
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
  if (parsed.s !== digest(parsed.c, parsed.i, parsed.q)) throw invalid;
  if (parsed.q !== digest(queryKey)) {
    throw new InvalidArgument(field, 'was made for other filters; send the filters of the first page, or start again without a page token');
  }
  const createdAtUs = BigInt(parsed.c);
  // A token can only hold a time a memory can have: years 1 to 9999.
  if (createdAtUs < MIN_TIME_US || createdAtUs > MAX_TIME_US) throw invalid;
  return { createdAtUs, id: parsed.i };
}

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 22);
}
