import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The checkout these tests run from. */
export const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

/** How an `auren` process ended, with everything it wrote. */
export interface AurenExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Where and how to run `auren`. */
export interface AurenOptions {
  /** The checkout to run (its src/cli.ts through its tsx); also the working folder. */
  checkout?: string;
  /** Configuration variables; the test's own environment is not passed on. */
  env?: Record<string, string>;
  /**
   * Run as root without the capabilities that let root bypass file permissions (util-linux's
   * setpriv drops them from the bounding set): root is then refused like any user where the
   * modes say no, yet still reads its own checkout, even in a 0700 folder.
   */
  withoutPermissionOverride?: boolean;
}

/** A running `auren serve`. */
export interface RunningAuren {
  /** Base URL of its port, read from its "serving" log line. */
  url: string;
  /** Its GRPC_PORT, read from its log line. */
  grpcPort: number;
  /** The admin key it made and showed on stderr, when this was the database's first start. */
  firstAdminKey: string | undefined;
  /** Its log lines so far, parsed. */
  logs(): Record<string, unknown>[];
  /** Sends the signal and resolves once it exited. */
  stop(signal?: NodeJS.Signals): Promise<AurenExit>;
}

function launch(
  args: string[],
  options: AurenOptions,
): { child: ChildProcess; exited: Promise<AurenExit>; stdout: () => string; stderr: () => string } {
  const checkout = options.checkout ?? REPOSITORY;
  // What `npm start` runs: node with tsx's loader on the TypeScript sources, from the checkout.
  // One process: the tsx command would run the service as its child and, when a signal reaches
  // it alone, SIGKILL that child unless it reports the signal within 30 ms — under load, the
  // graceful stop never ran (issue 10: SIGTERM failed calls that had committed).
  const command = [process.execPath, '--import', 'tsx', 'src/cli.ts', ...args];
  if (options.withoutPermissionOverride) command.unshift('setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--');
  const child = spawn(command[0]!, command.slice(1), {
    cwd: checkout,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, which SIGKILL reaches whole.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<AurenExit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `auren <args>` to its end. */
export function runAuren(args: string[], options: AurenOptions = {}): Promise<AurenExit> {
  return launch(args, options).exited;
}

/** Parses JSON log lines (pino), skipping anything else. */
export function logLines(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Starts `auren serve` and resolves once it serves (PORT=0 unless set: the port is read from its log). */
export async function startAuren(options: AurenOptions = {}, timeoutMs = 120_000): Promise<RunningAuren> {
  const { child, exited, stdout, stderr } = launch(['serve'], {
    ...options,
    // No embedded Chroma unless a test asks for it (the first-run test does): a service killed
    // and started again at once would find the last one's Chroma still holding .auren/chroma.
    env: { PORT: '0', GRPC_PORT: '0', CHROMA_URL: 'off', ...options.env },
  });
  const deadline = Date.now() + timeoutMs;
  let done: AurenExit | undefined;
  void exited.then((exit) => (done = exit));
  for (;;) {
    const lines = logLines(stdout());
    const serving = lines.find((line) => String(line.msg).startsWith('PORT: serving'));
    const grpcServing = lines.find((line) => String(line.msg).startsWith('GRPC_PORT: serving'));
    // A first start shows its admin key on stderr, a pipe of its own: wait for it once the log says so.
    const madeKey = lines.some((line) => String(line.msg).startsWith('made the first admin key'));
    const keyShown = /auren_[0-9a-f]{32}_[A-Za-z0-9_-]{43}/.test(stderr());
    if (serving && grpcServing && (!madeKey || keyShown)) {
      return {
        url: `http://127.0.0.1:${String(serving.port)}`,
        grpcPort: Number(grpcServing.port),
        firstAdminKey: /auren_[0-9a-f]{32}_[A-Za-z0-9_-]{43}/.exec(stderr())?.[0],
        logs: () => logLines(stdout()),
        stop: async (signal = 'SIGTERM') => {
          if (signal === 'SIGKILL') process.kill(-child.pid!, signal);
          else child.kill(signal);
          return exited;
        },
      };
    }
    if (done) throw new Error(`auren exited before serving (code ${done.code}): ${done.stderr}${done.stdout}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      const exit = await exited;
      throw new Error(`auren did not serve within ${timeoutMs} ms: ${exit.stderr}${exit.stdout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
