import { EventEmitter } from 'node:events';
import type { Http2Server, Http2Session } from 'node:http2';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { DescFile } from '@bufbuild/protobuf';
import type { GrpcService } from '../rpc/transports/grpcjs.js';
import { addGrpcHealth } from './grpcHealth.js';
import { addGrpcReflection } from './grpcReflection.js';
import type { HealthStatus } from './health.js';
import { capConnections } from './listener.js';
import { pipelinedWrites } from './pipelinedWrites.js';
import type { ConnectionLimits } from '../config.js';
import type { Logger } from '../log.js';

/** What the gRPC listener serves, and how. */
export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest request message; a larger one is RESOURCE_EXHAUSTED, as on PORT. */
  messageMaxBytes: number;
  /** The same connection limits as PORT's. */
  connections: ConnectionLimits;
  log: Logger;
  services: GrpcService[];
  /** Health served as grpc.health.v1, in sync with PORT's. */
  health: HealthStatus;
  /** The files reflection describes (their services, health and reflection are listed). */
  reflect: DescFile[];
  /** TLS (and client certificates) when configured; absent: plain HTTP/2. */
  credentials?: ServerCredentials;
}

/** The listener on GRPC_PORT: gRPC over HTTP/2 without TLS, served by @grpc/grpc-js. */
export interface GrpcListener {
  /** The bound port. */
  port: number;
  /** Stops accepting, lets open calls finish for up to `graceMs`, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

// Messages of one server stream handed to HTTP/2 before grpc-js waits for a write to complete (pipelinedWrites.ts).
const STREAM_WRITES_IN_FLIGHT = 32;

/**
 * Starts the gRPC listener: grpc-js costs about a quarter of connect-node's CPU per call
 * (see BENCHMARKS.md), so agents speaking gRPC are served here.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcListener> {
  const server = new Server({
    'grpc.max_receive_message_length': options.messageMaxBytes,
    // channelz keeps per-call counters and traces nobody reads here: off, to save CPU per call.
    'grpc.enable_channelz': 0,
    'grpc.max_connection_idle_ms': options.connections.idleTimeoutMs,
    'grpc.keepalive_time_ms': options.connections.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': options.connections.keepaliveTimeoutMs,
    'grpc.max_concurrent_streams': options.connections.maxStreamsPerConnection,
    interceptors: [pipelinedWrites(STREAM_WRITES_IN_FLIGHT)],
  });
  for (const { definition, implementation } of options.services) server.addService(definition, implementation);
  addGrpcHealth(server, options.health);
  addGrpcReflection(server, options.reflect);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, options.credentials ?? ServerCredentials.createInsecure(), (error, bound) => {
      if (!error) return resolve(bound);
      server.forceShutdown();
      // grpc-js says only "No address added out of total 1 resolved": name what could not be bound.
      reject(new Error(`GRPC_PORT: cannot listen on ${host}:${options.port} (${error.message})`, { cause: error }));
    });
  });
  limitConnections(server, options.connections, options.log);
  return {
    port,
    async close(graceMs) {
      await Promise.all(connectionsOf(server).map(roundTrip));
      await new Promise<void>((resolve) => {
        // Cutting the calls left aborts their signals: their work stops. grpc-js does not always
        // call tryShutdown's callback after a forced shutdown (a stream its client cancelled while
        // the server waited for it to read was seen to hold it for ever): the cut ends the wait.
        const cut = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(cut);
          resolve();
        });
      });
    },
  };
}

// grpc-js's graceful stop sends GOAWAY at once, which refuses the calls a client sent just
// before it. A ping's round trip first proves that every call sent before it has arrived, as
// PORT's listener does. grpc-js does not expose its connections: they are read from its
// private `http2Servers` map (grpc-js 1.10 to 1.14); a version without it skips the wait.
function connectionsOf(server: Server): Http2Session[] {
  const servers = privateServers(server);
  return [...servers.values()]
    .flatMap((entry: { sessions?: unknown }) => (entry?.sessions instanceof Set ? [...entry.sessions] : []))
    .filter((session): session is Http2Session => session instanceof EventEmitter && 'ping' in session);
}

// What grpc-js has no option for: a cap on connections, and a time within which a connection
// must open HTTP/2 (its idle timeout would leave a half-sent preface open for minutes). Set on
// its private HTTP/2 servers, as connectionsOf reads them; without them the caps are skipped
// and a warning says so.
function limitConnections(server: Server, limits: ConnectionLimits, log: Logger): void {
  const http2Servers = [...privateServers(server).keys()].filter((s): s is Http2Server => s instanceof EventEmitter);
  if (http2Servers.length === 0)
    log.warn('GRPC_PORT: this grpc-js version hides its servers; MAX_CONNECTIONS and HEADERS_TIMEOUT_MS do not apply');
  for (const http2Server of http2Servers) {
    capConnections(http2Server, limits.maxConnections, 'GRPC_PORT', log);
    http2Server.on('session', (session: Http2Session) => {
      const late = setTimeout(() => session.destroy(), limits.headersTimeoutMs);
      session.once('remoteSettings', () => clearTimeout(late));
      session.once('close', () => clearTimeout(late));
    });
  }
}

// grpc-js's private map of its HTTP/2 servers to their sessions (grpc-js 1.10 to 1.14); empty
// in a version without it.
function privateServers(server: Server): Map<unknown, { sessions?: unknown }> {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  return servers instanceof Map ? servers : new Map();
}

// Resolves after the session's ping is answered, or after a second, or at once when it cannot ping.
function roundTrip(session: Http2Session): Promise<void> {
  return new Promise((resolve) => {
    const fallback = setTimeout(resolve, 1_000);
    const done = () => {
      clearTimeout(fallback);
      resolve();
    };
    if (session.closed || session.destroyed || !session.ping(done)) done();
  });
}
