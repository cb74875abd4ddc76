import { create, fromBinary, isMessage, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, DescService } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { Metadata } from '@grpc/grpc-js';
import type {
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  StatusObject,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { Cancelled, DeadlineExceeded, InvalidArgument } from '../../errors.js';
import type { DomainError } from '../../errors.js';
import { StatusSchema } from '../../gen/google/rpc/status_pb.js';
import type { Logger } from '../../log.js';
import { handlerOf } from '../call.js';
import type { AnyHandler, ServedHandlers, TransportCall } from '../call.js';
import { statusOf } from '../errors.js';
import type { RpcStatus } from '../errors.js';
import { binaryReadOptions, checkMessage } from '../requestCheck.js';
import { decodeAppendRequest } from '../appendWire.js';
import { decodeStoreMemoryRequest, encodeMemoryPage, encodeMemoryResponse } from '../memoryWire.js';
import {
  DeleteMemoryResponseSchema,
  GetMemoryResponseSchema,
  ListMemoriesResponseSchema,
  StoreMemoryRequestSchema,
  StoreMemoryResponseSchema,
  UpdateMemoryResponseSchema,
} from '../../gen/auren/v1/memory_pb.js';
import {
  AppendToStreamRequestSchema,
  SubscribeToAllResponseSchema,
  SubscribeToStreamResponseSchema,
} from '../../gen/auren/v1/events_pb.js';
import { encodeTailEvent } from '../tailWire.js';
import { REQUEST_ID_HEADER } from '../observeCall.js';
import type { CallObserver, ObservedCall } from '../observeCall.js';

// The grpc-js adapter (GRPC_PORT): a grpc-js service definition whose per-method codecs are
// protobuf-es's, and thin wrappers that check each request, build the transport-neutral Call,
// run the handler and send its answer or its error as the connect-node adapter does on PORT.

/** A service as grpc-js serves it: paths and codecs per method, and each method's implementation. */
export interface GrpcService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

type SurfaceCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/** Serves a service's handlers on grpc-js; `observer` counts, logs and traces each call as on PORT. */
export function grpcService<S extends DescService>(
  service: S,
  handlers: ServedHandlers<S>,
  log: Logger,
  observer?: CallObserver,
): GrpcService {
  const definition: Record<string, ServiceDefinition[string]> = {};
  const implementation: Record<string, UntypedHandleCall> = {};
  for (const method of service.methods) {
    if (method.methodKind !== 'unary' && method.methodKind !== 'server_streaming') {
      throw new Error(`${method.parent.typeName}/${method.name}: only unary and server-streaming methods are served`);
    }
    const streaming = method.methodKind === 'server_streaming';
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: streaming,
      requestSerialize: encoder(method.input),
      requestDeserialize: decoder(method.input),
      responseSerialize: encoder(method.output),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
    };
    const handler = handlerOf(handlers, method);
    implementation[method.localName] = streaming ? serveStream(method, handler, log, observer) : serveUnary(method, handler, log, observer);
  }
  return { definition, implementation };
}

// The hot requests, read straight from the wire in their plain case (else protobuf-es reads them).
const DIRECT_DECODERS = new Map<string, (bytes: Buffer) => object | undefined>([
  [AppendToStreamRequestSchema.typeName, decodeAppendRequest],
  [StoreMemoryRequestSchema.typeName, decodeStoreMemoryRequest],
]);

/** A request body protobuf-es could not decode: decoders hand it on instead of throwing, which grpc-js would answer INTERNAL. */
class Undecodable {
  constructor(readonly error: InvalidArgument) {}
}

// Requests decoded by a method's own decoder (appendWire.ts, memoryWire.ts), which checks what checkMessage would.
const prechecked = new WeakSet<object>();

function decoder(input: DescMessage): (bytes: Buffer) => unknown {
  const direct = DIRECT_DECODERS.get(input.typeName);
  return (bytes) => {
    const decoded = direct?.(bytes);
    if (decoded) {
      prechecked.add(decoded);
      return decoded;
    }
    try {
      return fromBinary(input, bytes, binaryReadOptions);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return new Undecodable(new InvalidArgument('request', `is not a valid ${input.typeName} message (${reason})`));
    }
  };
}

// The tails' event messages and the answers made of memories, written straight out (tailWire.ts,
// memoryWire.ts) when their events or memories are pre-encoded.
const DIRECT_ENCODERS = new Map<string, (message: unknown) => Buffer | undefined>([
  [SubscribeToAllResponseSchema.typeName, encodeTailEvent],
  [SubscribeToStreamResponseSchema.typeName, encodeTailEvent],
  [GetMemoryResponseSchema.typeName, encodeMemoryResponse],
  [StoreMemoryResponseSchema.typeName, encodeMemoryResponse],
  [UpdateMemoryResponseSchema.typeName, encodeMemoryResponse],
  [DeleteMemoryResponseSchema.typeName, encodeMemoryResponse],
  [ListMemoriesResponseSchema.typeName, encodeMemoryPage],
]);

// Handlers answer with messages or their init shapes; binary events carry pre-encoded documents
// in $unknown (convert.ts), which toBinary writes as they are.
function encoder(desc: DescMessage): (message: unknown) => Buffer {
  const direct = DIRECT_ENCODERS.get(desc.typeName);
  return (message) => {
    const written = direct?.(message);
    if (written) return written;
    const bytes = toBinary(desc, isMessage(message, desc) ? message : create(desc, message as never));
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

// The request as handlers get it: decoded, and checked against the wire rules like on PORT.
function accepted(method: DescMethod, request: unknown): never {
  if (request instanceof Undecodable) throw request.error;
  if (!prechecked.has(request as object)) checkMessage(method.input, request as Record<string, unknown>, '');
  return request as never;
}

function serveUnary(method: DescMethod, handler: AnyHandler, log: Logger, observer: CallObserver | undefined): UntypedHandleCall {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const observed = observe(observer, method, call);
    const adapted = grpcCall(call, observed?.requestId);
    const answer = async () => handler(accepted(method, call.request), adapted) as Promise<unknown>;
    (observed ? observed.run(answer) : answer()).then(
      (response) => {
        adapted.finish();
        if (observed) sendRequestId(call, observed);
        callback(null, response);
      },
      (error: unknown) => {
        adapted.finish();
        const status = statusOf(error, observed?.log ?? log, method.name, gaveUp(call));
        if (observed) sendRequestId(call, observed, status.code);
        callback(grpcError(status));
      },
    );
  };
}

// Starts observing a call.
function observe(observer: CallObserver | undefined, method: DescMethod, call: SurfaceCall): ObservedCall | undefined {
  return observer?.begin({ method, listener: 'GRPC_PORT', protocol: 'grpc', header: (name) => metadataValue(call, name) });
}

// Ends a unary call's observation and echoes its request id in the response headers, sent with
// the answer (sent ahead of it, they would cost a frame of their own).
function sendRequestId(call: SurfaceCall, observed: ObservedCall, code = 0): void {
  observed.end(code);
  const headers = new Metadata();
  headers.set(REQUEST_ID_HEADER, observed.requestId);
  call.sendMetadata(headers);
}

function serveStream(method: DescMethod, handler: AnyHandler, log: Logger, observer: CallObserver | undefined): UntypedHandleCall {
  return (stream: ServerWritableStream<unknown, unknown>) => {
    const observed = observe(observer, method, stream);
    if (observed) {
      // A stream's headers go at once: a tail may send nothing for a long time.
      const headers = new Metadata();
      headers.set(REQUEST_ID_HEADER, observed.requestId);
      stream.sendMetadata(headers);
    }
    const adapted = grpcCall(stream, observed?.requestId);
    const serve = async () => {
      try {
        const messages = handler(accepted(method, stream.request), adapted) as AsyncIterable<unknown>;
        for await (const message of messages) {
          // Leaving the loop returns the handler's iterator: a tail frees its subscription at once.
          if (stream.cancelled || stream.destroyed) break;
          observed?.sent();
          // A client that reads slowly holds the tail here, not in a growing buffer.
          if (!stream.write(message)) await drained(stream);
        }
        adapted.finish();
        // A stream left before its end (the client went away) counts as CANCELLED, as on PORT.
        observed?.end(stream.cancelled || stream.destroyed ? 1 : 0);
        stream.end();
      } catch (error) {
        adapted.finish();
        const status = statusOf(error, observed?.log ?? log, method.name, gaveUp(stream));
        observed?.end(status.code);
        stream.emit('error', grpcError(status));
      }
    };
    void (observed ? observed.run(serve) : serve());
  };
}

// Resolves once the stream takes writes again, or is gone.
// A client that cancels while the server waits for it to read never drains and, in grpc-js,
// never closes the stream either: its 'cancelled' ends the wait too, or the tail would be held
// (and the server's stop with it) for ever.
function drained(stream: ServerWritableStream<unknown, unknown>): Promise<void> {
  if (stream.cancelled || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('cancelled', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('cancelled', done);
  });
}

/** A Call over grpc-js, told when its handler finished. */
interface GrpcCall extends TransportCall {
  /** The handler is done: grpc-js's 'cancelled' at the end of every call no longer means the caller gave up. */
  finish(): void;
}

/** The transport-neutral call of a grpc-js call. */
function grpcCall(call: SurfaceCall, requestId: string | undefined): GrpcCall {
  let signal: AbortSignal | undefined;
  let onCancelled: (() => void) | undefined;
  return {
    header: (name) => metadataValue(call, name),
    wire: 'binary',
    requestId,
    get peer() {
      return peerAddress(call.getPeer());
    },
    // Made on first use. grpc-js emits 'cancelled' when the client cancels or leaves, when the
    // deadline passes (it has then answered DEADLINE_EXCEEDED itself), and when the server is
    // shut down by force.
    get signal() {
      if (!signal) {
        const controller = new AbortController();
        onCancelled = () => controller.abort(gaveUp(call));
        if (call.cancelled) onCancelled();
        else call.once('cancelled', onCancelled);
        signal = controller.signal;
      }
      return signal;
    },
    finish() {
      if (onCancelled) call.off('cancelled', onCancelled);
    },
  };
}

// grpc-js names the peer `host:port` (`[v6 address]:port`); refusals are counted by address.
function peerAddress(peer: string): string | undefined {
  if (peer === 'unknown') return undefined;
  const colon = peer.lastIndexOf(':');
  const host = colon > 0 ? peer.slice(0, colon) : peer;
  return (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).replace(/^::ffff:/, '');
}

// A request header: repeated values joined as connect-node's Headers.get joins them, so both listeners read alike.
function metadataValue(call: SurfaceCall, name: string): string | undefined {
  const values = call.metadata.get(name).filter((value): value is string => typeof value === 'string');
  return values.length === 0 ? undefined : values.join(', ');
}

// Why a cancelled call ended: its deadline passed, or its client (or the server's stop) cut it.
function gaveUp(call: SurfaceCall): DomainError | undefined {
  if (!call.cancelled) return undefined;
  return Date.now() >= Number(call.getDeadline()) ? DEADLINE_PASSED : CLIENT_LEFT;
}

// Reasons are values: one each, so that giving up costs no stack trace.
const DEADLINE_PASSED = new DeadlineExceeded();
const CLIENT_LEFT = new Cancelled();

/** A status as grpc-js sends it: code, message, and the google.rpc.Status in `grpc-status-details-bin`. */
export function grpcError(status: RpcStatus): StatusObject {
  const metadata = new Metadata();
  if (status.details.length > 0) {
    const details = status.details.map(({ desc, value }) => anyPack(desc, value));
    metadata.set(
      'grpc-status-details-bin',
      Buffer.from(toBinary(StatusSchema, create(StatusSchema, { code: status.code, message: status.message, details }))),
    );
  }
  return { code: status.code, details: status.message, metadata };
}
