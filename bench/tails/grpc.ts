// @grpc/grpc-js clients of EventStoreService with the .proto files loaded at run time (as a
// client that knows nothing of our TypeScript would), for the tails bench.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

/** A grpc-js client of auren.v1.EventStoreService, as loaded from the .proto file. */
export type EventStoreClient = grpc.Client & Record<string, (...args: any[]) => any>;

let constructor:
  | (new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => EventStoreClient)
  | undefined;

function eventStoreConstructor() {
  if (!constructor) {
    const definition = protoLoader.loadSync('auren/v1/events.proto', {
      includeDirs: [PROTO_ROOT],
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
    });
    constructor = (grpc.loadPackageDefinition(definition) as any).auren.v1.EventStoreService;
  }
  return constructor!;
}

/**
 * A client on its own HTTP/2 connection: grpc-js shares one connection among clients of the
 * same address and options unless each has its own subchannel pool.
 */
export function eventStoreClient(baseUrl: string): EventStoreClient {
  const Client = eventStoreConstructor();
  return new Client(new URL(baseUrl).host, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON value as google.protobuf.Value, in proto-loader's object form. */
function toValue(value: Json): object {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  return { structValue: toStruct(value) };
}

/** A JSON object as google.protobuf.Struct, in proto-loader's object form. */
export function toStruct(object: { [key: string]: Json }): object {
  const fields: Record<string, object> = {};
  for (const [key, value] of Object.entries(object)) fields[key] = toValue(value);
  return { fields };
}

/** Appends events (each `{ eventId, type, data }`, data already a Struct) to a stream, expecting ANY version. */
export function appendAny(
  client: EventStoreClient,
  streamId: string,
  events: { eventId: string; type: string; data: object }[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    client.appendToStream!({ streamId, expected: { kind: 'EXPECTED_VERSION_KIND_ANY' }, events }, (error: grpc.ServiceError | null) =>
      error ? reject(error) : resolve(),
    );
  });
}

/** One message of SubscribeToAll as grpc-js hands it over. */
export interface TailMessage {
  message: 'event' | 'caughtUp' | 'checkpoint';
  event?: { eventId: string; streamId: string };
}

/** Where a tail starts. */
export type TailFrom = 'start' | 'end';

/** An open SubscribeToAll call. */
export interface OpenTail {
  /** Resolves at the first caught_up. */
  caughtUp: Promise<void>;
  /** Rejects if the call fails before cancel(). */
  failed: Promise<never>;
  cancel(): void;
}

/** Opens SubscribeToAll and calls `onEvent` for every event received, with its receipt time taken first. */
export function subscribeToAll(client: EventStoreClient, from: TailFrom, onMessage: (message: TailMessage) => void): OpenTail {
  const call: grpc.ClientReadableStream<TailMessage> = client.subscribeToAll!(from === 'start' ? { start: {} } : { end: {} });
  let cancelled = false;
  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  const failed = new Promise<never>((_, reject) => {
    call.on('error', (error: grpc.ServiceError) => {
      if (!(cancelled && error.code === grpc.status.CANCELLED)) reject(error);
    });
  });
  failed.catch(() => undefined); // observed by whoever races it; never an unhandled rejection
  call.on('data', (message: TailMessage) => {
    onMessage(message);
    if (message.message === 'caughtUp') markCaughtUp();
  });
  return {
    caughtUp,
    failed,
    cancel() {
      cancelled = true;
      call.cancel();
    },
  };
}
