import { context, propagation, trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from '../log.js';

/** OpenTelemetry tracing, on when an OTLP endpoint is configured. */
export interface Tracing {
  tracer: Tracer;
  /** Sends the spans still buffered, then stops. */
  stop(): Promise<void>;
}

/** Tracing options: where spans go. */
export interface TracingOptions {
  /** OTLP over HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://collector:4318); spans go to `<url>/v1/traces`. */
  endpoint: string;
  serviceName: string;
  serviceVersion: string;
}

/**
 * Starts tracing: a span per RPC and per SQL statement, batched and exported over OTLP/HTTP.
 * Registers the async context manager and W3C propagator (so SQL spans nest under their RPC and
 * an incoming `traceparent` is continued) — only when tracing is on: off, nothing of
 * OpenTelemetry runs and the calls pay for one `undefined` check each.
 */
export async function startTracing(options: TracingOptions, log: Logger): Promise<Tracing> {
  // Loaded only when tracing is on: OpenTelemetry's SDK and exporter hold ~15 MiB of a server.
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor }, { NodeTracerProvider }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.serviceVersion }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  log.info({ endpoint: options.endpoint }, 'tracing: spans exported over OTLP');
  return {
    tracer: provider.getTracer('auren', options.serviceVersion),
    async stop() {
      await provider.shutdown().catch((error: unknown) => log.warn({ err: error }, 'tracing: flushing spans failed'));
      // Back to OpenTelemetry's no-op globals (slonik traces through them too): nothing is left registered.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
