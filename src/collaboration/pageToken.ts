import { sql } from 'slonik';
import type { FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import type { PageTokens } from '../paging.js';

// The page tokens of the collaboration lists: where the next page starts, as the keyset of the
// list's order (a time, the id, and for knowledge its confidence first), signed by the server
// (src/paging.ts) and good only for the list and filters it was made for.

/** Where a page starts: just after the row with this keyset in the list's order. */
export interface Keyset {
  /** Microseconds since the epoch, as precise as timestamptz (a millisecond would merge rows). */
  timeUs: bigint;
  id: string;
  /** Knowledge only: the row's confidence, first in its order. */
  confidence?: number;
}

// 0001-01-01 to 9999-12-31 in microseconds: a token holds only a time a row can have.
const MIN_TIME_US = -62_135_596_800_000_000n;
const MAX_TIME_US = 253_402_300_799_999_999n;

const keysetShape = z
  .object({
    t: z
      .string()
      .regex(/^-?\d{1,19}$/)
      .transform(BigInt)
      .refine((us) => us >= MIN_TIME_US && us <= MAX_TIME_US),
    i: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    c: z
      .string()
      .regex(/^(0|1|0\.\d{1,30}|\d(\.\d+)?e-\d{1,3})$/)
      .transform(Number)
      .refine((c) => c >= 0 && c <= 1)
      .optional(),
  })
  .strict()
  .transform(({ t, i, c }): Keyset => ({ timeUs: t, id: i, ...(c === undefined ? {} : { confidence: c }) }));

/** The token of the page after `at`, for the list and filters `scope` names. */
export function encodePageToken(tokens: PageTokens, at: Keyset, scope: string): string {
  const position: Record<string, string> = { t: at.timeUs.toString(), i: at.id };
  if (at.confidence !== undefined) position.c = String(at.confidence);
  return tokens.encode(scope, position);
}

/** Reads a token of encodePageToken made for the same `scope`; null when none is sent. Anything else is InvalidArgument on `field`. */
export function decodePageToken(tokens: PageTokens, field: string, token: string, scope: string): Keyset | null {
  if (token === '') return null;
  return tokens.decode(
    field,
    token,
    scope,
    keysetShape,
    'was made for other filters; send the filters of the first page, or start again without a page token',
  );
}

/** The scope of a list's tokens: its name and its filters, as the token binds them. */
export const pageScope = (list: string, filters: unknown): string => `${list}\n${JSON.stringify(filters)}`;

/** A row's time column as whole microseconds since the epoch (exact: extract returns numeric). */
export const microseconds = (column: FragmentSqlToken) => sql.fragment`(extract(epoch from ${column}) * 1000000)::bigint`;

/** A keyset time as timestamptz. */
export const timeOf = (us: bigint) => sql.fragment`(to_timestamp(0) + ${us.toString()}::bigint * interval '1 microsecond')`;
