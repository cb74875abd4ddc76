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
 * What a handler may know of the call it serves, whichever transport carried it (connect-node
 * on PORT, grpc-js on GRPC_PORT): handlers are written once against this, and each transport
 * has a thin adapter that builds it.
 */
export interface Call {
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

/** The handler of one method of a service, untyped: what the adapters call. */
export type AnyHandler = (request: never, call: Call) => Promise<unknown> | AsyncIterable<unknown>;

/** Looks up the handler of `method` among `handlers`. */
export function handlerOf<S extends DescService>(handlers: Handlers<S>, method: DescMethod): AnyHandler {
  const handler = (handlers as Record<string, AnyHandler | undefined>)[method.localName];
  if (!handler) throw new Error(`no handler for ${method.parent.typeName}/${method.name}`);
  return handler;
}
