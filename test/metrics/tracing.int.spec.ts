import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream } from '../support/events.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

/** A stand-in OTLP/HTTP collector (JSON): the spans it was sent. */
async function startCollector(): Promise<{ url: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const sent = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const resource of sent.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('OpenTelemetry tracing with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  let t: TestApp;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  before(async () => {
    collector = await startCollector();
    t = await startTestApp({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
  });
  after(() => collector?.close());

  it("exports a span per RPC, continuing the caller's traceparent, with its SQL statements as children", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await t.events.getStreamInfo({ streamId: freshStream() }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    // Stopping flushes the spans still batched.
    await t.stop();
    const rpc = collector.spans.find((s) => s.name === 'auren.v1.EventStoreService/GetStreamInfo');
    assert.ok(rpc, `an RPC span among ${collector.spans.map((s) => s.name).join(', ')}`);
    assert.equal(rpc.traceId, traceId);
    assert.equal(rpc.parentSpanId, '00f067aa0ba902b7');
    // slonik adds spans of its own (connection, interceptors) between the RPC and the statement.
    const byId = new Map(collector.spans.map((span) => [span.spanId, span]));
    const under = (span: OtlpSpan, ancestor: OtlpSpan): boolean =>
      span.parentSpanId === ancestor.spanId ||
      (!!span.parentSpanId && !!byId.get(span.parentSpanId) && under(byId.get(span.parentSpanId)!, ancestor));
    // The key's row is read once per AUTH_CACHE_MS (src/auth/keys.ts): not the RPC's own statement.
    const statements = collector.spans.filter(
      (span) => span.name.startsWith('db ') && span.name !== 'db select api_keys' && under(span, rpc),
    );
    assert.deepEqual(
      statements.map((span) => span.name),
      ['db select streams'],
    );
    assert.ok(statements.every((span) => span.traceId === traceId));
  });
});
