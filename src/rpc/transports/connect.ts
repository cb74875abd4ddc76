import type { DescMessage, DescMethodUnary, DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, createContextKey, createContextValues } from '@connectrpc/connect';
import type { ConnectRouter, ContextValues, HandlerContext, Interceptor } from '@connectrpc/connect';
import { Cancelled, DeadlineExceeded, InvalidArgument } from '../../errors.js';
import type { DomainError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { handlerOf } from '../call.js';
import type { ServedHandlers, TransportCall } from '../call.js';
import { domainStatus, statusOf } from '../errors.js';
import type { RpcStatus } from '../errors.js';
import { checkJsonBody } from '../jsonCheck.js';
import { checkMessage } from '../requestCheck.js';
import { REQUEST_ID_HEADER } from '../observeCall.js';
import type { CallObserver, ObservedCall } from '../observeCall.js';

// The connect-node adapter (PORT: Connect, gRPC and gRPC-Web): each handler is registered on
// connect's router with the method's strict JSON options; the interceptors below check every
// request and map every error, as the grpc-js adapter does on GRPC_PORT.

/** Serves a service's handlers on connect-node's router, each method with its own strict JSON reading options. */
export function serveOnConnect<S extends DescService>(router: ConnectRouter, service: S, handlers: ServedHandlers<S>): void {
  for (const method of service.methods) {
    const handler = handlerOf(handlers, method);
    const impl = (request: never, context: HandlerContext) => handler(request, connectCall(context));
    router.rpc(method as DescMethodUnary, impl as never, { jsonOptions: jsonReadOptions(method.input) });
  }
}

/** The transport-neutral call of a connect-node handler context. */
export function connectCall(context: HandlerContext): TransportCall {
  let signal: AbortSignal | undefined;
  return {
    header: (name) => context.requestHeader.get(name) ?? undefined,
    requestId: context.values.get(OBSERVED)?.requestId,
    peer: context.values.get(PEER),
    wire: (context.requestHeader.get('content-type') ?? '').includes('json') ? 'json' : 'binary',
    // Made on first use: most calls never hand a signal on, and connect-node's calls are costly enough.
    get signal() {
      if (!signal) {
        const controller = new AbortController();
        const abort = () => controller.abort(gaveUp(context.signal.reason));
        if (context.signal.aborted) abort();
        else context.signal.addEventListener('abort', abort, { once: true });
        signal = controller.signal;
      }
      return signal;
    },
  };
}

// connect-node aborts a call's signal with a ConnectError: DEADLINE_EXCEEDED when its deadline
// passed, another code when the client left.
// connect-node also aborts it when the call is done: the reasons are values, one each, so that
// this costs no stack trace.
function gaveUp(reason: unknown): DomainError {
  return reason instanceof ConnectError && reason.code === Code.DeadlineExceeded ? DEADLINE_PASSED : CLIENT_LEFT;
}
const DEADLINE_PASSED = new DeadlineExceeded();
const CLIENT_LEFT = new Cancelled();

/** A status as connect-node sends it. */
export function connectError(status: RpcStatus): ConnectError {
  const details = status.details.map(({ desc, value }) => ({ desc, value }));
  return new ConnectError(status.message, status.code as Code, undefined, details as ConstructorParameters<typeof ConnectError>[3]);
}

/**
 * JSON reading options for one method (see jsonCheck.ts): a body that breaks the JSON wire's
 * rules is refused naming the field before protobuf-es reads it.
 */
function jsonReadOptions(input: DescMessage) {
  return {
    ignoreUnknownFields: false,
    textDecoder: {
      decode(bytes?: Uint8Array): string {
        try {
          return checkJsonBody(input, bytes);
        } catch (error) {
          throw error instanceof InvalidArgument ? connectError(domainStatus(error)) : error;
        }
      },
    },
  };
}

const UNDECODABLE = 'parse binary: ';
let undecodableInstalled = false;

/**
 * connect-es 2.1 answers a request body that is not protobuf with INTERNAL ("parse binary: …",
 * made by its binary serialization), as if the server had failed. It is the client's error:
 * INVALID_ARGUMENT naming the request, as GRPC_PORT answers the same bytes and as PORT answers
 * bad JSON. connect-es parses the body before any interceptor runs, so the status is corrected
 * where connect-es makes it: ConnectError's constructor assigns `rawMessage`, then `code`, then
 * `details`, and an accessor on the prototype sees the last assignment. The test "undecodable
 * bodies" in test/rpc/badInputSweep.int.spec.ts fails should a connect-es upgrade change this.
 */
export function installUndecodableRequestStatus(): void {
  if (undecodableInstalled) return;
  undecodableInstalled = true;
  Object.defineProperty(ConnectError.prototype, 'details', {
    configurable: true,
    set(this: ConnectError, details: ConnectError['details']) {
      let value = details;
      if (this.code === Code.Internal && this.rawMessage.startsWith(UNDECODABLE) && details.length === 0) {
        const status = domainStatus(
          new InvalidArgument('request', `is not a valid protobuf message (${this.rawMessage.slice(UNDECODABLE.length)})`),
        );
        const corrected = connectError(status);
        Object.assign(this, { code: corrected.code, rawMessage: corrected.rawMessage, message: corrected.message });
        value = corrected.details;
      }
      Object.defineProperty(this, 'details', { value, writable: true, enumerable: true, configurable: true });
    },
  });
}

/** An interceptor that turns every error a handler throws into its status, in one place (statusOf). */
export function errorMapping(appLog: Logger): Interceptor {
  return (next) => async (request) => {
    // The call's log carries its request id, when observeCalls runs first.
    const log = request.contextValues.get(OBSERVED)?.log ?? appLog;
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

// The client's address, taken from the request's socket by peerContext (connect-node's contextValues).
const PEER = createContextKey<string | undefined>(undefined, { description: 'auren client address' });

/** connect-node's `contextValues`: each call's context with the client's address in it. */
export function peerContext(request: { socket?: { remoteAddress?: string | undefined } | null }): ContextValues {
  return createContextValues().set(PEER, request.socket?.remoteAddress?.replace(/^::ffff:/, ''));
}

// The observed call, handed from observeCalls to the interceptors and the handler's Call.
const OBSERVED = createContextKey<ObservedCall | undefined>(undefined, { description: 'auren observed call' });

/**
 * The first interceptor: counts, times, logs and traces every call (observeCall.ts, shared
 * with GRPC_PORT's adapter) with the status the client gets, and echoes its request id.
 */
export function observeCalls(observer: CallObserver): Interceptor {
  return (next) => async (request) => {
    const observed = observer.begin({
      method: request.method,
      listener: 'PORT',
      protocol: protocolOf(request.header.get('content-type') ?? ''),
      header: (name) => request.header.get(name) ?? undefined,
    });
    request.contextValues.set(OBSERVED, observed);
    try {
      const response = await observed.run(() => next(request));
      response.header.set(REQUEST_ID_HEADER, observed.requestId);
      if (!response.stream) {
        observed.end(0);
        return response;
      }
      return { ...response, message: observeStream(response.message, observed, request.signal) };
    } catch (error) {
      const status = ConnectError.from(error);
      status.metadata.set(REQUEST_ID_HEADER, observed.requestId);
      observed.end(status.code);
      throw status;
    }
  };
}

async function* observeStream<T>(messages: AsyncIterable<T>, observed: ObservedCall, signal: AbortSignal): AsyncIterable<T> {
  // A stream left before its end (the client went away) counts as CANCELLED.
  let code: number = Code.Canceled;
  try {
    for await (const message of messages) {
      observed.sent();
      yield message;
    }
    // A tail ends quietly when its client leaves: the call's signal tells why it ended.
    code = signal.aborted ? ConnectError.from(signal.reason).code : 0;
  } catch (error) {
    code = ConnectError.from(error).code;
    throw error;
  } finally {
    observed.end(code);
  }
}

function protocolOf(contentType: string): string {
  if (contentType.startsWith('application/grpc-web')) return 'grpc-web';
  if (contentType.startsWith('application/grpc')) return 'grpc';
  return 'connect';
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, log: Logger, procedure: string, signal: AbortSignal): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw mapError(error, log, procedure, signal);
  }
}

function mapError(error: unknown, log: Logger, procedure: string, signal: AbortSignal): ConnectError {
  // connect-node's own refusals (a body it cannot read, a message too large) are already statuses.
  if (error instanceof ConnectError) return error;
  return connectError(statusOf(error, log, procedure, signal.aborted ? gaveUp(signal.reason) : undefined));
}

/** An interceptor that checks every request message (unary or streamed) against the wire rules before its handler runs. */
export function requestChecks(): Interceptor {
  return (next) => async (request) => {
    if (!request.stream) {
      checkMessage(request.method.input, request.message as Record<string, unknown>, '');
      return next(request);
    }
    const input = request.method.input;
    const messages = request.message;
    async function* checked() {
      for await (const message of messages) {
        checkMessage(input, message as Record<string, unknown>, '');
        yield message;
      }
    }
    return next({ ...request, message: checked() });
  };
}
