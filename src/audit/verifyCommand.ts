import { parseArgs } from 'node:util';
import type { DatabasePool } from 'slonik';
import { CHAIN_KEY_PURPOSE } from '../auth/secret.js';
import type { ServerSecret } from '../auth/secret.js';
import { chainPads } from '../events/chain.js';
import { verifyChains } from '../events/verifyChains.js';

/** What `auren audit` writes to. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

// Progress goes to stderr at most this often, and once at the end.
const PROGRESS_EVERY_MS = 2_000;

/**
 * Runs `auren audit verify [--stream ID] [--page-size N]`: recomputes the log's hash chains with
 * the server's chain keys (the current secret's and the previous ones') page by page, prints
 * progress on stderr and one line per event altered, removed or inserted behind the service's
 * back on stdout. Exit code 0 when the log is intact, 1 when anything was found, 2 for bad arguments.
 */
export async function auditCommand(args: string[], pool: DatabasePool, secret: ServerSecret, output: Output): Promise<number> {
  if (args[0] !== 'verify') {
    output.err(`auren: audit ${args[0] ?? ''}: expects verify [--stream ID] [--page-size N]`);
    return 2;
  }
  let stream: string | undefined;
  let pageSize = 10_000;
  try {
    const { values } = parseArgs({
      args: args.slice(1),
      options: { stream: { type: 'string' }, 'page-size': { type: 'string' } },
      strict: true,
    });
    stream = values.stream;
    if (values['page-size'] !== undefined) {
      pageSize = Number(values['page-size']);
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1_000_000)
        throw new Error(`--page-size expects a whole number from 1 to 1000000, got '${values['page-size']}'`);
    }
  } catch (error) {
    output.err(`auren: audit verify: ${(error as Error).message}`);
    return 2;
  }
  const keys = secret.deriveAll(CHAIN_KEY_PURPOSE).map(({ secretId, key }) => ({ secretId, pads: chainPads(key) }));
  let lastProgress = 0;
  const report = await verifyChains(pool, keys, {
    streamId: stream ?? null,
    pageSize,
    onProgress: ({ read, at, end }) => {
      if (Date.now() - lastProgress < PROGRESS_EVERY_MS && at < end) return;
      lastProgress = Date.now();
      output.err(`verified ${read} events, up to ${stream === undefined ? 'position' : 'version'} ${at} of ${end}`);
    },
  });
  for (const p of report.problems) {
    const where = [
      p.position === null ? null : `position ${p.position}`,
      p.streamId === null ? null : `stream ${p.streamId}`,
      p.version === null ? null : `version ${p.version}`,
    ].filter(Boolean);
    output.out(`${p.kind}: ${where.join(' ')}: ${p.detail}`);
  }
  if (report.problemCount > report.problems.length)
    output.out(`… and ${report.problemCount - report.problems.length} more problem(s) not listed`);
  const bySecret = [...report.bySecret].map(([id, n]) => `${n} under secret ${id}`).join(', ');
  output.out(
    report.problemCount === 0
      ? `ok: ${report.checked} events checked${stream === undefined ? '' : ` in stream ${stream}`}; every chain is intact${bySecret ? ` (${bySecret})` : ''}`
      : `TAMPERED: ${report.problemCount} problem(s) found in ${report.checked} events checked`,
  );
  return report.problemCount === 0 ? 0 : 1;
}
