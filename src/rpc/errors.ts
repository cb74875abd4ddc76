import { Code, ConnectError } from '@connectrpc/connect';
import type { Interceptor } from '@connectrpc/connect';
import { isDatabaseUnavailable } from '../db/pool.js';
import { DatabaseUnavailable, DomainError, InvalidArgument } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { BadRequestSchema, ErrorInfoSchema } from '../gen/google/rpc/error_details_pb.js';
import type { Logger } from '../log.js';

/** The ErrorInfo domain of every reason this service sends. */
export const ERROR_DOMAIN = 'auren.v1';

// A domain error's code to the transport's: the one table of them.
const CODES = new Map<ErrorCode, Code>([
  ['invalid_argument', Code.InvalidArgument], ['not_found', Code.NotFound], ['already_exists', Code.AlreadyExists],
  ['aborted', Code.Aborted], ['failed_precondition', Code.FailedPrecondition], ['unavailable', Code.Unavailable],
  ['cancelled', Code.Canceled], ['deadline_exceeded', Code.DeadlineExceeded],
]);

/**
 * Maps an error to the status clients see: a domain error by its code, with a
 * `google.rpc.ErrorInfo` (reason and facts) and, for a bad field, a `google.rpc.BadRequest`;
 * anything unexpected is INTERNAL and logged.
 */
export function toConnectError(error: unknown, log: Logger, procedure: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (!(error instanceof DomainError) && isDatabaseUnavailable(error)) error = new DatabaseUnavailable(error);
  if (error instanceof DomainError) {
    if (error instanceof DatabaseUnavailable) log.warn({ procedure, err: error.cause }, 'database unavailable');
    return domainConnectError(error);
  }
  log.error({ procedure, err: error }, 'unexpected error');
  return new ConnectError('internal error', Code.Internal);
}

/** A domain error as the status clients see, with its details. */
export function domainConnectError(error: DomainError): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    { desc: ErrorInfoSchema, value: { reason: error.reason, domain: ERROR_DOMAIN, metadata: error.details } },
  ];
  if (error instanceof InvalidArgument) {
    details.push({ desc: BadRequestSchema, value: { fieldViolations: [{ field: error.field, description: error.problem, reason: error.reason }] } });
  }
  return new ConnectError(error.message, CODES.get(error.code)!, undefined, details);
}

/** An interceptor that turns every error a handler throws into its status code, in one place. */
export function errorMapping(log: Logger): Interceptor {
  return (next) => async (request) => {
    try {
      const response = await next(request);
      if (!response.stream) return response;
      // A streaming handler fails while its messages are read, after next() returned.
      return { ...response, message: mapStreamErrors(response.message, log, request.method.name, request.signal) };
    } catch (error) {
      throw mapError(error, log, request.method.name, request.signal);
    }
  };
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, log: Logger, procedure: string, signal: AbortSignal): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw mapError(error, log, procedure, signal);
  }
}

// A client that went away is not a server error.
function mapError(error: unknown, log: Logger, procedure: string, signal: AbortSignal): ConnectError {
  if (signal.aborted && !(error instanceof ConnectError)) {
    log.debug({ procedure, err: error }, 'client went away');
    return new ConnectError('the client cancelled the call', Code.Canceled);
  }
  return toConnectError(error, log, procedure);
}
