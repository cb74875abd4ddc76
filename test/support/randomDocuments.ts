import type { JsonObject, JsonValue } from '../../src/events/types.js';

// Seeded random JSON documents for the hand-written wire codecs' tests (appendWire, memoryWire,
// structWire, tailWire): as JSON.parse makes them.

/** A linear congruential generator: the same numbers in [0, 1) for the same seed, so a failure can be replayed. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** Texts for ids and names: empty, non-ASCII, long, "__proto__", number-like. */
export const TEXTS = [
  '',
  'a',
  'memory_created',
  'Wakes at 3am — most nights ☾',
  '睡眠',
  '😀',
  'key with spaces',
  '__proto__',
  'x'.repeat(300),
  '0',
  '10',
];

const NUMBERS = [0, -0, 1, -1, 0.5, 0.1 + 0.2, 1e-7, 5e-324, 1.7976931348623157e308, -1e21, 2 ** 53 + 2, 123_456_789_012, 0.72];
const PIECES = ['a', 'Z', ' ', 'é', '☾', '睡', '😀', '\ud800', '\udc00', '\n', '"', '\\', '\u0000', '\u001f', '\u007f', '/'];
// At the edges of a one-, two- and three-byte length: 42/43 UTF-16 units, 127/128 and 16,383/16,384 bytes.
const LENGTHS = [0, 1, 2, 5, 42, 43, 44, 127, 128, 129, 200, 5_461, 16_383, 16_384];
// Keys that look like array indexes are listed first by objects.
const KEYS = ['', 'a', 'user_id', 'é☾😀', '0', '9', '10', 'key with spaces', 'x'.repeat(43), 'with\nnewline'];
const MAX_DEPTH = 5;

/**
 * What the texts of a document are: `edges`, strings of every UTF-8 width with escapes, lone
 * surrogates and lengths at the length prefixes' edges (up to 16,384); `short`, TEXTS, so that
 * a damaged byte of an encoded document mostly lands in its structure, not in a long string.
 */
export type Texts = 'edges' | 'short';

/**
 * A random JSON object at `depth` (nested up to depth 5): empty objects and lists, null, booleans,
 * numbers at the double's edges (-0, the smallest and largest, beyond 2^53, fractions), and
 * `texts`; no "__proto__" key.
 */
export function document(next: () => number, depth = 0, texts: Texts = 'edges'): JsonObject {
  const result: JsonObject = {};
  const count = Math.floor(next() * 6);
  for (let i = 0; i < count; i++) {
    const key = next() < 0.5 ? pick(next, KEYS) : text(next, texts).slice(0, 50);
    result[key.replace('__proto__', 'proto')] = value(next, depth + 1, texts);
  }
  return result;
}

/** A random JSON value at `depth`. */
export function value(next: () => number, depth: number, texts: Texts = 'edges'): JsonValue {
  switch (Math.floor(next() * (depth >= MAX_DEPTH ? 4 : 6))) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return next() < 0.5 ? pick(next, NUMBERS) : (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20);
    case 3:
      return text(next, texts);
    case 4:
      return Array.from({ length: Math.floor(next() * 5) }, () => value(next, depth + 1, texts));
    default:
      return document(next, depth, texts);
  }
}

function text(next: () => number, texts: Texts): string {
  if (texts === 'short') return pick(next, TEXTS);
  // Mostly one piece repeated, so a length edge holds in UTF-16 units (ASCII: in bytes too).
  const length = pick(next, LENGTHS);
  if (next() < 0.7) return pick(next, PIECES).repeat(length).slice(0, length);
  let s = '';
  while (s.length < length) s += pick(next, PIECES);
  return s;
}

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}
