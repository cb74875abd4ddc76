import { fileURLToPath } from 'node:url';
import { createClient } from '@connectrpc/connect';
import type { Client } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EventStoreService, ExpectedVersionKind } from '../../src/gen/auren/v1/events_pb.js';
import { countRows } from '../databases.js';
import { EVENT_TYPE, payloads } from '../payload.js';
import type { ServerProcess } from '../server.js';
import { connectWire, headerBlock } from '../wire/h2c.js';
import { appendedVersion, appendRequests, PATHS } from '../wire/messages.js';
import type { GrpcConnections } from '../config.js';
import type { BenchTarget } from './target.js';

/**
 * The gRPC client that drives the server. It runs on the same two cores as the server and
 * PostgreSQL, so its cost is reported beside the server's:
 * - `wire` (the default): bench/wire/h2c.ts, HTTP/2 frames written by hand with pre-encoded
 *   requests, about 100–150 µs a call here;
 * - `grpc-js`: @grpc/grpc-js with the proto loaded at run time, as an agent would call, about
 *   1 ms a call here;
 * - `connect`: connect-node's client (BENCH_GRPC_CLIENT=connect in place of grpc-js).
 */
export type AurenClient = 'wire' | 'grpc-js' | 'connect';

export const SLOW_CLIENT: AurenClient = process.env.BENCH_GRPC_CLIENT === 'connect' ? 'connect' : 'grpc-js';

type Append = (streamId: string, events: object[]) => Promise<bigint>;

/** AUREN through gRPC on the server's gRPC listener, with one of the clients above. */
export function aurenTarget(server: ServerProcess, databaseUrl: string, client: AurenClient, connections: GrpcConnections): BenchTarget {
  return {
    name: client === 'wire' ? 'auren' : 'aurenGrpcJs',
    serverPid: server.pid,
    async open({ clients, eventsPerAppend }) {
      const count = connections === 'shared' ? 1 : clients;
      const { appends, close } =
        client === 'wire'
          ? await wireClients(server.grpcUrl, count, eventsPerAppend)
          : client === 'connect'
            ? connectClients(server.grpcUrl, count)
            : grpcJsClients(server.grpcUrl, count);
      return {
        async append(c, streamId, seq) {
          const version = await appends[c % appends.length]!(streamId, client === 'wire' ? [] : payloads(c, seq, eventsPerAppend));
          if (version !== BigInt(eventsPerAppend))
            throw new Error(`auren: ${streamId} is at version ${version}, expected ${eventsPerAppend}`);
        },
        close: async () => close(),
      };
    },
    countEvents: () => countRows(databaseUrl, 'events'),
    close: async () => {},
  };
}

// Every append of a scenario sends the same events (event ids left to the server) to its own new
// stream: the request is encoded once and only the stream id is put in front per call.
async function wireClients(baseUrl: string, count: number, eventsPerAppend: number): Promise<{ appends: Append[]; close(): void }> {
  const url = new URL(baseUrl);
  const headers = headerBlock(url.host, PATHS.append);
  const request = appendRequests(payloads(0, 0, eventsPerAppend) as never, 'no_stream');
  const connections = await Promise.all(Array.from({ length: count }, () => connectWire(url.hostname, Number(url.port))));
  return {
    appends: connections.map(
      (connection) => async (streamId) => appendedVersion(await connection.unary(headers, PATHS.append, request(streamId))),
    ),
    close: () => connections.forEach((connection) => connection.close()),
  };
}

function connectClients(baseUrl: string, count: number): { appends: Append[]; close(): void } {
  const sessions = Array.from({ length: count }, () => new Http2SessionManager(baseUrl));
  const stubs: Client<typeof EventStoreService>[] = sessions.map((sessionManager) =>
    createClient(EventStoreService, createGrpcTransport({ baseUrl, sessionManager })),
  );
  return {
    appends: stubs.map((stub) => async (streamId, events) => {
      const response = await stub.appendToStream({
        streamId,
        expected: { kind: ExpectedVersionKind.NO_STREAM },
        events: events.map((data) => ({ type: EVENT_TYPE, data: data as never })),
      });
      return response.nextExpectedVersion;
    }),
    close: () => sessions.forEach((session) => session.abort()),
  };
}

function grpcJsClients(baseUrl: string, count: number): { appends: Append[]; close(): void } {
  const definition = protoLoader.loadSync('auren/v1/events.proto', {
    includeDirs: [fileURLToPath(new URL('../../proto', import.meta.url))],
    longs: String,
    enums: String,
  });
  const Service = (grpc.loadPackageDefinition(definition) as any).auren.v1.EventStoreService;
  const address = new URL(baseUrl).host;
  // Distinct channel options give each client its own connection, as with one process per agent.
  const stubs = Array.from({ length: count }, (_, i) => new Service(address, grpc.credentials.createInsecure(), { 'bench.client': i }));
  return {
    appends: stubs.map(
      (stub) => (streamId, events) =>
        new Promise<bigint>((resolve, reject) => {
          const request = {
            streamId,
            expected: { kind: 'EXPECTED_VERSION_KIND_NO_STREAM' },
            events: events.map((data) => ({ type: EVENT_TYPE, data: toStruct(data) })),
          };
          stub.appendToStream(request, (error: Error | null, response: { nextExpectedVersion: string }) =>
            error ? reject(error) : resolve(BigInt(response.nextExpectedVersion)),
          );
        }),
    ),
    close: () => stubs.forEach((stub) => stub.close()),
  };
}

// proto-loader speaks google.protobuf.Struct in its message form.
function toStruct(value: object): object {
  return { fields: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toValue(v)])) };
}

function toValue(value: unknown): object {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  return { structValue: toStruct(value as object) };
}
