import { setTimeout as sleep } from 'node:timers/promises';
import type { PostgresBinaries } from './binaries.js';
import { ProgramFailed, startProgram } from './programs.js';
import type { RunAs } from './programs.js';
import type { Logger } from '../../log.js';

/** A running postmaster. */
export interface RunningServer {
  /** Fast shutdown (SIGINT: open sessions are ended, then a checkpoint); resolves once it has exited. */
  stop(): Promise<void>;
}

/** Where and how to run the server. */
export interface ServerOptions {
  binaries: PostgresBinaries;
  /** The cluster folder, by its real path (as root the postgres user cannot follow a path through root's folders). */
  pgdata: string;
  port: number;
  runAs: RunAs;
  /** How long recovery may take before the start is given up. */
  readyTimeoutMs: number;
  log: Logger;
}

const READY = /database system is ready to accept connections/;
// After this, a server that ignores the fast shutdown gets an immediate one (SIGQUIT).
const STOP_TIMEOUT_MS = 30_000;

/**
 * Starts the postmaster and resolves once it accepts connections; rejects with ProgramFailed
 * carrying its last words when it exits or hangs first (nothing is left running then).
 *
 * It runs in a process group of its own: Ctrl-C in a terminal signals the whole foreground
 * group, and the server must stay up while the service drains open calls, then be stopped by
 * it. Should this process exit without stopping it, an exit hook sends the fast shutdown
 * (no hook runs when the process is killed by a signal it does not handle: cli.ts handles
 * SIGINT and SIGTERM from the start).
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  let becameReady!: () => void;
  const ready = new Promise<void>((resolve) => (becameReady = resolve));
  const program = startProgram(
    options.binaries.postgres,
    [
      '-D',
      options.pgdata,
      '-p',
      String(options.port),
      // Only this machine may connect, over TCP; no socket file to place anywhere.
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      // Bare English messages: the readiness line and failures are read from them.
      '-c',
      'lc_messages=C',
      '-c',
      'log_line_prefix=',
    ],
    options.runAs,
    log,
    { detached: true, onLine: (line) => READY.test(line) && becameReady() },
  );
  const { child } = program;
  let exited = false;
  void program.closed.then(() => (exited = true));
  // Also while it starts: a signal then ends this process at once (see cli.ts).
  const killOnExit = () => child.kill('SIGINT');
  process.once('exit', killOnExit);

  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    ready.then(() => 'ready' as const),
    program.closed.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, options.readyTimeoutMs, 'timeout'))),
  ]);
  clearTimeout(timer);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (exited) return;
      child.kill('SIGINT');
      const late = await Promise.race([program.closed.then(() => false), sleep(STOP_TIMEOUT_MS, true, { ref: false })]);
      if (late) {
        log.warn({ timeoutMs: STOP_TIMEOUT_MS }, 'the embedded PostgreSQL did not stop in time: immediate shutdown');
        child.kill('SIGQUIT');
        await program.closed;
      }
    })();
    return stopping;
  };

  if (outcome === 'exited') {
    process.off('exit', killOnExit);
    throw new ProgramFailed('postgres', await program.closed);
  }
  if (outcome === 'timeout') {
    await stop();
    throw new ProgramFailed('postgres', `not ready after ${options.readyTimeoutMs} ms: ${program.output.reason()}`);
  }
  void program.closed.then((how) => {
    if (!stopping) log.error({ reason: how }, 'the embedded PostgreSQL exited unexpectedly');
  });
  return { stop };
}
