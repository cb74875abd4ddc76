// StoreMemory and GetMemory through the bench's wire client (bench/wire/h2c.ts): the calls with
// goals at 8 clients, where a client costing a millisecond a call would take the cores the server
// needs. Requests are encoded before the timed runs; a call only picks one and sends it.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  GetMemoryResponseSchema,
  MemoryType,
  StoreMemoryRequestSchema,
  StoreMemoryResponseSchema,
} from '../../src/gen/auren/v1/memory_pb.js';
import { connectWire, headerBlock } from '../wire/h2c.js';
import type { WireConnection } from '../wire/h2c.js';
import { PATHS, withStringField } from '../wire/messages.js';
import type { StoreRequest } from './grpc.js';

const CALLER_HEADER = 'x-auren-agent';
const TYPES: Record<string, MemoryType> = {
  fact: MemoryType.FACT,
  analysis: MemoryType.ANALYSIS,
  recommendation: MemoryType.RECOMMENDATION,
  hypothesis: MemoryType.HYPOTHESIS,
  insight: MemoryType.INSIGHT,
  conversation: MemoryType.CONVERSATION,
  decision: MemoryType.DECISION,
};

/** One client on its own HTTP/2 connection. */
export interface WireMemoryClient {
  /** Sends the i-th pre-encoded StoreMemory (cycling) and returns the new memory's id. */
  store(i: number): Promise<string>;
  /** GetMemory of `id` as `caller`; returns the id of the memory it got. */
  get(id: string): Promise<string>;
  close(): void;
}

/** Pre-encoded StoreMemory calls: each with its own x-auren-agent header (its agent). */
export interface StoreCalls {
  headers: Buffer[];
  bodies: Buffer[];
}

export function encodeStores(requests: StoreRequest[], authority: string): StoreCalls {
  const byAgent = new Map<string, Buffer>();
  const headers = requests.map((r) => {
    let h = byAgent.get(r.agentId);
    if (!h) byAgent.set(r.agentId, (h = headerBlock(authority, PATHS.storeMemory, { [CALLER_HEADER]: r.agentId })));
    return h;
  });
  const bodies = requests.map((r) =>
    Buffer.from(
      toBinary(
        StoreMemoryRequestSchema,
        create(StoreMemoryRequestSchema, {
          agentId: r.agentId,
          userId: r.userId,
          type: TYPES[r.type]!,
          content: { text: r.text, channel: r.channel },
          metadata: { source: 'bench-store' },
          confidence: r.confidence,
        }),
      ),
    ),
  );
  return { headers, bodies };
}

export async function wireMemoryClient(grpcUrl: string, stores: StoreCalls, caller: string): Promise<WireMemoryClient> {
  const url = new URL(grpcUrl);
  const connection: WireConnection = await connectWire(url.hostname, Number(url.port));
  const getHeaders = headerBlock(url.host, PATHS.getMemory, { [CALLER_HEADER]: caller });
  const empty = new Uint8Array(0);
  return {
    async store(i) {
      const k = i % stores.bodies.length;
      const response = fromBinary(
        StoreMemoryResponseSchema,
        await connection.unary(stores.headers[k]!, PATHS.storeMemory, stores.bodies[k]!),
      );
      return response.memory?.id ?? '';
    },
    async get(id) {
      const response = fromBinary(
        GetMemoryResponseSchema,
        await connection.unary(getHeaders, PATHS.getMemory, withStringField(1, id, empty)),
      );
      return response.memory?.id ?? '';
    },
    close: () => connection.close(),
  };
}
