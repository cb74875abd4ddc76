import type { Principal } from '../auth/principal.js';
import type {
  DescMethod,
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape,
} from '@bufbuild/protobuf';

/** How a client's messages are encoded: protobuf binary, or JSON. */
export type Wire = 'binary' | 'json';

/**
 * What a transport knows of a call, whichever carried it (connect-node on PORT, grpc-js on
 * GRPC_PORT): each transport has a thin adapter that builds it.
 */
export interface TransportCall {
  /** A request header (gRPC metadata) by lower-case name; undefined when absent. */
  header(name: string): string | undefined;
  /**
   * Aborts when the caller gives up (its client cancels or leaves, its deadline passes) or the
   * server cuts the call at stop; its reason is then a Cancelled or DeadlineExceeded domain
   * error. Hand it to every domain call that takes one, so abandoned work stops.
   */
  readonly signal: AbortSignal;
  /** How the response is encoded: binary events are sent with pre-encoded documents (convert.ts). */
  readonly wire: Wire;
  /** The call's request id (`x-request-id`, given or generated), when the transport observes calls. */
  readonly requestId?: string | undefined;
  /** The client's address (without its port), as the listener saw it: what refusals are counted by. */
  readonly peer?: string | undefined;
}

/**
 * What a handler may know of the call it serves: the transport's call and who is calling,
 * authenticated by the gate (src/auth/gate.ts) before any handler runs. Handlers are written
 * once against this.
 */
export interface Call extends TransportCall {
  /** The caller, as its key says: stamped on what the call appends, checked against what it touches. */
  readonly principal: Principal;
}

/** One RPC, transport-neutral: a unary method answers once, a server-streaming one yields messages. */
export type Handler<M extends DescMethod> =
  M extends DescMethodUnary<infer I, infer O>
    ? (request: MessageShape<I>, call: Call) => Promise<MessageInitShape<O>>
    : M extends DescMethodServerStreaming<infer I, infer O>
      ? (request: MessageShape<I>, call: Call) => AsyncIterable<MessageInitShape<O>>
      : never;

/** Every RPC of a service, each written once; the transports' adapters serve them. */
export type Handlers<S extends DescService> = { [K in keyof S['method']]: Handler<S['method'][K]> };

/** The handler of one method of a service as the adapters call it: with the transport's call, before authentication. */
export type AnyHandler = (request: never, call: TransportCall) => Promise<unknown> | AsyncIterable<unknown>;

/** Every RPC of a service as the transports serve them: behind the gate, which authenticates each call (src/auth/gate.ts). */
export type ServedHandlers<S extends DescService> = { [K in keyof S['method']]: AnyHandler };

/** Looks up the handler of `method` among `handlers`. */
export function handlerOf<S extends DescService>(handlers: ServedHandlers<S>, method: DescMethod): AnyHandler {
  const handler = (handlers as Record<string, AnyHandler | undefined>)[method.localName];
  if (!handler) throw new Error(`no handler for ${method.parent.typeName}/${method.name}`);
  return handler;
}
