import { randomUUID } from 'node:crypto';
import type { JsonObject, RecordedEvent } from '../../src/events/types.js';
import { document, random as seeded } from './randomDocuments.js';

/**
 * Seeded random events for the hand-written wire encoders' tests: every field empty or not, ids and
 * versions near the varint and int64 edges, times around the epoch and far ahead, documents of
 * every kind (randomDocuments.ts), one large enough that an event's length takes three varint bytes.
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
  const next = seeded(seed + 1);
  return () => {
    const position = pick(bigints);
    return {
      eventId: randomUUID(),
      streamId: pick(strings) || 's',
      version: pick(bigints),
      type: pick(strings) || 't',
      data: random() < 0.5 ? pick(documents) : document(next),
      metadata: random() < 0.5 ? pick(documents) : document(next),
      correlationId: pick([null, ...strings]),
      causationId: pick([null, ...strings]),
      position: { commit: position, prepare: position },
      createdAt: pick(times),
    };
  };
}
