import { fileURLToPath } from 'node:url';
import { createClient } from '@connectrpc/connect';
import type { Client } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EventStoreService, ExpectedVersionKind } from '../../src/gen/auren/v1/events_pb.js';
import { countRows } from '../databases.js';
import { EVENT_TYPE } from '../payload.js';
import { startServer } from '../server.js';
import type { GrpcConnections } from '../config.js';
import type { BenchTarget } from './target.js';

/**
 * The gRPC client the bench drives the server with (BENCH_GRPC_CLIENT): `grpc-js`, the
 * reference gRPC implementation (default), or `connect`, connect-node's client. The client
 * runs on the same two cores as the server and PostgreSQL, so its own cost shows in the
 * server's figures; connect-node's client measured about three times grpc-js's CPU per call.
 */
export const GRPC_CLIENT = process.env.BENCH_GRPC_CLIENT === 'connect' ? 'connect' : 'grpc-js';

type Append = (streamId: string, events: object[]) => Promise<bigint>;

/** AUREN through gRPC (HTTP/2, h2c) against the server spawned as a child process. */
export async function aurenTarget(databaseUrl: string, poolSize: number, connections: GrpcConnections): Promise<BenchTarget> {
  const server = await startServer(databaseUrl, poolSize);
  return {
    name: 'auren',
    serverPid: server.pid,
    async open({ clients }) {
      const count = connections === 'shared' ? 1 : clients;
      const { appends, close } = GRPC_CLIENT === 'connect' ? connectClients(server.baseUrl, count) : grpcJsClients(server.baseUrl, count);
      return {
        async append(client, streamId, events) {
          const version = await appends[client % appends.length]!(streamId, events);
          if (version !== BigInt(events.length)) throw new Error(`auren: ${streamId} is at version ${version}, expected ${events.length}`);
        },
        close: async () => close(),
      };
    },
    countEvents: () => countRows(databaseUrl, 'events'),
    close: () => server.stop(),
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
