import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log.js';

/** A Chroma server run from the chromadb package (`chroma run`), stopped with the service. */
export interface EmbeddedChroma {
  url: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
// Runs "$@" while the process $1 lives; a SIGTERM is passed on.
const WITH_PARENT = `parent=$1; shift
"$@" & child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1 & wait $!; done
kill -TERM $child 2>/dev/null; wait $child`;

/**
 * Runs `chroma run --path <dir> --host 127.0.0.1 --port <port>` from the chromadb package (its
 * server is the native chromadb-js-bindings module; 1.0.5 is pinned, as later builds need
 * glibc 2.38) and waits until its heartbeat answers. Port 0 picks a free port.
 */
export async function startEmbeddedChroma(dir: string, port: number, log: Logger): Promise<EmbeddedChroma> {
  await mkdir(dir, { recursive: true });
  const chosen = port === 0 ? await freePort() : port;
  // The package exports no package.json: its CLI is found beside its main entry, in dist/.
  const main = createRequire(import.meta.url).resolve('chromadb');
  const cli = path.join(main.slice(0, main.lastIndexOf(`${path.sep}dist${path.sep}`)), 'dist', 'cli.mjs');
  // A small shell stands between: it stops Chroma when this process is gone, even by SIGKILL
  // (the server blocks its own JavaScript thread, so it cannot watch for that itself).
  const child = spawn(
    'sh',
    [
      '-c',
      WITH_PARENT,
      'sh',
      String(process.pid),
      process.execPath,
      cli,
      'run',
      '--path',
      dir,
      '--host',
      '127.0.0.1',
      '--port',
      String(chosen),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    output.push(text);
    if (output.length > 50) output.shift();
    log.debug({ chroma: text.trim() }, 'chroma output');
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
    log.debug({ code }, 'embedded Chroma exited');
  });
  const url = `http://127.0.0.1:${chosen}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) throw new Error(`the embedded Chroma exited (${exited}) at start: ${output.join('').slice(-500)}`);
    const up = await fetch(`${url}/api/v2/heartbeat`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the embedded Chroma did not answer within ${START_TIMEOUT_MS} ms`);
    }
    await sleep(100);
  }
  log.info({ url, path: dir }, 'embedded Chroma serving');
  // For `auren projections rebuild chroma`, which has no other way to learn a port picked at start.
  await writeFile(urlFile(dir), url);
  return {
    url,
    async stop() {
      await rm(urlFile(dir), { force: true });
      if (exited !== undefined) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(5_000)]);
      if (exited === undefined) child.kill('SIGKILL');
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const urlFile = (dir: string) => path.join(dir, 'auren-url');

/** The URL of the embedded Chroma serving `dir` now, if one is. */
export async function embeddedChromaUrl(dir: string): Promise<string | undefined> {
  return readFile(urlFile(dir), 'utf8').catch(() => undefined);
}
