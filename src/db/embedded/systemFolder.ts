import { randomBytes } from 'node:crypto';
import { chmod, cp, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { binariesIn, makeRunnable } from './binaries.js';
import type { PostgresBinaries } from './binaries.js';
import type { Logger } from '../../log.js';

/**
 * Where the embedded PostgreSQL keeps its binaries and clusters when auren runs as root. The
 * server then runs as the `postgres` user, which cannot enter a checkout under /root or a
 * `mktemp -d` folder (both 0700); changing the modes of the user's folders is not ours to do,
 * so what the server must reach lives in this root-owned folder it can traverse.
 */
export const SYSTEM_DIR = '/var/lib/auren';

/**
 * Creates `dir` (and its parents) if missing and gives it `mode`, whatever the umask: it is
 * auren's own folder, and the postgres user must be able to pass through it.
 */
export async function ensureSystemFolder(dir: string, mode = 0o755): Promise<void> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, mode);
}

/**
 * Copies the package's binaries to `<systemDir>/postgresql-<version>` once and returns that
 * copy. The copy is made under a temporary name, completed (library symlinks, modes readable
 * by all whatever the umask was at `npm ci`) and renamed, so a folder with the final name is
 * always whole; two first starts at once each copy and one rename wins.
 */
export async function installBinaries(packaged: PostgresBinaries, systemDir: string, log: Logger): Promise<PostgresBinaries> {
  const target = path.join(systemDir, `postgresql-${packaged.version}`);
  if (await isFolder(target)) return binariesIn(target, packaged.version);
  await ensureSystemFolder(systemDir);
  const temporary = path.join(systemDir, `.postgresql-${packaged.version}.${randomBytes(6).toString('hex')}`);
  log.info({ from: packaged.root, to: target }, 'running as root: copying the PostgreSQL binaries where the postgres user can reach them');
  try {
    await cp(packaged.root, temporary, { recursive: true, verbatimSymlinks: true });
    await makeRunnable(binariesIn(temporary, packaged.version));
    await openToAll(temporary);
    await rename(temporary, target).catch(async (error: unknown) => {
      // Another start renamed its copy first: use that one.
      if (!(await isFolder(target))) throw error;
    });
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
  return binariesIn(target, packaged.version);
}

// Folders 0755, programs and libraries 0755, other files 0644; symlinks keep theirs.
async function openToAll(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const at = path.join(dir, entry.name);
    if (entry.isDirectory()) await openToAll(at);
    else if (entry.isFile()) await chmod(at, (await stat(at)).mode & 0o111 ? 0o755 : 0o644);
  }
}

async function isFolder(at: string): Promise<boolean> {
  return lstat(at).then(
    (info) => info.isDirectory(),
    () => false,
  );
}
