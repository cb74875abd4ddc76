import { createClient } from '@connectrpc/connect';
import type { Client } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { EventStoreService, ExpectedVersionKind } from '../../src/gen/auren/v1/events_pb.js';
import { countRows } from '../databases.js';
import { EVENT_TYPE } from '../payload.js';
import { startServer } from '../server.js';
import type { GrpcConnections } from '../config.js';
import type { BenchTarget } from './target.js';

/** AUREN through gRPC (HTTP/2, h2c) against the server spawned as a child process. */
export async function aurenTarget(databaseUrl: string, poolSize: number, connections: GrpcConnections): Promise<BenchTarget> {
  const server = await startServer(databaseUrl, poolSize);
  return {
    name: 'auren',
    serverPid: server.pid,
    async open({ clients }) {
      const sessions = Array.from({ length: connections === 'shared' ? 1 : clients }, () => new Http2SessionManager(server.baseUrl));
      const stubs: Client<typeof EventStoreService>[] = sessions.map((sessionManager) =>
        createClient(EventStoreService, createGrpcTransport({ baseUrl: server.baseUrl, sessionManager }) /* gRPC: always HTTP/2 */));
      return {
        async append(client, streamId, events) {
          const response = await stubs[client % stubs.length]!.appendToStream({
            streamId,
            expected: { kind: ExpectedVersionKind.NO_STREAM },
            events: events.map((data) => ({ type: EVENT_TYPE, data })),
          });
          if (response.nextExpectedVersion !== BigInt(events.length)) {
            throw new Error(`auren: ${streamId} is at version ${response.nextExpectedVersion}, expected ${events.length}`);
          }
        },
        async close() {
          for (const session of sessions) session.abort();
        },
      };
    },
    countEvents: () => countRows(databaseUrl, 'events'),
    close: () => server.stop(),
  };
}
