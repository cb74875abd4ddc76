import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import https from 'node:https';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { makeCertificate } from '../support/tls.js';
import type { TestCertificate } from '../support/tls.js';
import { envelope } from '../support/wire.js';

// PORT over TLS keeps the connection hygiene it has in the clear (connections.int.spec.ts):
// early refusals end the upload, slow and silent connections are cut, the cap holds.

const APPEND = 'auren.v1.EventStoreService/AppendToStream';

describe('Connection hygiene on PORT over TLS', function () {
  this.timeout(30_000);
  let cert: TestCertificate;
  let t: TestApp;
  before(async () => {
    cert = makeCertificate();
    t = await startTestApp({
      TLS_CERT_FILE: cert.certFile,
      TLS_KEY_FILE: cert.keyFile,
      MESSAGE_MAX_BYTES: '65536',
      HEADERS_TIMEOUT_MS: '500',
      CONNECTION_IDLE_TIMEOUT_MS: '1000',
    });
  });
  after(async () => {
    await t.stop();
    cert.remove();
  });

  // A TLS connection to PORT, handshaken, offering `alpn`; resolves to it and the time the server closes it.
  const secureConnection = (alpn: string[]) =>
    new Promise<{ socket: tls.TLSSocket; closed: Promise<number> }>((resolve, reject) => {
      const socket = tls.connect({ port: t.app.port, host: '127.0.0.1', ca: cert.ca, ALPNProtocols: alpn, servername: 'localhost' });
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now())));
      socket.once('secureConnect', () => resolve({ socket, closed }));
      setTimeout(() => reject(new Error('no handshake')), 5_000).unref();
    });

  it('closes a connection that never starts TLS', async () => {
    const ms = await timeToClose(t.app.port);
    assert.ok(ms < 3_000, `closed after ${ms} ms`);
  });

  it('closes a TLS connection that chose HTTP/2 and never sends its preface', async () => {
    const { socket, closed } = await secureConnection(['h2']);
    assert.equal(socket.alpnProtocol, 'h2');
    const started = Date.now();
    const ms = (await closed) - started;
    // Before: held until the idle timeout's GOAWAY went unanswered (about 2 s here).
    assert.ok(ms < 1_500, `closed after ${ms} ms`);
  });

  it('closes a TLS connection that chose HTTP/1.1 and never sends a request', async () => {
    const { socket, closed } = await secureConnection(['http/1.1']);
    assert.equal(socket.alpnProtocol, 'http/1.1');
    const started = Date.now();
    const ms = (await closed) - started;
    assert.ok(ms < 4_000, `closed after ${ms} ms`);
  });

  it('closes an HTTP/1.1 connection over TLS whose headers come a byte at a time', async () => {
    const { socket, closed } = await secureConnection(['http/1.1']);
    const started = Date.now();
    let stop = false;
    void closed.then(() => (stop = true));
    for (const byte of Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100))) {
      if (stop) break;
      socket.write(Buffer.from([byte]));
      await sleep(50);
    }
    const ms = (await closed) - started;
    assert.ok(ms < 4_000, `closed after ${ms} ms`);
  });

  it('over HTTP/2: answers an oversized request early, then RST_STREAM(NO_ERROR) so the client stops uploading', async () => {
    const session = http2.connect(t.app.url, { ca: cert.ca });
    session.on('error', () => undefined);
    try {
      const stream = session.request({ ':method': 'POST', ':path': `/${APPEND}`, 'content-type': 'application/grpc', te: 'trailers' });
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on('trailers', (received) => (trailers = received));
      stream.on('data', () => undefined);
      stream.on('error', () => undefined);
      stream.write(envelope(Buffer.alloc(0)).subarray(0, 1));
      stream.write(Buffer.from([0x04, 0x00, 0x00, 0x00]));
      const chunk = Buffer.alloc(1 << 20);
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
    } finally {
      session.close();
    }
  });

  it('over HTTP/1.1: an early answer says connection: close', async () => {
    const body = JSON.stringify({ streamId: 'x'.repeat(200_000) });
    // A client that keeps its connection open, as browsers do.
    const agent = new https.Agent({ keepAlive: true, ca: cert.ca });
    const { status, connection } = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const request = https.request(
        `${t.app.url}/${APPEND}`,
        { method: 'POST', headers: { 'content-type': 'application/json', authorization: t.authorization }, agent },
        (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode!, connection: response.headers.connection }));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
    agent.destroy();
    assert.equal(status, 429);
    assert.equal(connection, 'close');
  });

  it('closes an HTTP/2 connection over TLS with no call open for the idle timeout, with GOAWAY', async () => {
    const session = http2.connect(t.app.url, { ca: cert.ca });
    session.on('error', () => undefined);
    const started = Date.now();
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    await new Promise<void>((resolve) => session.once('close', resolve));
    await goaway;
    const ms = Date.now() - started;
    assert.ok(ms >= 900 && ms < 5_000, `closed after ${ms} ms`);
  });
});

// Opens a TCP connection to `port` and resolves when the server closes it, with the time it took.
function timeToClose(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - started));
    setTimeout(() => reject(new Error('still open after 20 s')), 20_000).unref();
  });
}
