// Bundles the live dashboard (dashboard/main.ts and the generated client it imports) into
// dashboard/build/, served by the service at /dashboard/. Run by `npm ci` (prepare), `npm run
// build` and `npm run build:dashboard`. Everything comes from npm packages: the page needs no
// CDN and works offline.
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // A production install (npm ci --omit=dev) has no esbuild: the image is built with it.
  console.log('dashboard: esbuild is not installed (production install); the bundle is not rebuilt');
  process.exit(0);
}
mkdirSync(`${here}build`, { recursive: true });
await esbuild.build({
  entryPoints: [`${here}main.ts`],
  outfile: `${here}build/app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) copyFileSync(`${here}${file}`, `${here}build/${file}`);
console.log('dashboard: bundled into dashboard/build/');
