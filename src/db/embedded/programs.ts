import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Account } from './postgresUser.js';
import { createProgramOutput } from './output.js';
import type { ProgramOutput } from './output.js';
import type { Logger } from '../../log.js';

/** How the PostgreSQL programs run: as which account (root: postgres; else this process's), from which folder. */
export interface RunAs {
  account: Account | undefined;
  /** A folder the account can enter: a server started by root cannot stay in a 0700 folder of root's. */
  cwd: string;
}

/** A PostgreSQL program that could not be run or did not succeed; `reason` is one line from its output. */
export class ProgramFailed extends Error {
  constructor(
    readonly program: string,
    readonly reason: string,
  ) {
    super(`${program} failed: ${reason}`);
    this.name = 'ProgramFailed';
  }
}

/** A started PostgreSQL program whose output is logged at debug level and kept for failures. */
export interface Program {
  child: ChildProcess;
  output: ProgramOutput;
  /** Resolves once the program has ended and its output is read (also when it could not start), with one line saying how: why, when it failed. */
  closed: Promise<string>;
}

/**
 * Starts a PostgreSQL program. Its environment is small and fixed: English messages (its
 * output is read, for readiness and for failures) and nothing of the service's own settings.
 * Every 'error' event is handled: a program that cannot be started is a failure with a
 * reason, never an unhandled event.
 */
export function startProgram(
  file: string,
  args: string[],
  runAs: RunAs,
  log: Logger,
  options: { detached?: boolean; onLine?: (line: string) => void } = {},
): Program {
  const name = file.split('/').at(-1)!;
  const output = createProgramOutput((line) => {
    log.debug({ [name]: line }, 'embedded postgres');
    options.onLine?.(line);
  });
  const child = spawn(file, args, {
    cwd: runAs.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...(process.env.TZ ? { TZ: process.env.TZ } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
    ...(runAs.account ?? {}),
  });
  child.stdout?.on('data', (chunk: Buffer) => output.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.write(chunk));
  const closed = new Promise<string>((resolve) => {
    child.on('error', (error) => resolve(`cannot run ${file}: ${error.message}`));
    child.once('close', (code, signal) => resolve(`${output.reason()} (exit ${signal ?? code})`));
  });
  return { child, output, closed };
}

/** Runs a PostgreSQL program to its end; rejects with ProgramFailed unless it exits with 0. */
export async function runProgram(file: string, args: string[], runAs: RunAs, log: Logger): Promise<void> {
  const program = startProgram(file, args, runAs, log);
  const outcome = await program.closed;
  if (program.child.exitCode !== 0) throw new ProgramFailed(file.split('/').at(-1)!, outcome);
}
