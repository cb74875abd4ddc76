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

/** A service started for a test, on a database of its own, with a typed gRPC client. */
export interface TestApp {
  app: App;
  databaseUrl: string;
  events: Client<typeof EventStoreService>;
  memory: Client<typeof MemoryService>;
  stop(): Promise<void>;
}

/** Starts the service on port 0 and a fresh database; `env` overrides configuration variables. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const databaseUrl = env.DATABASE_URL ?? (await createTestDatabase());
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', SHUTDOWN_TIMEOUT_MS: '2000', ...env, DATABASE_URL: databaseUrl });
  const app = await startApp(config, createLogger(process.env.TEST_LOG_LEVEL ?? config.logLevel));
  const transport = createGrpcTransport({ baseUrl: app.url });
  return {
    app,
    databaseUrl,
    events: createClient(EventStoreService, transport),
    memory: createClient(MemoryService, transport),
    stop: () => app.stop(),
  };
}
