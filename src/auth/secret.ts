import { hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The server's secret, from which the API key pepper and the page-token keys are derived. */
export interface ServerSecret {
  /** A key of 32 bytes for `purpose` (HKDF-SHA256): one secret, independent keys. */
  derive(purpose: string): Buffer;
}

/** Where the secret comes from: AUREN_SECRET, or else a file in the data folder made at first start. */
export interface SecretSource {
  secret: string | undefined;
  dataDir: string;
}

/** What the log's hash-chain key is derived for (events/chain.ts); `auren audit verify` derives the same. */
export const CHAIN_KEY_PURPOSE = 'event hash chain';

/** The file that holds the secret when AUREN_SECRET is not set. */
export const SECRET_FILE = 'auth.secret';

/**
 * Loads the server's secret. Replicas must share it (set AUREN_SECRET on each): a key hashed
 * under one secret does not verify under another.
 */
export async function loadServerSecret({ secret, dataDir }: SecretSource): Promise<ServerSecret> {
  const material = secret !== undefined ? Buffer.from(secret, 'utf8') : await secretFile(dataDir);
  return { derive: (purpose) => Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), `auren ${purpose}`, 32)) };
}

async function secretFile(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, SECRET_FILE);
  try {
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const fresh = randomBytes(32);
  try {
    // 'wx': a replica that made it first wins; we read theirs.
    await writeFile(file, `${fresh.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url');
  }
}
