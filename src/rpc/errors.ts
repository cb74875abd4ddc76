import { Code, ConnectError } from '@connectrpc/connect';
import type { Interceptor } from '@connectrpc/connect';
import { ConnectionError, SlonikError } from 'slonik';
import { DuplicateEventId, EventNotFound, InvalidArgument, StreamNotFound, WrongExpectedVersion } from '../events/errors.js';
import type { Logger } from '../log.js';
import { MemoryDeleted, MemoryNotFound, SearchModeUnavailable, WrongMemoryVersion } from '../memory/errors.js';

/** Maps a domain error to the status code clients see; anything unexpected is INTERNAL and logged. */
export function toConnectError(error: unknown, log: Logger, procedure: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof InvalidArgument) return new ConnectError(error.message, Code.InvalidArgument);
  if (error instanceof WrongExpectedVersion) return new ConnectError(error.message, Code.Aborted);
  if (error instanceof DuplicateEventId) return new ConnectError(error.message, Code.AlreadyExists);
  if (error instanceof StreamNotFound || error instanceof EventNotFound || error instanceof MemoryNotFound) return new ConnectError(error.message, Code.NotFound);
  if (error instanceof WrongMemoryVersion) return new ConnectError(error.message, Code.Aborted);
  if (error instanceof MemoryDeleted || error instanceof SearchModeUnavailable) return new ConnectError(error.message, Code.FailedPrecondition);
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

function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code ?? (error instanceof SlonikError ? (error.cause as { code?: unknown } | undefined)?.code : undefined);
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001'].includes(code);
}
