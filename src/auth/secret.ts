import { hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A key derived for one purpose from one of the server's secrets, and that secret's id. */
export interface DerivedKey {
  /** The id of the secret it comes from (16 hex digits of a key derived for naming it: says nothing of the secret). */
  secretId: string;
  key: Buffer;
}

/**
 * The server's secret, from which the API key pepper, the log's hash-chain key and the
 * page-token keys are derived, and the secrets it replaced (AUREN_PREVIOUS_SECRETS): what was
 * made under one of those still verifies, so the secret can be rotated without invalidating
 * keys, chains or tokens at once.
 */
export interface ServerSecret {
  /** The id of the current secret. */
  readonly id: string;
  /** A key of 32 bytes for `purpose` under the current secret (HKDF-SHA256): one secret, independent keys. */
  derive(purpose: string): Buffer;
  /** The keys for `purpose` under the current secret, then under each previous one, newest first. */
  deriveAll(purpose: string): DerivedKey[];
}

/** Where the secret comes from: AUREN_SECRET, or else a file in the data folder made at first start; and the previous ones. */
export interface SecretSource {
  secret: string | undefined;
  dataDir: string;
  /** Secrets this one replaced (AUREN_PREVIOUS_SECRETS), newest first. */
  previous?: readonly string[];
}

/** What the log's hash-chain key is derived for (events/chain.ts); `auren audit verify` derives the same. */
export const CHAIN_KEY_PURPOSE = 'event hash chain';
/** What the API keys' pepper is derived for (auth/keys.ts). */
export const PEPPER_PURPOSE = 'api key pepper';
/** What the page-token key of one period is derived for (paging.ts). */
export const pageTokenPurpose = (period: number): string => `page token ${period}`;

/** The file that holds the secret when AUREN_SECRET is not set. */
export const SECRET_FILE = 'auth.secret';

/**
 * Loads the server's secret. Replicas must share it (set AUREN_SECRET on each): a key hashed
 * under one secret does not verify under another.
 */
export async function loadServerSecret({ secret, dataDir, previous = [] }: SecretSource): Promise<ServerSecret> {
  const current = secret !== undefined ? Buffer.from(secret, 'utf8') : await secretFile(dataDir);
  const all = [current, ...previous.map((old) => Buffer.from(old, 'utf8'))].map((material) => ({
    id: derive(material, SECRET_ID_PURPOSE).subarray(0, 8).toString('hex'),
    material,
  }));
  // The same secret twice (the current one left among the previous) is one secret.
  const secrets = all.filter((s, i) => all.findIndex((other) => other.id === s.id) === i);
  return {
    id: secrets[0]!.id,
    derive: (purpose) => derive(current, purpose),
    deriveAll: (purpose) => secrets.map(({ id, material }) => ({ secretId: id, key: derive(material, purpose) })),
  };
}

// What a secret's id is derived for: an id that names the secret and reveals nothing of it.
const SECRET_ID_PURPOSE = 'secret id';

function derive(material: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), `auren ${purpose}`, 32));
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
