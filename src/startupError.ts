/** Which step of the start failed. */
export type StartupFailure = 'bad_configuration' | 'data_folder' | 'embedded_postgres' | 'database_unreachable' | 'schema' | 'listen';

/** What a start-up failure says: what failed, why, and what the operator can do about it. */
export interface StartupProblem {
  code: StartupFailure;
  failed: string;
  reason: string;
  remedy: string;
}

/**
 * A start that failed for a reason the operator can act on (not a bug). Its message is one
 * line, `<what failed>: <why>; <what to do>`, which the `auren` command prints alone: a
 * stack trace would bury the one sentence that matters.
 */
export class StartupError extends Error {
  readonly code: StartupFailure;
  /** Exit code of the `auren` command: 2 for bad configuration, 1 otherwise. */
  readonly exitCode: number;

  constructor(problem: StartupProblem, options?: ErrorOptions) {
    super(oneLine(`${problem.failed}: ${problem.reason}; ${problem.remedy}`), options);
    this.name = 'StartupError';
    this.code = problem.code;
    this.exitCode = problem.code === 'bad_configuration' ? 2 : 1;
  }
}

/** Folds text (a PostgreSQL message, an error with a DETAIL) onto one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
