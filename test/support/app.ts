import { createClient } from '@connectrpc/connect';
import type { Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { EventStoreService } from '../../src/gen/auren/v1/events_pb.js';
import { MemoryService } from '../../src/gen/auren/v1/memory_pb.js';
import { createTestDatabase } from './database.js';

/**
 * The listeners every RPC specification runs against: PORT (connect-node) and GRPC_PORT
 * (grpc-js). Both serve the same handlers; the specifications prove they answer alike.
 */
export const LISTENERS = ['PORT', 'GRPC_PORT'] as const;
/** One of LISTENERS. */
export type ListenerName = (typeof LISTENERS)[number];

/** A service started for a test, on a database of its own, with typed gRPC clients of one listener. */
export interface TestApp {
  app: App;
  databaseUrl: string;
  /** The listener `events` and `memory` call. */
  listener: ListenerName;
  events: Client<typeof EventStoreService>;
  memory: Client<typeof MemoryService>;
  stop(): Promise<void>;
}

/**
 * Starts the service with both listeners on port 0 and a fresh database; `env` overrides
 * configuration variables; the clients call `listener`.
 */
export async function startTestApp(env: Record<string, string> = {}, listener: ListenerName = 'PORT'): Promise<TestApp> {
  const databaseUrl = env.DATABASE_URL ?? (await createTestDatabase());
  const config = loadConfig({
    PORT: '0',
    GRPC_PORT: '0',
    LOG_LEVEL: 'silent',
    SHUTDOWN_TIMEOUT_MS: '2000',
    // No Chroma of its own for every test app: the projection tests start one and name it.
    CHROMA_URL: 'off',
    ...env,
    DATABASE_URL: databaseUrl,
  });
  const app = await startApp(config, createLogger(process.env.TEST_LOG_LEVEL ?? config.logLevel));
  // connect-node's gRPC client speaks to both: it is a plain gRPC client over HTTP/2.
  const transport = createGrpcTransport({ baseUrl: listenerUrl(app, listener) });
  return {
    app,
    databaseUrl,
    listener,
    events: createClient(EventStoreService, transport),
    memory: createClient(MemoryService, transport),
    stop: () => app.stop(),
  };
}

/** The base URL of one of an app's listeners. */
export function listenerUrl(app: App, listener: ListenerName): string {
  return listener === 'PORT' ? app.url : `http://127.0.0.1:${app.grpcPort}`;
}

/** Describes a specification once per listener, titled `<title> on PORT` and `<title> on GRPC_PORT`. */
export function describeOnEachListener(title: string, body: (listener: ListenerName) => void): void {
  for (const listener of LISTENERS) describe(`${title} on ${listener}`, () => body(listener));
}
