// A gRPC client written straight on HTTP/2 frames (cleartext, prior knowledge): the bench's load
// generator. It shares two cores with the server and PostgreSQL, so it has to cost little:
// node:http2 with pre-encoded requests costs about 250 µs a call here, @grpc/grpc-js more. This
// one encodes each method's request headers once (HPACK literals, no dynamic table), sends the
// caller's pre-encoded message, and cuts the response into gRPC messages without decoding the
// response headers. So it cannot read grpc-status: a unary call succeeded when it returned its
// one message before the trailers; an error is a trailers-only response, reported as such (the
// bench then repeats the call with @grpc/grpc-js to name the error, see wire/calls.ts).
import net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;

const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** Our receive window, per stream and per connection: the server never waits for us. */
const RECEIVE_WINDOW = 1 << 30;
const DEFAULT_WINDOW = 65_535;
const CANCEL = 0x8;

/** A call that ended without its response message: the server answered with an error status. */
export class WireCallError extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path}: ${why}`);
  }
}

/** HPACK integer with an n-bit prefix (RFC 7541 §5.1), first byte ORed with `flags`. */
function hpackInt(value: number, prefixBits: number, flags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  for (value -= max; value >= 128; value >>>= 7) out.push((value & 0x7f) | 0x80);
  out.push(value);
  return out;
}

/** "Literal header field without indexing, new name", no Huffman coding (RFC 7541 §6.2.2). */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00, ...hpackInt(n.length, 7, 0)]), n, Buffer.from(hpackInt(v.length, 7, 0)), v]);
}

/** The request header block of a gRPC call: the same for every call of one method. */
export function headerBlock(authority: string, path: string, extra: Record<string, string> = {}): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table 3 and 6)
    literal(':path', path),
    literal(':authority', authority),
    literal('content-type', 'application/grpc'),
    literal('te', 'trailers'),
    ...Object.entries(extra).map(([name, value]) => literal(name.toLowerCase(), value)),
  ]);
}

/** A protobuf message with its 5-byte gRPC prefix (not compressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return h;
}

interface Call {
  id: number;
  path: string;
  /** Request body still to send (flow control), from `offset`. */
  body: Buffer;
  offset: number;
  sendWindow: number;
  /** Received bytes of a gRPC message not complete yet. */
  partial: Buffer | null;
  received: number;
  messages: number;
  endAfterHeaders: boolean;
  onMessage(message: Buffer): boolean | void;
  done(error?: Error): void;
}

/** One HTTP/2 connection carrying gRPC calls. */
export interface WireConnection {
  /** A unary call: resolves with the response message (without its prefix). */
  unary(headers: Buffer, path: string, message: Buffer): Promise<Buffer>;
  /**
   * A server-streaming call: `onMessage` gets every response message; returning false cancels
   * the call (RST_STREAM CANCEL) and resolves it, throwing cancels it and rejects with the error.
   */
  stream(headers: Buffer, path: string, message: Buffer, onMessage: (message: Buffer) => boolean | void): Promise<void>;
  close(): void;
}

/** Opens an HTTP/2 connection with prior knowledge to host:port. */
export function connectWire(host: string, port: number): Promise<WireConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const calls = new Map<number, Call>();
    let nextId = 1;
    let connSendWindow = DEFAULT_WINDOW;
    let peerInitialWindow = DEFAULT_WINDOW;
    let maxFrameSize = 16_384;
    let connReceived = 0;
    let failed: Error | null = null;
    let inbox: Buffer | null = null;
    const blocked: Call[] = [];
    let out: Buffer[] = [];
    let flushScheduled = false;

    const write = (chunk: Buffer) => {
      out.push(chunk);
      if (!flushScheduled) {
        flushScheduled = true;
        // Every frame queued in this turn of the event loop goes in one write.
        process.nextTick(() => {
          flushScheduled = false;
          const chunks = out;
          out = [];
          if (!socket.destroyed) socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        });
      }
    };

    const fail = (error: Error) => {
      if (failed) return;
      failed = error;
      for (const call of calls.values()) call.done(error);
      calls.clear();
      socket.destroy();
    };

    // Sends as much of a call's body as the windows allow; true when all of it is sent.
    const sendBody = (call: Call): boolean => {
      const length = call.body.length;
      if (length === 0) {
        write(frameHeader(0, DATA, END_STREAM, call.id));
        return true;
      }
      while (call.offset < length) {
        const n = Math.min(length - call.offset, connSendWindow, call.sendWindow, maxFrameSize);
        if (n <= 0) return false;
        const last = call.offset + n === length;
        write(frameHeader(n, DATA, last ? END_STREAM : 0, call.id));
        write(call.body.subarray(call.offset, call.offset + n));
        call.offset += n;
        connSendWindow -= n;
        call.sendWindow -= n;
      }
      return true;
    };
    const unblock = () => {
      while (blocked.length > 0 && sendBody(blocked[0]!)) blocked.shift();
    };

    const start = (headers: Buffer, path: string, message: Buffer, onMessage: Call['onMessage'], done: Call['done']) => {
      if (failed) return done(failed);
      const id = nextId;
      nextId += 2;
      const call: Call = {
        id,
        path,
        body: grpcFrame(message),
        offset: 0,
        sendWindow: peerInitialWindow,
        partial: null,
        received: 0,
        messages: 0,
        endAfterHeaders: false,
        onMessage,
        done,
      };
      calls.set(id, call);
      write(frameHeader(headers.length, HEADERS, END_HEADERS, id));
      write(headers);
      if (blocked.length > 0 || !sendBody(call)) blocked.push(call);
    };

    const finish = (call: Call, error?: Error) => {
      calls.delete(call.id);
      const i = blocked.indexOf(call);
      if (i !== -1) blocked.splice(i, 1);
      call.done(error);
    };

    const onData = (call: Call | undefined, payload: Buffer, flowLength: number) => {
      connReceived += flowLength;
      if (connReceived >= RECEIVE_WINDOW / 2) {
        write(Buffer.concat([frameHeader(4, WINDOW_UPDATE, 0, 0), u32(connReceived)]));
        connReceived = 0;
      }
      if (!call) return;
      call.received += flowLength;
      if (call.received >= RECEIVE_WINDOW / 2) {
        write(Buffer.concat([frameHeader(4, WINDOW_UPDATE, 0, call.id), u32(call.received)]));
        call.received = 0;
      }
      const buf = call.partial ? Buffer.concat([call.partial, payload]) : payload;
      let at = 0;
      while (buf.length - at >= 5) {
        const size = buf.readUInt32BE(at + 1);
        if (buf.length - at < 5 + size) break;
        const message = buf.subarray(at + 5, at + 5 + size);
        at += 5 + size;
        call.messages++;
        let more: boolean | void = undefined;
        let error: Error | undefined;
        try {
          more = call.onMessage(message);
        } catch (thrown) {
          error = thrown instanceof Error ? thrown : new Error(String(thrown));
        }
        if (more === false || error) {
          write(Buffer.concat([frameHeader(4, RST_STREAM, 0, call.id), u32(CANCEL)]));
          finish(call, error);
          return;
        }
      }
      call.partial = at === buf.length ? null : Buffer.from(buf.subarray(at));
    };

    const endStream = (call: Call) => {
      if (call.partial) return finish(call, new WireCallError(call.path, 'the response ended inside a message'));
      finish(call);
    };

    const onFrame = (type: number, flags: number, streamId: number, payload: Buffer) => {
      switch (type) {
        case DATA: {
          const call = calls.get(streamId);
          let body = payload;
          if (flags & PADDED) body = payload.subarray(1, payload.length - payload[0]!);
          onData(call, body, payload.length);
          if (call && flags & END_STREAM && calls.has(streamId)) endStream(call);
          return;
        }
        case HEADERS:
        case CONTINUATION: {
          // The header block is not decoded (see the top of the file): only where the stream ends.
          const call = calls.get(streamId);
          if (type === HEADERS && call && flags & END_STREAM) call.endAfterHeaders = true;
          if (call && flags & END_HEADERS && call.endAfterHeaders) endStream(call);
          return;
        }
        case RST_STREAM: {
          const call = calls.get(streamId);
          if (call) finish(call, new WireCallError(call.path, `stream reset by the server, code ${payload.readUInt32BE(0)}`));
          return;
        }
        case SETTINGS: {
          if (flags & ACK) return;
          for (let at = 0; at + 6 <= payload.length; at += 6) {
            const id = payload.readUInt16BE(at);
            const value = payload.readUInt32BE(at + 2);
            if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
              const delta = value - peerInitialWindow;
              peerInitialWindow = value;
              for (const call of calls.values()) call.sendWindow += delta;
            } else if (id === SETTINGS_MAX_FRAME_SIZE) {
              maxFrameSize = value;
            }
          }
          write(frameHeader(0, SETTINGS, ACK, 0));
          unblock();
          return;
        }
        case PING:
          if (!(flags & ACK)) write(Buffer.concat([frameHeader(8, PING, ACK, 0), payload]));
          return;
        case GOAWAY:
          fail(new Error(`the server closed the connection (GOAWAY, code ${payload.readUInt32BE(4)})`));
          return;
        case WINDOW_UPDATE: {
          const increment = payload.readUInt32BE(0) & 0x7fffffff;
          if (streamId === 0) connSendWindow += increment;
          else {
            const call = calls.get(streamId);
            if (call) call.sendWindow += increment;
          }
          unblock();
          return;
        }
        default:
        // PRIORITY, PUSH_PROMISE (disabled), unknown types: ignored.
      }
    };

    socket.on('data', (chunk: Buffer) => {
      const buf = inbox ? Buffer.concat([inbox, chunk]) : chunk;
      let at = 0;
      while (buf.length - at >= 9) {
        const length = buf.readUIntBE(at, 3);
        if (buf.length - at < 9 + length) break;
        const type = buf[at + 3]!;
        const flags = buf[at + 4]!;
        const streamId = buf.readUInt32BE(at + 5) & 0x7fffffff;
        const payload = buf.subarray(at + 9, at + 9 + length);
        at += 9 + length;
        onFrame(type, flags, streamId, payload);
        if (failed) return;
      }
      inbox = at === buf.length ? null : Buffer.from(buf.subarray(at));
    });
    socket.on('error', (error) => fail(error));
    socket.on('close', () => fail(new Error('the connection closed')));
    socket.once('connect', () => {
      const settings = Buffer.alloc(12);
      settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
      settings.writeUInt32BE(0, 2);
      settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
      settings.writeUInt32BE(RECEIVE_WINDOW, 8);
      write(
        Buffer.concat([
          PREFACE,
          frameHeader(settings.length, SETTINGS, 0, 0),
          settings,
          frameHeader(4, WINDOW_UPDATE, 0, 0),
          u32(RECEIVE_WINDOW - DEFAULT_WINDOW),
        ]),
      );
      resolve({
        unary: (headers, path, message) =>
          new Promise<Buffer>((ok, no) => {
            let response: Buffer | null = null;
            start(
              headers,
              path,
              message,
              (m) => {
                response = Buffer.from(m);
              },
              (error) => {
                if (error) no(error);
                else if (response) ok(response);
                else no(new WireCallError(path, 'the server answered without a message (an error status)'));
              },
            );
          }),
        stream: (headers, path, message, onMessage) =>
          new Promise<void>((ok, no) => {
            start(headers, path, message, onMessage, (error) => (error ? no(error) : ok()));
          }),
        close: () => {
          if (!failed) {
            failed = new Error('closed');
            socket.end();
          }
        },
      });
    });
    socket.once('error', reject);
  });
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}
