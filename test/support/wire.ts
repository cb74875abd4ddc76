import http2 from 'node:http2';
import { codeName } from '../../src/metrics/rpcMetrics.js';

// Raw calls on each protocol, written from the protocols' specifications, for tests that send
// what no generated client would: bytes that are not protobuf, JSON no encoder makes. Each
// answers the status as a gRPC code name (INVALID_ARGUMENT, OK, ...) and its message.

/** The protocols PORT and GRPC_PORT speak, as a client picks them. */
export const PROTOCOLS = ['connect+proto', 'connect+json', 'grpc-web', 'grpc on PORT', 'grpc on GRPC_PORT'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** A call's outcome: its status code name, message, and how many messages came before it. */
export interface Outcome {
  code: string;
  message: string;
  messages: number;
}

const CONNECT_CODES: Record<string, string> = {
  canceled: 'CANCELLED',
  unknown: 'UNKNOWN',
  invalid_argument: 'INVALID_ARGUMENT',
  deadline_exceeded: 'DEADLINE_EXCEEDED',
  not_found: 'NOT_FOUND',
  already_exists: 'ALREADY_EXISTS',
  permission_denied: 'PERMISSION_DENIED',
  resource_exhausted: 'RESOURCE_EXHAUSTED',
  failed_precondition: 'FAILED_PRECONDITION',
  aborted: 'ABORTED',
  out_of_range: 'OUT_OF_RANGE',
  unimplemented: 'UNIMPLEMENTED',
  internal: 'INTERNAL',
  unavailable: 'UNAVAILABLE',
  data_loss: 'DATA_LOSS',
  unauthenticated: 'UNAUTHENTICATED',
};

/** One length-prefixed message (gRPC, gRPC-Web and Connect streaming frame their messages alike). */
export function envelope(body: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** The frames of an enveloped body. */
export function frames(body: Buffer): { flags: number; data: Buffer }[] {
  const out: { flags: number; data: Buffer }[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const length = body.readUInt32BE(at + 1);
    out.push({ flags: body[at]!, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

/** Where a raw client sends its calls. */
export interface Target {
  /** http://host:port of PORT. */
  url: string;
  /** GRPC_PORT. */
  grpcPort: number;
  /** Sent as the authorization header of every call (the test app's `authorization`); absent: none. */
  authorization?: string;
}

/**
 * A raw client of both listeners: `call` sends one request body (bytes, or JSON text for
 * connect+json) to a method on one protocol, with a deadline for streaming methods.
 */
export function rawClient(target: Target) {
  const sessions = new Map<string, http2.ClientHttp2Session>();
  const session = (authority: string) => {
    let s = sessions.get(authority);
    if (!s || s.closed || s.destroyed) {
      s = http2.connect(authority);
      s.on('error', () => undefined);
      sessions.set(authority, s);
    }
    return s;
  };
  const grpcAuthority = `http://127.0.0.1:${target.grpcPort}`;
  const auth: Record<string, string> = target.authorization === undefined ? {} : { authorization: target.authorization };

  async function connectCall(path: string, body: Uint8Array | string, json: boolean, streaming: boolean, timeoutMs: number) {
    const type = `application/${streaming ? 'connect+' : ''}${json ? 'json' : 'proto'}`;
    const payload = streaming ? envelope(typeof body === 'string' ? Buffer.from(body) : body) : body;
    const response = await fetch(`${target.url}/${path}`, {
      method: 'POST',
      headers: { 'content-type': type, 'connect-protocol-version': '1', 'connect-timeout-ms': String(timeoutMs), ...auth },
      body: payload,
      signal: AbortSignal.timeout(timeoutMs + 5_000),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    if (!streaming) {
      if (response.status === 200) return { code: 'OK', message: '', messages: 1 };
      const error = JSON.parse(bytes.toString()) as { code: string; message?: string };
      return { code: CONNECT_CODES[error.code] ?? error.code, message: error.message ?? '', messages: 0 };
    }
    const all = frames(bytes);
    const end = all.find((f) => f.flags & 2);
    const messages = all.filter((f) => !(f.flags & 2)).length;
    if (response.status !== 200) return { code: `HTTP ${response.status}`, message: bytes.toString(), messages };
    const error = end ? (JSON.parse(end.data.toString()) as { error?: { code: string; message?: string } }).error : undefined;
    return error
      ? { code: CONNECT_CODES[error.code] ?? error.code, message: error.message ?? '', messages }
      : { code: 'OK', message: '', messages };
  }

  async function grpcWebCall(path: string, body: Uint8Array, timeoutMs: number): Promise<Outcome> {
    const response = await fetch(`${target.url}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', 'grpc-timeout': `${timeoutMs}m`, ...auth },
      body: envelope(body),
      signal: AbortSignal.timeout(timeoutMs + 5_000),
    });
    const all = frames(Buffer.from(await response.arrayBuffer()));
    const trailer = all.find((f) => f.flags & 0x80)?.data.toString() ?? '';
    const fields = new Map<string, string>();
    for (const line of trailer.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    // A trailers-only answer carries the status in the response headers.
    const status = fields.get('grpc-status') ?? response.headers.get('grpc-status') ?? '';
    const message = fields.get('grpc-message') ?? response.headers.get('grpc-message') ?? '';
    return {
      code: status === '' ? `no status (HTTP ${response.status})` : codeName(Number(status)),
      message: decodeURIComponent(message),
      messages: all.filter((f) => !(f.flags & 0x80)).length,
    };
  }

  function grpcCall(authority: string, path: string, body: Uint8Array, timeoutMs: number): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const stream = session(authority).request({
        ':method': 'POST',
        ':path': `/${path}`,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${timeoutMs}m`,
        ...auth,
      });
      let headers: http2.IncomingHttpHeaders = {};
      let messages = Buffer.alloc(0);
      stream.on('response', (h) => (headers = h));
      stream.on('data', (chunk: Buffer) => (messages = Buffer.concat([messages, chunk])));
      const finish = (trailers: http2.IncomingHttpHeaders) => {
        const status = trailers['grpc-status'] ?? headers['grpc-status'];
        resolve({
          code: status === undefined ? `no status (HTTP ${headers[':status']})` : codeName(Number(status)),
          message: decodeURIComponent(String(trailers['grpc-message'] ?? headers['grpc-message'] ?? '')),
          messages: frames(messages).length,
        });
      };
      let trailers: http2.IncomingHttpHeaders | undefined;
      stream.on('trailers', (t) => (trailers = t));
      stream.on('close', () => finish(trailers ?? {}));
      stream.on('error', reject);
      stream.end(envelope(body));
    });
  }

  return {
    /** Sends `body` to `path` (service/method) on `protocol`; `streaming` methods get `timeoutMs` as their deadline. */
    call(protocol: Protocol, path: string, body: Uint8Array | string, streaming: boolean, timeoutMs = 2_000): Promise<Outcome> {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      switch (protocol) {
        case 'connect+proto':
          return connectCall(path, bytes, false, streaming, timeoutMs);
        case 'connect+json':
          return connectCall(path, body, true, streaming, timeoutMs);
        case 'grpc-web':
          return grpcWebCall(path, bytes, timeoutMs);
        case 'grpc on PORT':
          return grpcCall(target.url, path, bytes, timeoutMs);
        case 'grpc on GRPC_PORT':
          return grpcCall(grpcAuthority, path, bytes, timeoutMs);
      }
    },
    close() {
      for (const s of sessions.values()) s.close();
    },
  };
}
