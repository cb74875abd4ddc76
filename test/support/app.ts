import { createClient } from '@connectrpc/connect';
import type { CallOptions, Client, Interceptor } from '@connectrpc/connect';
import type { NewKey } from '../../src/auth/keys.js';
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
  /** An admin key of this app: what `events` and `memory` send unless a call says otherwise. */
  adminKey: string;
  /** `authorization: Bearer <adminKey>`, for hand-made requests. */
  authorization: string;
  /** Makes a key (see KeyStore.create) and returns its secret. */
  key(spec: NewKey): Promise<string>;
  /** Call options that send `key` instead of the admin key (an empty string: no key at all). */
  withKey(key: string): CallOptions;
  /** Call options that act as `agent`, with an agent key (memory:read, memory:write) made on first use. */
  as(agent: string): CallOptions;
  stop(): Promise<void>;
}

/** The server secret of test apps (any 32 characters; the CLI run by a test passes it too). */
export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

// Headers the test clients turn into an authorization header: the client's interceptor makes
// the agent's key on first use, so that `as(agent)` can stay synchronous.
const AS_AGENT = 'x-test-as-agent';
const KEY = 'x-test-key';

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
    AUREN_SECRET: TEST_SECRET,
    ...env,
    DATABASE_URL: databaseUrl,
  });
  const app = await startApp(config, createLogger(process.env.TEST_LOG_LEVEL ?? config.logLevel), { announce: () => {} });
  const adminKey = (await app.keys.create({ kind: 'admin', name: 'test-admin' })).key;
  const agentKeys = new Map<string, Promise<string>>();
  const agentKey = (agent: string) => {
    let found = agentKeys.get(agent);
    if (!found) agentKeys.set(agent, (found = app.keys.create({ kind: 'agent', agentId: agent }).then((made) => made.key)));
    return found;
  };
  const authenticate: Interceptor = (next) => async (request) => {
    const agent = request.header.get(AS_AGENT);
    const key = request.header.get(KEY);
    request.header.delete(AS_AGENT);
    request.header.delete(KEY);
    const bearer = agent !== null ? await agentKey(agent) : (key ?? adminKey);
    if (bearer !== '') request.header.set('authorization', `Bearer ${bearer}`);
    return next(request);
  };
  // connect-node's gRPC client speaks to both: it is a plain gRPC client over HTTP/2.
  const transport = createGrpcTransport({ baseUrl: listenerUrl(app, listener), interceptors: [authenticate] });
  return {
    app,
    databaseUrl,
    listener,
    events: createClient(EventStoreService, transport),
    memory: createClient(MemoryService, transport),
    adminKey,
    authorization: `Bearer ${adminKey}`,
    key: async (spec) => (await app.keys.create(spec)).key,
    withKey: (key) => ({ headers: { [KEY]: key } }),
    as: (agent) => ({ headers: { [AS_AGENT]: agent } }),
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
