import { randomBytes } from 'node:crypto';
import {
  access,
  chmod,
  chown,
  constants,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  rmdir,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import type { PostgresBinaries } from './binaries.js';
import { runProgram } from './programs.js';
import type { RunAs } from './programs.js';
import { ensureSystemFolder } from './systemFolder.js';
import { dataFolderError, systemFolderError } from './folderErrors.js';
import { StartupError } from '../../startupError.js';
import type { Logger } from '../../log.js';

/** A cluster ready to start. */
export interface Cluster {
  /** Its folder, by real path. */
  pgdata: string;
  /** Password of its `postgres` role. */
  password: string;
  /** Whether it was created by this call. */
  created: boolean;
}

/** Where a cluster is kept and how its programs run. */
export interface ClusterOptions {
  /** The service's data folder (AUREN_DATA_DIR), absolute. */
  dataDir: string;
  binaries: PostgresBinaries;
  /** With an account (running as root), the cluster lives under `systemDir`. */
  runAs: RunAs;
  systemDir: string;
  log: Logger;
}

/** Creates the data folder if missing and checks that this user can write it. */
export async function prepareDataFolder(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await access(dataDir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw dataFolderError(dataDir, error);
  }
}

/**
 * Opens the cluster kept for the data folder, creating it on first use. `<dataDir>/postgres`
 * is the handle: the cluster itself for an ordinary user; as root, a symlink to
 * `<systemDir>/clusters/<random id>`, owned by the postgres user, which cannot reach into the
 * data folder. The password of the cluster's `postgres` role is in `<dataDir>/postgres.secret`
 * (0600, readable by this user only). A new cluster is built under a temporary name and put
 * in place by a rename, so a handle always leads to a whole cluster.
 */
export async function openCluster(options: ClusterOptions): Promise<Cluster> {
  const { dataDir } = options;
  const handle = path.join(dataDir, 'postgres');
  const secretFile = path.join(dataDir, 'postgres.secret');
  const existing = await inDataFolder(dataDir, () => findCluster(handle, dataDir));
  if (existing) return { pgdata: existing, password: await readSecret(secretFile, dataDir), created: false };

  const password = randomBytes(18).toString('base64url');
  await inDataFolder(dataDir, async () => {
    await writeFile(secretFile, `${password}\n`, { mode: 0o600 });
    await chmod(secretFile, 0o600);
  });
  options.log.info({ dataDir }, 'creating the embedded PostgreSQL cluster');
  const pgdata = options.runAs.account
    ? await createSystemCluster(handle, password, options)
    : await createLocalCluster(handle, password, options);
  return { pgdata, password, created: true };
}

async function findCluster(handle: string, dataDir: string): Promise<string | undefined> {
  const info = await lstat(handle).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!info) return undefined;
  if (info.isSymbolicLink()) {
    const target = path.resolve(dataDir, await readlink(handle));
    if (await isCluster(target)) return target;
    throw new StartupError({
      code: 'embedded_postgres',
      failed: 'the embedded PostgreSQL cluster is missing',
      reason: `${handle} leads to ${target}, which holds no cluster`,
      remedy: `restore it, or remove ${handle} to start with a new, empty database`,
    });
  }
  if (info.isDirectory()) {
    if (await isCluster(handle)) return handle;
    // An empty folder is what a start that failed before creating the cluster leaves behind.
    if ((await readdir(handle)).length === 0) {
      await rmdir(handle);
      return undefined;
    }
  }
  throw new StartupError({
    code: 'data_folder',
    failed: `${handle} is not a PostgreSQL cluster`,
    reason: 'it is not empty and holds no PG_VERSION file',
    remedy: 'move it away so that a new cluster can be created, or set AUREN_DATA_DIR to another folder',
  });
}

async function isCluster(folder: string): Promise<boolean> {
  return lstat(path.join(folder, 'PG_VERSION')).then(
    (info) => info.isFile(),
    () => false,
  );
}

async function readSecret(secretFile: string, dataDir: string): Promise<string> {
  try {
    return (await readFile(secretFile, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw dataFolderError(dataDir, error);
    throw new StartupError(
      {
        code: 'embedded_postgres',
        failed: 'the password of the embedded PostgreSQL is missing',
        reason: `the cluster exists but ${secretFile} does not`,
        remedy: `restore that file, or move ${dataDir} away to start with a new, empty database`,
      },
      { cause: error },
    );
  }
}

async function createLocalCluster(handle: string, password: string, options: ClusterOptions): Promise<string> {
  const staging = `${handle}.init-${randomBytes(6).toString('hex')}`;
  await initdb(staging, password, options);
  await inDataFolder(options.dataDir, () => rename(staging, handle));
  return handle;
}

async function createSystemCluster(handle: string, password: string, options: ClusterOptions): Promise<string> {
  const { uid, gid } = options.runAs.account!;
  const clusters = path.join(options.systemDir, 'clusters');
  const pgdata = path.join(clusters, randomBytes(9).toString('hex'));
  try {
    await ensureSystemFolder(options.systemDir);
    // Passable, not listable: the postgres user needs to reach its cluster, nobody to list them.
    await ensureSystemFolder(clusters, 0o711);
    await mkdir(pgdata, { mode: 0o700 });
    await chown(pgdata, uid, gid);
  } catch (error) {
    throw systemFolderError(options.systemDir, error);
  }
  await initdb(pgdata, password, options);
  const link = `${handle}.link-${randomBytes(6).toString('hex')}`;
  await inDataFolder(options.dataDir, async () => {
    await symlink(pgdata, link);
    await rename(link, handle);
  });
  return pgdata;
}

// initdb reads the password from a file the server's account can read: written beside the
// new cluster (0600, owned by that account), removed once initdb is done.
async function initdb(pgdata: string, password: string, options: ClusterOptions): Promise<void> {
  const passwordFile = `${pgdata}.pwfile`;
  try {
    await writePasswordFile(passwordFile, password, options);
    await runProgram(
      options.binaries.initdb,
      [
        '-D',
        pgdata,
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        // UTF-8 whatever the environment's locale: the builtin provider needs no OS locale.
        '--encoding=UTF8',
        '--locale=C',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--lc-messages=C',
        '--no-instructions',
      ],
      options.runAs,
      options.log,
    );
  } catch (error) {
    await rm(pgdata, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(passwordFile, { force: true });
  }
}

async function writePasswordFile(file: string, password: string, options: ClusterOptions): Promise<void> {
  const { account } = options.runAs;
  try {
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    if (account) await chown(file, account.uid, account.gid);
  } catch (error) {
    throw account ? systemFolderError(options.systemDir, error) : dataFolderError(options.dataDir, error);
  }
}

async function inDataFolder<T>(dataDir: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw dataFolderError(dataDir, error);
  }
}
