/**
 * The status of a refused request, named as gRPC and Connect name them. Domain errors carry
 * one; `rpc/errors.ts` turns it into the transport's code through a table.
 */
export type ErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'aborted'
  | 'failed_precondition'
  | 'unavailable'
  | 'cancelled'
  | 'deadline_exceeded'
  | 'unauthenticated'
  | 'permission_denied'
  | 'resource_exhausted';

/**
 * An error that is the caller's answer, not a fault of the service: it names its status code,
 * a stable machine-readable reason (`google.rpc.ErrorInfo.reason`) and the facts a client may
 * act on (`ErrorInfo.metadata`, e.g. the stream's actual version), as strings.
 */
export abstract class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
    message: string,
    readonly details: Record<string, string>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request refused because a field is malformed or out of bounds. */
export class InvalidArgument extends DomainError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super('invalid_argument', 'INVALID_ARGUMENT', `${field}: ${problem}`, { field });
  }
}

/** The database cannot be reached (refused, reset, shutting down): the caller should retry later. */
export class DatabaseUnavailable extends DomainError {
  constructor(cause: unknown) {
    super('unavailable', 'DATABASE_UNAVAILABLE', 'the database is unavailable; retry later', {}, { cause });
  }
}

/** The caller gave up (its client cancelled or went away): the work stopped, nothing was written after. */
export class Cancelled extends DomainError {
  constructor() {
    super('cancelled', 'CANCELLED', 'the client cancelled the call', {});
  }
}

/** The caller's deadline passed: the work stopped, nothing was written after. */
export class DeadlineExceeded extends DomainError {
  constructor() {
    super('deadline_exceeded', 'DEADLINE_EXCEEDED', 'the deadline passed before the call finished; nothing was written after it', {});
  }
}

/** The server is stopping and ended the call (a live tail): the caller should resume elsewhere or later. */
export class ServerStopping extends DomainError {
  constructor(message: string) {
    super('unavailable', 'SERVER_STOPPING', message, {});
  }
}

/** A limit of the service's resources is reached (tails, connections): retry later, or elsewhere. */
export class ResourceExhausted extends DomainError {
  constructor(reason: string, message: string, details: Record<string, string> = {}) {
    super('resource_exhausted', reason, message, details);
  }
}
