import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import { startEmbeddedChroma } from '../../src/projections/chroma/embeddedChroma.js';

/** A real Chroma server for a test file: `chroma run` from the chromadb package, on a free port, in a folder of its own. */
export interface TestChroma {
  url: string;
  /** Stops the server; with `keepData`, a later start() serves the same data. */
  stop(keepData?: boolean): Promise<void>;
  /** Starts it again on the same port and folder. */
  start(): Promise<void>;
}

/** Starts Chroma for a test file. */
export async function startTestChroma(port = 0): Promise<TestChroma> {
  const dir = await mkdtemp(path.join(tmpdir(), 'auren-chroma-'));
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  let server = await startEmbeddedChroma(dir, port, log);
  const chosen = Number(new URL(server.url).port);
  return {
    url: server.url,
    async stop(keepData = false) {
      await server.stop();
      if (!keepData) await rm(dir, { recursive: true, force: true });
    },
    async start() {
      server = await startEmbeddedChroma(dir, chosen, log);
    },
  };
}
