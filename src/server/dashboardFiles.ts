import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the dashboard's bundle is written at build time (`npm run build:dashboard`, also run by `npm ci`). */
export const DASHBOARD_BUILD_DIR = fileURLToPath(new URL('../../dashboard/build/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

/** A served file. */
export interface DashboardFile {
  contentType: string;
  body: Buffer;
}

/**
 * The dashboard's files, read once at start into memory (a few hundred kB): a request never
 * touches the disk, and no path from a request reaches the file system. Without a bundle, the
 * page says how to build it.
 */
export function loadDashboardFiles(dir = DASHBOARD_BUILD_DIR): (name: string) => DashboardFile | undefined {
  const files = new Map<string, DashboardFile>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // Not built: answered below.
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { contentType: type, body: readFileSync(join(dir, name)) });
  }
  if (!files.has('index.html')) {
    files.set('index.html', {
      contentType: TYPES['.html']!,
      body: Buffer.from(
        '<!doctype html><title>AUREN dashboard</title><p>The dashboard is not built: run <code>npm run build:dashboard</code>.</p>\n',
      ),
    });
  }
  return (name) => files.get(name);
}
