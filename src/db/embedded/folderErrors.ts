import { StartupError } from '../../startupError.js';

const WHY: Record<string, string> = {
  ENOTDIR: 'a part of its path is a file, not a folder',
  EEXIST: 'it is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
};

/** Says in words why a file operation failed, with the error code. */
export function explainFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code && WHY[code]) return `${WHY[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

/** The data folder (AUREN_DATA_DIR) cannot be created or written. */
export function dataFolderError(dataDir: string, error: unknown): StartupError {
  return new StartupError(
    {
      code: 'data_folder',
      failed: `cannot write the data folder ${dataDir}`,
      reason: explainFileError(error),
      remedy: 'set AUREN_DATA_DIR to a folder this user can write, or set DATABASE_URL to use another PostgreSQL',
    },
    { cause: error },
  );
}

/** As root: the system folder that holds the binaries and clusters cannot be written. */
export function systemFolderError(systemDir: string, error: unknown): StartupError {
  return new StartupError(
    {
      code: 'embedded_postgres',
      failed: `cannot prepare ${systemDir}, where the embedded PostgreSQL keeps its files when auren runs as root`,
      reason: explainFileError(error),
      remedy: `make ${systemDir} writable by root, run auren as an ordinary user, or set DATABASE_URL`,
    },
    { cause: error },
  );
}
