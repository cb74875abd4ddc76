import { z } from 'zod';
import type { PageTokens } from '../paging.js';

/**
 * Where a page of memories starts: just after this memory in newest-first order. The time is in
 * microseconds since the epoch, as precise as timestamptz: a millisecond would merge memories
 * created within one millisecond and skip or repeat them at a page boundary.
 */
export interface Keyset {
  createdAtUs: bigint;
  id: string;
}

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds since the epoch: a
// token can only hold a time a memory can have.
const MIN_TIME_US = -62_135_596_800_000_000n;
const MAX_TIME_US = 253_402_300_799_999_999n;

const keysetShape = z
  .object({
    c: z
      .string()
      .regex(/^-?\d{1,19}$/)
      .transform(BigInt)
      .refine((us) => us >= MIN_TIME_US && us <= MAX_TIME_US),
    i: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
  })
  .strict()
  .transform(({ c, i }): Keyset => ({ createdAtUs: c, id: i }));

/** The token of the page after `at`, for the query whose filters are `queryKey`. */
export function encodeKeysetToken(tokens: PageTokens, at: Keyset, queryKey: string): string {
  return tokens.encode(queryKey, { c: at.createdAtUs.toString(), i: at.id });
}

/** Reads a token made by encodeKeysetToken for the same filters. */
export function decodeKeysetToken(tokens: PageTokens, field: string, token: string, queryKey: string): Keyset {
  return tokens.decode(
    field,
    token,
    queryKey,
    keysetShape,
    'was made for other filters; send the filters of the first page, or start again without a page token',
  );
}
