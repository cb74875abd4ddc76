// @grpc/grpc-js clients of auren.v1.MemoryService with memory.proto loaded at run time, as a
// client that knows nothing of our TypeScript would.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));
const CALLER_HEADER = 'x-auren-agent';

/** A memory as proto-loader decodes it (only what the bench reads). */
export interface WireMemory {
  id: string;
  agentId: string;
  userId: string;
}

export interface StoreRequest {
  agentId: string;
  userId: string;
  type: string;
  text: string;
  channel: string;
  confidence: number;
}

export interface ListRequest {
  agentId?: string;
  userId?: string;
  pageSize: number;
  pageToken?: string;
}

export interface SearchRequest {
  query: string;
  userId?: string;
  limit?: number;
}

/** One client on its own HTTP/2 connection; every call names `caller` in x-auren-agent. */
export interface MemoryClient {
  store(caller: string, request: StoreRequest): Promise<WireMemory>;
  get(caller: string, id: string): Promise<WireMemory>;
  list(caller: string, request: ListRequest): Promise<{ memories: WireMemory[]; nextPageToken: string }>;
  search(caller: string, request: SearchRequest): Promise<{ memory: WireMemory; score: number }[]>;
  close(): void;
}

type Stub = grpc.Client &
  Record<string, (request: object, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response: any) => void) => void>;
let Service: (new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => Stub) | undefined;

function service() {
  if (!Service) {
    const definition = protoLoader.loadSync('auren/v1/memory.proto', {
      includeDirs: [PROTO_ROOT],
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
    });
    Service = (grpc.loadPackageDefinition(definition) as any).auren.v1.MemoryService;
  }
  return Service!;
}

/** google.protobuf.Struct of string fields, in proto-loader's message form. */
function struct(fields: Record<string, string>): object {
  return { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }])) };
}

export function memoryClient(baseUrl: string): MemoryClient {
  const Client = service();
  // Its own subchannel pool: its own connection, as with one process per agent.
  const stub = new Client(new URL(baseUrl).host, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const call = <T>(method: string, caller: string, request: object): Promise<T> =>
    new Promise((resolve, reject) => {
      const metadata = new grpc.Metadata();
      metadata.set(CALLER_HEADER, caller);
      stub[method]!(request, metadata, (error, response) => (error ? reject(error) : resolve(response as T)));
    });
  return {
    store: async (caller, r) =>
      (
        await call<{ memory: WireMemory }>('storeMemory', caller, {
          agentId: r.agentId,
          userId: r.userId,
          type: `MEMORY_TYPE_${r.type.toUpperCase()}`,
          content: struct({ text: r.text, channel: r.channel }),
          metadata: struct({ source: 'bench-store' }),
          confidence: r.confidence,
        })
      ).memory,
    get: async (caller, id) => (await call<{ memory: WireMemory }>('getMemory', caller, { id })).memory,
    list: async (caller, r) => {
      const response = await call<{ memories?: WireMemory[]; nextPageToken?: string }>('listMemories', caller, r);
      return { memories: response.memories ?? [], nextPageToken: response.nextPageToken ?? '' };
    },
    search: async (caller, r) =>
      (
        await call<{ results?: { memory: WireMemory; score: number }[] }>('searchMemories', caller, {
          ...r,
          mode: 'SEARCH_MODE_FULL_TEXT',
        })
      ).results ?? [],
    close: () => stub.close(),
  };
}
