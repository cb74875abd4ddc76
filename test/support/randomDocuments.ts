import type { JsonObject, JsonValue } from '../../src/events/types.js';

// Seeded random documents for the direct request decoders' tests (appendWire, memoryWire).

/** A small deterministic generator, so a failure can be replayed from its seed. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Texts for ids and documents: empty, non-ASCII, long, "__proto__", number-like. */
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

/** A random JSON object, nested from `depth` on (no "__proto__" key). */
export function document(next: () => number, depth: number): JsonObject {
  const object: JsonObject = {};
  const keys = Math.floor(next() * 6);
  for (let i = 0; i < keys; i++)
    object[`${TEXTS[Math.floor(next() * TEXTS.length)]!.replace('__proto__', 'proto')}${i}`] = value(next, depth);
  return object;
}

/** A random JSON value at `depth`. */
export function value(next: () => number, depth: number): JsonValue {
  const pick = Math.floor(next() * (depth > 4 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return [0, -0.5, 1e300, 42, -7, 0.1, Number.MIN_VALUE][Math.floor(next() * 7)]!;
    case 2:
      return TEXTS[Math.floor(next() * TEXTS.length)]!;
    case 3:
      return next() < 0.5;
    case 4:
      return '';
    case 5:
      return document(next, depth + 1);
    default:
      return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
  }
}
