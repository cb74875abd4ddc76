import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { StartupError } from '../../startupError.js';
import type { Logger } from '../../log.js';

const run = promisify(execFile);

/** A system account the server runs as. */
export interface Account {
  uid: number;
  gid: number;
}

/**
 * The `postgres` system user, created if missing: PostgreSQL refuses to run as root, so a
 * server started by root runs as this user.
 */
export async function postgresAccount(log: Logger): Promise<Account> {
  const found = await lookUp('postgres');
  if (found) return found;
  log.info('creating the postgres system user for the embedded PostgreSQL');
  try {
    const groupExists = await run('getent', ['group', 'postgres']).then(
      () => true,
      () => false,
    );
    await run('useradd', [
      '--system',
      ...(groupExists ? ['--gid', 'postgres'] : ['--user-group']),
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      '--comment',
      'PostgreSQL (embedded in auren)',
      'postgres',
    ]);
  } catch (error) {
    throw new StartupError(
      {
        code: 'embedded_postgres',
        failed: 'cannot create the postgres system user the embedded PostgreSQL runs as when started by root',
        reason: commandFailure(error),
        remedy: 'create it (useradd --system --user-group postgres), run auren as an ordinary user, or set DATABASE_URL',
      },
      { cause: error },
    );
  }
  const created = await lookUp('postgres');
  if (!created) throw new Error('useradd succeeded but the postgres user is not found');
  return created;
}

async function lookUp(name: string): Promise<Account | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

function commandFailure(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  if (typeof stderr === 'string' && stderr.trim()) return stderr.trim().split('\n').at(-1)!;
  return error instanceof Error ? error.message : String(error);
}
