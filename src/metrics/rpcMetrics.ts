import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** Which listener served a call: PORT (connect-node) or GRPC_PORT (grpc-js). */
export type ListenerName = 'PORT' | 'GRPC_PORT';

/** What every counter of one RPC is labelled with. */
export interface RpcLabels {
  /** `unary` or `server_stream`, as go-grpc-prometheus names them. */
  grpc_type: string;
  grpc_service: string;
  grpc_method: string;
  /** `grpc`, `grpc-web` or `connect`. */
  protocol: string;
  listener: ListenerName;
}

/** The gRPC server metrics every Prometheus user knows (go-grpc-prometheus's names), per listener and protocol. */
export interface RpcMetrics {
  started(labels: RpcLabels): void;
  /** The call ended with `code` (a gRPC status code) after `seconds`. */
  handled(labels: RpcLabels, code: number, seconds: number): void;
  /** One message sent on a server stream. */
  sent(labels: RpcLabels): void;
}

// google.rpc.Code names, as grpc_code carries them.
const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The name of a gRPC status code (`OK`, `INVALID_ARGUMENT`…); UNKNOWN for a number outside the table. */
export function codeName(code: number): string {
  return CODE_NAMES[code] ?? 'UNKNOWN';
}

const LABELS = ['grpc_type', 'grpc_service', 'grpc_method', 'protocol', 'listener'] as const;

/** Registers the RPC metrics on `registry`. */
export function createRpcMetrics(registry: Registry): RpcMetrics {
  const registers = [registry];
  const started = new Counter({
    name: 'grpc_server_started_total',
    help: 'RPCs started on the server.',
    labelNames: LABELS,
    registers,
  });
  const handled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'RPCs completed on the server, whatever their status.',
    labelNames: [...LABELS, 'grpc_code'],
    registers,
  });
  const handling = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'Time from the start of an RPC to its status, as the server sees it (a stream: its whole life).',
    labelNames: LABELS,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  // Messages sent since the last read of the metric, per labels (one object per method, listener
  // and protocol), added to the counter when it is read: counted into prom-client one by one,
  // each message hashed its labels (2.6% of a catch-up's server time).
  const unsent = new Map<RpcLabels, number>();
  new Counter({
    name: 'grpc_server_msg_sent_total',
    help: 'Messages sent by the server on server streams.',
    labelNames: LABELS,
    registers,
    collect() {
      for (const [labels, count] of unsent) this.inc(labels as never, count);
      unsent.clear();
    },
  });
  // The handled counter's labels per call labels and code, made once.
  const withCode = new WeakMap<RpcLabels, Map<number, RpcLabels & { grpc_code: string }>>();
  const handledLabels = (labels: RpcLabels, code: number) => {
    let byCode = withCode.get(labels);
    if (!byCode) withCode.set(labels, (byCode = new Map()));
    let result = byCode.get(code);
    if (!result) byCode.set(code, (result = { ...labels, grpc_code: codeName(code) }));
    return result;
  };
  return {
    started: (labels) => started.inc(labels as never),
    handled(labels, code, seconds) {
      handled.inc(handledLabels(labels, code));
      handling.observe(labels as never, seconds);
    },
    sent: (labels) => void unsent.set(labels, (unsent.get(labels) ?? 0) + 1),
  };
}
