import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { DescMethod } from '@bufbuild/protobuf';
import { context as otelContext, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, Span, Tracer } from '@opentelemetry/api';
import type { Logger } from '../log.js';
import { codeName } from '../metrics/rpcMetrics.js';
import type { ListenerName, RpcLabels, RpcMetrics } from '../metrics/rpcMetrics.js';

/** The header carrying a call's request id, in and out. */
export const REQUEST_ID_HEADER = 'x-request-id';

// A request id we echo and log: printable, short. Anything else is replaced by one of ours.
const USABLE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** What a transport adapter knows of a call as it starts. */
export interface CallStart {
  method: DescMethod;
  listener: ListenerName;
  /** `grpc`, `grpc-web` or `connect`. */
  protocol: string;
  header(name: string): string | undefined;
}

/** One call being observed: its request id, its log, its messages, its end. */
export interface ObservedCall {
  /** The caller's `x-request-id`, or one generated for it; echoed in the response headers. */
  readonly requestId: string;
  /** The service's log with the request id on every line. */
  readonly log: Logger;
  /** Runs `work` inside the call's trace span (as the parent of its SQL spans); just runs it when tracing is off. */
  run<T>(work: () => T): T;
  /** One message sent on a server stream. */
  sent(): void;
  /** The call ended with this gRPC status code; counted, logged and traced once. */
  end(code: number): void;
}

/** Starts observing calls: the one hook each transport adapter calls, so both listeners count alike. */
export interface CallObserver {
  begin(start: CallStart): ObservedCall;
}

/** What the observer records to. */
export interface CallObserverOptions {
  metrics: RpcMetrics;
  log: Logger;
  /** One access-log line per call (info): method, code, duration, principal, request id. Never payloads. */
  accessLog: boolean;
  tracer?: Tracer | undefined;
}

const headerGetter = {
  keys: () => [],
  get: (carrier: CallStart, key: string) => carrier.header(key),
};

/** Creates the call observer: gRPC metrics, request ids, the access log and (when on) a span per RPC. */
export function createCallObserver(options: CallObserverOptions): CallObserver {
  const { metrics, log, accessLog, tracer } = options;
  // The labels of each method, protocol and listener, made once: a call costs no string building.
  const labelCache = new WeakMap<DescMethod, Map<string, RpcLabels>>();
  const labelsOf = (start: CallStart): RpcLabels => {
    let byWay = labelCache.get(start.method);
    if (!byWay) labelCache.set(start.method, (byWay = new Map()));
    const key = start.listener === 'GRPC_PORT' ? start.protocol : `PORT ${start.protocol}`;
    let labels = byWay.get(key);
    if (!labels) {
      labels = {
        grpc_type: start.method.methodKind === 'unary' ? 'unary' : 'server_stream',
        grpc_service: start.method.parent.typeName,
        grpc_method: start.method.name,
        protocol: start.protocol,
        listener: start.listener,
      };
      byWay.set(key, labels);
    }
    return labels;
  };

  return {
    begin(start) {
      const began = performance.now();
      const labels = labelsOf(start);
      metrics.started(labels);
      const incoming = start.header(REQUEST_ID_HEADER);
      const requestId = incoming !== undefined && USABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
      let callLog: Logger | undefined;
      let span: Span | undefined;
      let spanContext: Context | undefined;
      if (tracer) {
        const parent = propagation.extract(otelContext.active(), start, headerGetter);
        span = tracer.startSpan(
          `${labels.grpc_service}/${labels.grpc_method}`,
          {
            kind: SpanKind.SERVER,
            attributes: {
              'rpc.system': 'grpc',
              'rpc.service': labels.grpc_service,
              'rpc.method': labels.grpc_method,
              'auren.listener': labels.listener,
              'auren.protocol': labels.protocol,
              'auren.request_id': requestId,
            },
          },
          parent,
        );
        spanContext = trace.setSpan(parent, span);
      }
      let ended = false;
      return {
        requestId,
        get log() {
          return (callLog ??= log.child({ reqId: requestId }));
        },
        run: (work) => (spanContext ? otelContext.with(spanContext, work) : work()),
        sent: () => metrics.sent(labels),
        end(code) {
          if (ended) return;
          ended = true;
          const seconds = (performance.now() - began) / 1000;
          metrics.handled(labels, code, seconds);
          if (accessLog && log.isLevelEnabled('info')) {
            log.info(
              {
                reqId: requestId,
                method: `/${labels.grpc_service}/${labels.grpc_method}`,
                listener: labels.listener,
                protocol: labels.protocol,
                code: codeName(code),
                durationMs: Math.round(seconds * 100_000) / 100,
                principal: start.header('x-auren-agent') ?? null,
              },
              'call',
            );
          }
          if (span) {
            span.setAttribute('rpc.grpc.status_code', code);
            if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: codeName(code) });
            span.end();
          }
        },
      };
    },
  };
}
