import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Socket } from 'node:net';
import type { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from '../log.js';
import { StartupError } from '../startupError.js';

/** Handles a request from either protocol: connect-node's adapter. */
export type RequestHandler = ReturnType<typeof connectNodeAdapter>;

/** One TCP port speaking both HTTP/2 without TLS (gRPC, Connect, gRPC-Web) and HTTP/1.1 (browsers, curl, /healthz). */
export interface Listener {
  /** Starts listening; resolves to the bound port, rejects with a StartupError saying why it cannot. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, lets open calls finish for up to `graceMs`, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

// Every HTTP/2 connection without TLS opens with this preface; no HTTP/1.1 request does.
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * Creates the one-port listener. With `tls`, the port speaks TLS only: HTTP/2 or HTTP/1.1 as
 * the client's ALPN asks (and, with a client CA, only to clients with a certificate it signed).
 */
export function createListener(handler: RequestHandler, log: Logger, tls?: http2.SecureServerOptions): Listener {
  const h2 = http2.createServer({}, handler);
  const h1 = http.createServer(handler);
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });

  const secure = tls === undefined ? undefined : http2.createSecureServer({ ...tls, allowHTTP1: true }, handler);
  secure?.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  secure?.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  secure?.on('tlsClientError', (error) => log.debug({ err: error }, 'TLS handshake failed'));
  // No Nagle: a small response (most unary replies) must leave at once, not wait up to 40 ms
  // for the client's delayed ACK.
  const tcp: net.Server =
    secure ??
    net.createServer({ noDelay: true }, (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', (error) => log.debug({ err: error }, 'client connection error'));
      sniff(socket, (isHttp2) => (isHttp2 ? h2 : h1).emit('connection', socket));
    });
  // An error while starting to listen is listen()'s to report.
  tcp.on('error', (error) => tcp.listening && log.error({ err: error }, 'listener error'));

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        const failed = (error: Error) => reject(listenError(host, port, error));
        tcp.once('error', failed);
        tcp.listen(port, host, () => {
          tcp.off('error', failed);
          resolve((tcp.address() as net.AddressInfo).port);
        });
      });
    },
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const session of sessions) drain(session);
      // HTTP/1.1 keep-alive connections close once their request is done.
      const idle = setInterval(() => h1.closeIdleConnections(), 50);
      h1.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      await closed;
      clearInterval(idle);
      clearTimeout(timer);
    },
  };
}

// What the operator can do depends on why the port cannot be had.
function listenError(host: string, port: number, error: Error): StartupError {
  const problems: Record<string, [reason: string, remedy: string]> = {
    EADDRINUSE: ['the port is in use (EADDRINUSE)', 'stop what uses it, or set PORT to another port (0 picks a free one)'],
    EACCES: ['permission denied (EACCES)', 'ports below 1024 need privileges: set PORT to 1024 or above'],
    EADDRNOTAVAIL: [
      `${host} is not an address of this machine (EADDRNOTAVAIL)`,
      'set HOST to one of its addresses, such as 127.0.0.1 or 0.0.0.0',
    ],
    ENOTFOUND: [`the host name ${host} is unknown (ENOTFOUND)`, 'set HOST to an address of this machine, such as 127.0.0.1 or 0.0.0.0'],
  };
  const [reason, remedy] = problems[(error as NodeJS.ErrnoException).code ?? ''] ?? [error.message, 'check HOST and PORT'];
  return new StartupError({ code: 'listen', failed: `cannot listen on ${host}:${port}`, reason, remedy }, { cause: error });
}

// Drains a connection: once a ping has made the round trip, every stream the client sent
// before it has arrived; close() then sends GOAWAY and lets those streams finish. (Node does
// not deliver ping acks after a GOAWAY, so the announcing GOAWAY of other gRPC servers is skipped.)
function drain(session: http2.ServerHttp2Session): void {
  if (session.closed || session.destroyed) return;
  const close = () => {
    clearTimeout(fallback);
    if (!session.closed && !session.destroyed) session.close();
  };
  const fallback = setTimeout(close, 1_000);
  if (!session.ping(close)) close();
}

// Reads until the first bytes tell the protocol, then hands the socket, data intact, to the right server.
function sniff(socket: Socket, decide: (isHttp2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isHttp2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isHttp2 && n < H2_PREFACE.length) return;
    socket.off('data', onData);
    socket.pause();
    socket.unshift(seen);
    decide(isHttp2);
    // The HTTP/1.1 parser reads through the stream API; HTTP/2 takes the socket's handle over.
    if (!isHttp2) socket.resume();
  };
  socket.on('data', onData);
}
