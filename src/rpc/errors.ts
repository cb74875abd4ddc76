import { Code, ConnectError } from '@connectrpc/connect';
import type { Interceptor } from '@connectrpc/connect';
import { ConnectionError, SlonikError } from 'slonik';
import { DuplicateEventId, EventNotFound, InvalidArgument, StreamNotFound, WrongExpectedVersion } from '../events/errors.js';
import type { Logger } from '../log.js';

/** Maps a domain error to the status code clients see; anything unexpected is INTERNAL and logged. */
export function toConnectError(error: unknown, log: Logger, procedure: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof InvalidArgument) return new ConnectError(error.message, Code.InvalidArgument);
  if (error instanceof WrongExpectedVersion) return new ConnectError(error.message, Code.Aborted);
  if (error instanceof DuplicateEventId) return new ConnectError(error.message, Code.AlreadyExists);
  if (error instanceof StreamNotFound || error instanceof EventNotFound) return new ConnectError(error.message, Code.NotFound);
  if (error instanceof ConnectionError || isConnectionFailure(error)) {
    log.warn({ procedure, err: error }, 'database unavailable');
    return new ConnectError('the database is unavailable; retry later', Code.Unavailable);
  }
  log.error({ procedure, err: error }, 'unexpected error');
  return new ConnectError('internal error', Code.Internal);
}

/** An interceptor that turns every error a handler throws into its status code, in one place. */
export function errorMapping(log: Logger): Interceptor {
  return (next) => async (request) => {
    try {
      return await next(request);
    } catch (error) {
      throw toConnectError(error, log, request.method.name);
    }
  };
}

function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code ?? (error instanceof SlonikError ? (error.cause as { code?: unknown } | undefined)?.code : undefined);
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001'].includes(code);
}
