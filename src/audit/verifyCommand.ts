import { parseArgs } from 'node:util';
import type { DatabasePool } from 'slonik';
import { CHAIN_KEY_PURPOSE } from '../auth/secret.js';
import type { ServerSecret } from '../auth/secret.js';
import { chainPads, verifyChains } from '../events/chain.js';

/** What `auren audit` writes to. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Runs `auren audit verify [--stream ID]`: recomputes the log's hash chains with the server's
 * secret and prints one line per event altered, removed or inserted behind the service's back.
 * Exit code 0 when the log is intact, 1 when anything was found, 2 for bad arguments.
 */
export async function auditCommand(args: string[], pool: DatabasePool, secret: ServerSecret, output: Output): Promise<number> {
  if (args[0] !== 'verify') {
    output.err(`auren: audit ${args[0] ?? ''}: expects verify [--stream ID]`);
    return 2;
  }
  let stream: string | undefined;
  try {
    stream = parseArgs({ args: args.slice(1), options: { stream: { type: 'string' } }, strict: true }).values.stream;
  } catch (error) {
    output.err(`auren: audit verify: ${(error as Error).message}`);
    return 2;
  }
  const report = await verifyChains(pool, chainPads(secret.derive(CHAIN_KEY_PURPOSE)), stream ?? null);
  for (const p of report.problems) {
    const where = [
      p.position === null ? null : `position ${p.position}`,
      p.streamId === null ? null : `stream ${p.streamId}`,
      p.version === null ? null : `version ${p.version}`,
    ].filter(Boolean);
    output.out(`${p.kind}: ${where.join(' ')}: ${p.detail}`);
  }
  output.out(
    report.problems.length === 0
      ? `ok: ${report.checked} events checked${stream === undefined ? '' : ` in stream ${stream}`}; every chain is intact`
      : `TAMPERED: ${report.problems.length} problem(s) found in ${report.checked} events checked`,
  );
  return report.problems.length === 0 ? 0 : 1;
}
