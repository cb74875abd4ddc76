import { existsSync } from 'node:fs';
import { lstat, readdir, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { SYSTEM_DIR } from '../../src/db/embedded/systemFolder.js';

/** Removes what a test running the embedded PostgreSQL leaves behind. */
export interface EmbeddedLeftovers {
  /** Removes a data folder and, as root, the cluster under /var/lib/auren/clusters it leads to. */
  removeDataFolder(dataDir: string): Promise<void>;
  /** Removes /var/lib/auren (the binaries' copy) if it did not exist when this was created and holds no cluster now. */
  removeSystemFolder(): Promise<void>;
}

/** Notes whether /var/lib/auren exists now, so that a test removes it only if the test made it. */
export function embeddedLeftovers(): EmbeddedLeftovers {
  const systemFolderExisted = existsSync(SYSTEM_DIR);
  const clusters = path.join(SYSTEM_DIR, 'clusters');
  return {
    async removeDataFolder(dataDir) {
      const handle = path.join(dataDir, 'postgres');
      if ((await lstat(handle).catch(() => undefined))?.isSymbolicLink()) {
        const cluster = path.resolve(dataDir, await readlink(handle));
        if (path.dirname(cluster) === clusters) await rm(cluster, { recursive: true, force: true });
      }
      await rm(dataDir, { recursive: true, force: true });
    },
    async removeSystemFolder() {
      if (systemFolderExisted) return;
      if ((await readdir(clusters).catch(() => [])).length === 0) await rm(SYSTEM_DIR, { recursive: true, force: true });
    },
  };
}
