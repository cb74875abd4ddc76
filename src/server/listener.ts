import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { connectNodeAdapter } from '@connectrpc/connect-node';
import type { ConnectionLimits } from '../config.js';
import type { Logger } from '../log.js';
import { StartupError } from '../startupError.js';

/** TLS of the port: its certificate and key, and the CA of client certificates (then required). */
export type tlsOptions = Pick<SecureContextOptions, 'cert' | 'key' | 'ca'>;

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
 * the client's ALPN says (and, with a client CA, only to clients with a certificate it signed).
 */
export function createListener(handler: RequestHandler, limits: ConnectionLimits, log: Logger, tls?: tlsOptions): Listener {
  const secure =
    tls === undefined
      ? undefined
      : http2.createSecureServer(
          {
            ...tls,
            allowHTTP1: true,
            requestCert: tls.ca !== undefined,
            rejectUnauthorized: tls.ca !== undefined,
            handshakeTimeout: limits.headersTimeoutMs,
            settings: { maxConcurrentStreams: limits.maxStreamsPerConnection },
          },
          // The same hygiene as without TLS: HTTP/2 or HTTP/1.1 as ALPN chose.
          (request: http2.Http2ServerRequest | http.IncomingMessage, response: http2.Http2ServerResponse | http.ServerResponse) => {
            if (request instanceof http2.Http2ServerRequest) stopUploadAfterEarlyAnswer(request, limits.requestTimeoutMs);
            else closeAfterEarlyAnswer(request, response as http.ServerResponse);
            void handler(request as http2.Http2ServerRequest, response as http2.Http2ServerResponse);
          },
        );
  if (secure) {
    // HTTP/1.1 over TLS is served by Node's HTTP/1.1 code with these timeouts, checked from
    // 'listening' on, which this server (fed its connections below) never emits itself.
    Object.assign(secure, {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: 1_000,
    });
    secure.emit('listening');
  }
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: limits.maxStreamsPerConnection } }, (request, response) => {
    stopUploadAfterEarlyAnswer(request, limits.requestTimeoutMs);
    void handler(request, response);
  });
  const h1 = http.createServer(
    { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: 1_000 },
    (request, response) => {
      closeAfterEarlyAnswer(request, response);
      void handler(request, response);
    },
  );
  // Node checks the header and request timeouts of a server's connections from when it starts
  // listening; this one never listens itself (the TCP server below hands it its connections).
  h1.emit('listening');
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  for (const server of secure ? [h2, secure] : [h2]) {
    server.on('session', (session: http2.ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
      closeWhenIdle(session, limits.idleTimeoutMs);
    });
  }
  // Over TLS the preface cannot be sniffed: an HTTP/2 connection whose client has not sent its
  // preface and settings within the headers timeout after the handshake is cut.
  secure?.on('session', (session: http2.ServerHttp2Session) => {
    const silent = setTimeout(() => session.destroy(), limits.headersTimeoutMs);
    session.once('remoteSettings', () => clearTimeout(silent));
    session.once('close', () => clearTimeout(silent));
  });
  secure?.on('tlsClientError', (error) => log.debug({ err: error }, 'TLS handshake failed'));
  const keepalive = setInterval(() => {
    for (const session of sessions) pingOrCut(session, limits.keepaliveTimeoutMs);
  }, limits.keepaliveTimeMs);
  keepalive.unref();

  // No Nagle: a small response (most unary replies) must leave at once, not wait up to 40 ms
  // for the client's delayed ACK.
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', (error) => log.debug({ err: error }, 'client connection error'));
    // A connection that has not said which protocol it speaks in time is cut.
    const undecided = setTimeout(() => socket.destroy(), limits.headersTimeoutMs);
    if (secure) {
      // TLS first (the secure server's own handshake); then HTTP/2 or HTTP/1.1 as ALPN agreed.
      clearTimeout(undecided);
      secure.emit('connection', socket);
      return;
    }
    sniff(socket, (isHttp2) => {
      clearTimeout(undecided);
      (isHttp2 ? h2 : h1).emit('connection', socket);
    });
  });
  capConnections(tcp, limits.maxConnections, 'PORT', log);
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
      clearInterval(keepalive);
      clearInterval(idle);
      clearTimeout(timer);
    },
  };
}

// An answer sent before the request's body was read to its end is an early refusal (a message
// too large, a body that is not a message): the client would go on uploading what nobody reads.
// Over HTTP/2 the stream is reset with NO_ERROR once the answer and its trailers are out, as the
// gRPC protocol says a server does; the connection's other calls go on.
// A body that has not arrived whole within the request timeout is cancelled the same way.
function stopUploadAfterEarlyAnswer(request: http2.Http2ServerRequest, requestTimeoutMs: number): void {
  const stream = request.stream;
  if (!request.complete) {
    const late = setTimeout(() => {
      if (!request.complete && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    }, requestTimeoutMs);
    request.once('end', () => clearTimeout(late));
    stream.once('close', () => clearTimeout(late));
  }
  // Registered after the compatibility layer's own listener: its trailers are sent by now.
  stream.once('wantTrailers', () => {
    if (request.complete) return;
    setImmediate(() => {
      if (!request.complete && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  });
}

// An HTTP/2 connection with no call open for `idleMs` is closed with GOAWAY. Node's session
// timeout fires after that long without a frame; a connection holding a quiet tail stays.
function closeWhenIdle(session: http2.ServerHttp2Session, idleMs: number): void {
  let open = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    open++;
    stream.once('close', () => open--);
  });
  session.setTimeout(idleMs, () => {
    if (open === 0) drain(session);
  });
}

// Pings a connection; one whose peer does not answer within `timeoutMs` is gone (a cable
// pulled, a machine stopped) and is cut, which ends its calls and frees what they hold.
function pingOrCut(session: http2.ServerHttp2Session, timeoutMs: number): void {
  if (session.closed || session.destroyed || session.connecting) return;
  const cut = setTimeout(() => session.destroy(), timeoutMs);
  const sent = session.ping(() => clearTimeout(cut));
  if (!sent) clearTimeout(cut);
}

// Over HTTP/1.1 the rest of the body would be read as the next request: the answer says
// `connection: close` and the connection ends after it.
function closeAfterEarlyAnswer(request: http.IncomingMessage, response: http.ServerResponse): void {
  const writeHead = response.writeHead;
  response.writeHead = function (this: http.ServerResponse, ...args: Parameters<typeof writeHead>) {
    if (!request.complete) this.setHeader('connection', 'close');
    return writeHead.apply(this, args);
  } as typeof writeHead;
}

/**
 * Caps a server's open connections: more are closed at once by Node, and said in a warning once a
 * minute at most (a flood of connections must not become a flood of log lines).
 */
export function capConnections(server: net.Server, maxConnections: number, listener: string, log: Logger): void {
  server.maxConnections = maxConnections;
  let lastWarning = 0;
  server.on('drop', () => {
    if (Date.now() - lastWarning < 60_000) return;
    lastWarning = Date.now();
    log.warn({ maxConnections }, `${listener}: connection limit reached; new connections are closed (MAX_CONNECTIONS)`);
  });
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
