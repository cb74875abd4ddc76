import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** The *.json files of a folder (and of its subfolders when recursive), in name order, with their sizes. */
export async function listLegacyFiles(dir: string, recursive: boolean): Promise<{ file: string; relative: string; size: number }[]> {
  const found: { file: string; relative: string; size: number }[] = [];
  async function walk(folder: string): Promise<void> {
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (recursive) await walk(file);
      } else if (entry.name.toLowerCase().endsWith('.json')) {
        const info = await stat(file).catch(() => null);
        if (info === null || info.isFile())
          found.push({ file, relative: path.relative(dir, file).split(path.sep).join('/'), size: info?.size ?? 0 });
      }
    }
  }
  await walk(dir);
  return found;
}
