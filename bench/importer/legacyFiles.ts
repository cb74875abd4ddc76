// Legacy memory files for the import bench: the seed's shapes in turn, agents named by folder
// and file names, people by a UUID in the file name, legacy types, string confidences.
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WORDS } from '../memory/words.js';

const FOLDERS = ['neuroscientist', 'nutritionist', 'training', 'recovery', 'sleep', 'mental_health'];
const TYPES = ['observation', 'pattern', 'suggestion', 'note', 'chat', 'fact', 'hypothesis', 'decision'];

/** What was written. */
export interface LegacyFileSet {
  files: number;
  memories: number;
  bytes: number;
}

/** Writes `files` files of `perFile` memories each under `dir` (one folder per agent). */
export async function writeLegacyFiles(dir: string, files: number, perFile: number, seed = 1): Promise<LegacyFileSet> {
  let random = seed;
  // A small deterministic generator: the same files on every run.
  const next = () => (random = (random * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  const sentence = (words: number) => Array.from({ length: words }, () => pick(WORDS)).join(' ');
  let bytes = 0;
  for (const folder of FOLDERS) await mkdir(path.join(dir, folder), { recursive: true });
  for (let f = 0; f < files; f++) {
    const folder = FOLDERS[f % FOLDERS.length]!;
    const user = randomUUID();
    const base = Date.UTC(2024, 0, 1) + f * 3_600_000;
    const items = Array.from({ length: perFile }, (_, i) => {
      const item: Record<string, unknown> = {
        type: pick(TYPES),
        confidence: i % 3 === 0 ? String((0.5 + next() / 2).toFixed(2)) : Number((0.3 + next() * 0.7).toFixed(2)),
        timestamp: new Date(base + i * 60_000).toISOString(),
      };
      if (i % 4 === 0) item.content = { text: sentence(12), source: 'chat' };
      else if (i % 4 === 1) item.text = sentence(14);
      else if (i % 4 === 2) item.value = { metric: pick(WORDS), reading: Math.round(next() * 1000) / 10 };
      else item.message = sentence(10);
      if (i % 5 === 0) item.metadata = { session: `s-${f}-${Math.floor(i / 10)}` };
      return item;
    });
    const shape = f % 4;
    const document =
      shape === 0
        ? items
        : shape === 1
          ? { memories: items }
          : shape === 2
            ? { data: { memories: items } }
            : { user_id: user, memories: items };
    const text = JSON.stringify(document);
    bytes += Buffer.byteLength(text);
    await writeFile(path.join(dir, folder, `memories_${user}.json`), text);
  }
  return { files, memories: files * perFile, bytes };
}
