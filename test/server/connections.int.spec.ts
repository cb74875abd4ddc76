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
      const client = rawClient({ url: t.app.url, grpcPort: t.app.grpcPort });
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
