import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { envelope, rawClient } from '../support/wire.js';

// Connections the service does not let a client hold for free: early refusals end the upload,
// idle and half-sent connections are closed, and the numbers of connections and streams are
// capped, on both listeners.

const APPEND = 'auren.v1.EventStoreService/AppendToStream';

describe('Connections', function () {
  this.timeout(30_000);

  describe('a request refused before its body is read', () => {
    let t: TestApp;
    before(async () => (t = await startTestApp({ MESSAGE_MAX_BYTES: '65536' })));
    after(() => t.stop());

    it('over HTTP/2: RESOURCE_EXHAUSTED in the trailers, then RST_STREAM(NO_ERROR) so the client stops uploading', async () => {
      const session = http2.connect(t.app.url);
      try {
        const stream = session.request({ ':method': 'POST', ':path': `/${APPEND}`, 'content-type': 'application/grpc', te: 'trailers' });
        let trailers: http2.IncomingHttpHeaders = {};
        stream.on('trailers', (t) => (trailers = t));
        stream.on('data', () => undefined);
        stream.on('error', () => undefined);
        // 64 MiB announced; a client that kept sending after the refusal would take seconds.
        const chunk = Buffer.alloc(1 << 20);
        stream.write(envelope(Buffer.alloc(0)).subarray(0, 1));
        stream.write(Buffer.from([0x04, 0x00, 0x00, 0x00]));
        let sent = 0;
        const closed = new Promise<void>((resolve) => stream.once('close', resolve));
        while (!stream.closed && sent < 64) {
          if (!stream.write(chunk)) await Promise.race([new Promise((r) => stream.once('drain', r)), closed]);
          sent++;
        }
        await closed;
        assert.equal(trailers['grpc-status'], '8', JSON.stringify(trailers));
        assert.equal(stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
        assert.ok(sent < 64, `the client sent all ${sent} MiB`);
        // The connection goes on serving other calls.
        const other = session.request({ ':path': '/healthz' });
        other.on('data', () => undefined);
        const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => other.once('response', resolve));
        await new Promise((resolve) => other.once('end', resolve));
        assert.equal(headers[':status'], 200);
      } finally {
        session.close();
      }
    });

    it('over HTTP/1.1: the answer says connection: close, and the next request on a new connection is served', async () => {
      const client = rawClient({ url: t.app.url, grpcPort: t.app.grpcPort, authorization: t.authorization });
      const big = JSON.stringify({ streamId: 'x'.repeat(200_000) });
      const response = await fetch(`${t.app.url}/${APPEND}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: big,
      });
      assert.equal(response.status, 429);
      assert.equal(response.headers.get('connection'), 'close');
      await response.arrayBuffer();
      // Before: the rest of the refused body was read as the next request, and a later call hung.
      for (let i = 0; i < 3; i++) {
        const outcome = await client.call('connect+json', 'auren.v1.EventStoreService/GetStreamInfo', '{"streamId":"a"}', false);
        assert.equal(outcome.code, 'OK');
      }
      client.close();
    });
  });
});

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
// An empty SETTINGS frame: what a client sends after the preface.
const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);

describe('Connection hygiene on both listeners', function () {
  this.timeout(30_000);
  let t: TestApp;
  const ports = () =>
    [
      ['PORT', t.app.port],
      ['GRPC_PORT', t.app.grpcPort],
    ] as const;
  before(
    async () =>
      (t = await startTestApp({
        CONNECTION_IDLE_TIMEOUT_MS: '1000',
        HEADERS_TIMEOUT_MS: '500',
        KEEPALIVE_TIME_MS: '60000',
        MAX_STREAMS_PER_CONNECTION: '7',
      })),
  );
  after(() => t.stop());

  it('closes a connection that sends nothing', async () => {
    for (const [name, port] of ports()) {
      const ms = await timeToClose(port);
      assert.ok(ms < 3_000, `${name}: closed after ${ms} ms`);
    }
  });

  it('closes a connection that sent 23 of the 24 bytes of the HTTP/2 preface', async () => {
    for (const [name, port] of ports()) {
      const ms = await timeToClose(port, H2_PREFACE.subarray(0, 23));
      assert.ok(ms < 3_000, `${name}: closed after ${ms} ms`);
    }
  });

  it('closes an HTTP/1.1 connection whose headers come a byte at a time', async () => {
    const socket = net.connect(t.app.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    const started = Date.now();
    const request = Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100));
    let stop = false;
    void closed.then(() => (stop = true));
    for (const byte of request) {
      if (stop) break;
      socket.write(Buffer.from([byte]));
      await sleep(50);
    }
    const ms = (await closed) - started;
    assert.ok(ms < 4_000, `closed after ${ms} ms`);
  });

  it('closes an HTTP/2 connection with no call open for the idle timeout, with GOAWAY', async () => {
    for (const [name, port] of ports()) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', () => undefined);
      const started = Date.now();
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      await new Promise<void>((resolve) => session.once('close', resolve));
      await goaway;
      const ms = Date.now() - started;
      assert.ok(ms >= 900 && ms < 5_000, `${name}: closed after ${ms} ms`);
    }
  });

  it('keeps an HTTP/2 connection that holds a quiet tail past the idle timeout', async () => {
    for (const [name, port] of ports()) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', () => undefined);
      const tail = session.request({
        ':method': 'POST',
        ':path': '/auren.v1.EventStoreService/SubscribeToAll',
        'content-type': 'application/grpc',
        te: 'trailers',
        authorization: t.authorization,
      });
      tail.on('data', () => undefined);
      tail.on('error', () => undefined);
      tail.end(envelope(Buffer.alloc(0)));
      await sleep(2_500);
      assert.ok(!session.closed && !session.destroyed, `${name}: the connection was closed under its tail`);
      tail.close();
      session.close();
    }
  });

  it('tells HTTP/2 clients how many calls a connection may hold', async () => {
    for (const [name, port] of ports()) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', () => undefined);
      await new Promise((resolve) => session.once('remoteSettings', resolve));
      assert.equal(session.remoteSettings.maxConcurrentStreams, 7, name);
      session.close();
    }
  });
});

describe('HTTP/2 keepalive and the connection cap', function () {
  this.timeout(30_000);

  it('cuts a connection that does not answer pings', async () => {
    const t = await startTestApp({ KEEPALIVE_TIME_MS: '1000', KEEPALIVE_TIMEOUT_MS: '500' });
    try {
      for (const port of [t.app.port, t.app.grpcPort]) {
        // A peer that speaks HTTP/2's opening and then nothing: it never acknowledges a ping.
        const ms = await timeToClose(port, Buffer.concat([H2_PREFACE, SETTINGS]));
        assert.ok(ms < 6_000, `${port}: closed after ${ms} ms`);
      }
    } finally {
      await t.stop();
    }
  });

  it('closes connections beyond MAX_CONNECTIONS at once, and serves again when some close', async () => {
    const t = await startTestApp({ MAX_CONNECTIONS: '4' });
    try {
      for (const port of [t.app.port, t.app.grpcPort]) {
        const held = await Promise.all(
          Array.from(
            { length: 4 },
            () =>
              new Promise<http2.ClientHttp2Session>((resolve) => {
                const session = http2.connect(`http://127.0.0.1:${port}`);
                session.on('error', () => undefined);
                session.once('remoteSettings', () => resolve(session));
              }),
          ),
        );
        const ms = await timeToClose(port);
        assert.ok(ms < 500, `${port}: the fifth connection stayed ${ms} ms`);
        for (const session of held) session.destroy();
        await sleep(100);
        const session = http2.connect(`http://127.0.0.1:${port}`);
        session.on('error', () => undefined);
        await new Promise((resolve) => session.once('remoteSettings', resolve));
        session.close();
      }
    } finally {
      await t.stop();
    }
  });
});

/** Opens a TCP connection to `port` and resolves when the server closes it, with the time it took. */
export function timeToClose(port: number, send?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => send && socket.write(send));
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - started));
    setTimeout(() => reject(new Error('still open after 20 s')), 20_000).unref();
  });
}
export { sleep };
