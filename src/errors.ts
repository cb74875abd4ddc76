/**
 * The status of a refused request, named as gRPC and Connect name them. Domain errors carry
 * one; `rpc/errors.ts` turns it into the transport's code through a table.
 */
export type ErrorCode = 'invalid_argument' | 'not_found' | 'already_exists' | 'aborted' | 'failed_precondition' | 'unavailable';

/**
 * An error that is the caller's answer, not a fault of the service: it names its status code,
 * a stable machine-readable reason (`google.rpc.ErrorInfo.reason`) and the facts a client may
 * act on (`ErrorInfo.metadata`, e.g. the stream's actual version).
 */
export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly reason: string;
  /** Facts of the case, as strings (ErrorInfo metadata). */
  abstract details(): Record<string, string>;
}

/** A request refused because a field is malformed or out of bounds. */
export class InvalidArgument extends DomainError {
  readonly code = 'invalid_argument';
  readonly reason = 'INVALID_ARGUMENT';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'InvalidArgument';
  }
  details() {
    return { field: this.field };
  }
}

/** The database cannot be reached (refused, reset, shutting down): the caller should retry later. */
export class DatabaseUnavailable extends DomainError {
  readonly code = 'unavailable';
  readonly reason = 'DATABASE_UNAVAILABLE';
  constructor(cause: unknown) {
    super('the database is unavailable; retry later', { cause });
    this.name = 'DatabaseUnavailable';
  }
  details() {
    return {};
  }
}
