import { create } from '@bufbuild/protobuf';
import type { DescMessage, Message } from '@bufbuild/protobuf';
import { isDatabaseUnavailable } from '../db/pool.js';
import { Cancelled, DatabaseUnavailable, DomainError, InvalidArgument } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { BadRequestSchema, ErrorInfoSchema } from '../gen/google/rpc/error_details_pb.js';
import type { Logger } from '../log.js';

/** The ErrorInfo domain of every reason this service sends. */
export const ERROR_DOMAIN = 'auren.v1';

/**
 * gRPC status codes (google.rpc.Code) this service answers with. Connect's `Code` and
 * grpc-js's `status` use the same numbers, so both transports send these as they are.
 */
export const StatusCode = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

// A domain error's code to the status code: the one table of them.
const CODES: Record<ErrorCode, number> = {
  invalid_argument: StatusCode.INVALID_ARGUMENT,
  not_found: StatusCode.NOT_FOUND,
  already_exists: StatusCode.ALREADY_EXISTS,
  aborted: StatusCode.ABORTED,
  failed_precondition: StatusCode.FAILED_PRECONDITION,
  unavailable: StatusCode.UNAVAILABLE,
  cancelled: StatusCode.CANCELLED,
  deadline_exceeded: StatusCode.DEADLINE_EXCEEDED,
  unauthenticated: StatusCode.UNAUTHENTICATED,
  permission_denied: StatusCode.PERMISSION_DENIED,
  resource_exhausted: StatusCode.RESOURCE_EXHAUSTED,
};

/** One detail of a status (google.rpc.ErrorInfo, google.rpc.BadRequest) with its schema, as both transports pack it. */
export interface StatusDetail {
  desc: DescMessage;
  value: Message;
}

/** A refusal as every transport sends it: the status code, its message and google.rpc details. */
export interface RpcStatus {
  code: number;
  message: string;
  details: StatusDetail[];
}

/**
 * The status clients see for an error a handler threw: a domain error by its code, with a
 * `google.rpc.ErrorInfo` (reason and facts) and, for a bad field, a `google.rpc.BadRequest`;
 * an error that follows the caller giving up (`abandoned`: the reason it gave up) is that
 * reason; anything unexpected is INTERNAL and logged.
 */
export function statusOf(error: unknown, log: Logger, procedure: string, abandoned?: DomainError): RpcStatus {
  if (!(error instanceof DomainError)) {
    if (abandoned) {
      // A client that went away is not a server error.
      log.debug({ procedure, err: error }, 'the caller gave up');
      return domainStatus(abandoned);
    }
    if (isDatabaseUnavailable(error)) error = new DatabaseUnavailable(error);
  }
  if (error instanceof DomainError) {
    if (error instanceof DatabaseUnavailable) log.warn({ procedure, err: error.cause }, 'database unavailable');
    return domainStatus(error);
  }
  log.error({ procedure, err: error }, 'unexpected error');
  return { code: StatusCode.INTERNAL, message: 'internal error', details: [] };
}

/** A domain error as the status clients see, with its details. */
export function domainStatus(error: DomainError): RpcStatus {
  const details: StatusDetail[] = [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: error.reason, domain: ERROR_DOMAIN, metadata: error.details }) },
  ];
  if (error instanceof InvalidArgument) {
    const fieldViolations = [{ field: error.field, description: error.problem, reason: error.reason }];
    details.push({ desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations }) });
  }
  return { code: CODES[error.code], message: error.message, details };
}

/** Why a caller's signal aborted, as a domain error: its reason when it is one, else Cancelled. */
export function abandonment(signal: AbortSignal | undefined): DomainError | undefined {
  if (!signal?.aborted) return undefined;
  const reason: unknown = signal.reason;
  return reason instanceof DomainError ? reason : new Cancelled();
}
