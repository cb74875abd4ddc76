import { randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue, RecordedEvent } from '../../src/events/types.js';

/**
 * Seeded random events for the hand-written wire encoders' tests: every field empty or not, ids and
 * versions near the varint and int64 edges, times around the epoch and far ahead, documents of
 * every kind (randomDocuments), one large enough that an event's length takes three varint bytes.
 */
export function randomEvents(seed: number): () => RecordedEvent {
  const random = seeded(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const strings = ['', 'a', 'memory-3f2b8c1e', 'sleep_pattern', 'é☾😀', 'x'.repeat(90), 'x'.repeat(200), 'with\nnewline'];
  const bigints = [
    0n,
    1n,
    127n,
    128n,
    16_383n,
    16_384n,
    2n ** 31n - 1n,
    2n ** 31n,
    2n ** 53n - 1n,
    2n ** 53n,
    2n ** 53n + 1n,
    2n ** 63n - 1n,
  ];
  const times = [0, 1, 999, 1_000, 1_796_165_290_340, 1_796_165_290_000, 4_102_444_800_123, -1, -86_400_001];
  const documents: JsonObject[] = [
    {},
    { a: 1 },
    { n: -0.5, s: 'ü', t: true, z: null, l: [1, [], {}] },
    { deep: { er: { est: 'x'.repeat(300) } } },
    { big: 'y'.repeat(20_000) },
  ];
  const document = randomDocuments(seed + 1);
  return () => {
    const position = pick(bigints);
    return {
      eventId: randomUUID(),
      streamId: pick(strings) || 's',
      version: pick(bigints),
      type: pick(strings) || 't',
      data: random() < 0.5 ? pick(documents) : document(),
      metadata: random() < 0.5 ? pick(documents) : document(),
      correlationId: pick([null, ...strings]),
      causationId: pick([null, ...strings]),
      position: { commit: position, prepare: position },
      createdAt: pick(times),
    };
  };
}

/**
 * Seeded random JSON documents, as JSON.parse makes them: objects and lists nested up to five
 * deep, empty ones, null, booleans, numbers at the double's edges (-0, the smallest and largest,
 * beyond 2^53, fractions), strings of every UTF-8 width with escapes, lone surrogates and lengths
 * at the edges of a one-, two- and three-byte length (42/43 UTF-16 units, 127/128 and
 * 16,383/16,384 bytes), keys that look like array indexes (which objects list first).
 */
export function randomDocuments(seed: number): () => JsonObject {
  const random = seeded(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const numbers = [0, -0, 1, -1, 0.5, 0.1 + 0.2, 1e-7, 5e-324, 1.7976931348623157e308, -1e21, 2 ** 53 + 2, 123_456_789_012, 0.72];
  const pieces = ['a', 'Z', ' ', 'é', '☾', '睡', '😀', '\ud800', '\udc00', '\n', '"', '\\', '\u0000', '\u001f', '\u007f', '/'];
  const lengths = [0, 1, 2, 5, 42, 43, 44, 127, 128, 129, 200, 5_461, 16_383, 16_384];
  const keys = ['', 'a', 'user_id', 'é☾😀', '0', '9', '10', 'key with spaces', 'x'.repeat(43), 'with\nnewline'];
  const string = (): string => {
    // Mostly one piece repeated, so a length edge holds in UTF-16 units (ASCII: in bytes too).
    const length = pick(lengths);
    if (random() < 0.7) return pick(pieces).repeat(length).slice(0, length);
    let s = '';
    while (s.length < length) s += pick(pieces);
    return s;
  };
  const value = (depth: number): JsonValue => {
    const kind = depth >= 5 ? Math.floor(random() * 4) : Math.floor(random() * 6);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return random() < 0.5 ? pick(numbers) : (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
      case 3:
        return string();
      case 4:
        return Array.from({ length: Math.floor(random() * 5) }, () => value(depth + 1));
      default:
        return object(depth + 1);
    }
  };
  const object = (depth: number): JsonObject => {
    const result: JsonObject = {};
    const count = Math.floor(random() * 6);
    for (let i = 0; i < count; i++) result[random() < 0.5 ? pick(keys) : string().slice(0, 50)] = value(depth);
    return result;
  };
  return () => object(0);
}

// A linear congruential generator: the same numbers for the same seed, in [0, 1).
function seeded(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}
