import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import { Health, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus } from '../gen/health/v1/health_pb.js';
import type { HealthCheckRequest, HealthCheckResponse } from '../gen/health/v1/health_pb.js';

/** Serving status of a service, as in grpc.health.v1 (SERVICE_UNKNOWN is only ever sent by Watch). */
export { HealthCheckResponse_ServingStatus as ServingStatus };
type ServingStatus = HealthCheckResponse_ServingStatus;

/** Callbacks of one Watch subscription: every status change, and the end of the watch at shutdown. */
export interface HealthListener {
  change(status: ServingStatus): void;
  end(): void;
}

/** Callbacks of a subscription to every service: each status change, and the shutdown. */
export interface HealthWatcher {
  change(service: string, status: ServingStatus): void;
  end(): void;
}

/** Serving status per service name ("" is the whole server), with subscriptions for Watch. */
export interface HealthStatus {
  /** Sets a service's status and tells its watchers if it changed; ignored after shutdown(). */
  set(service: string, status: ServingStatus): void;
  /** The service's status, or undefined if the name was never set. */
  get(service: string): ServingStatus | undefined;
  /** A snapshot of every known service and its status. */
  list(): ReadonlyMap<string, ServingStatus>;
  /** Subscribes to one service's changes; call the returned function to unsubscribe. */
  subscribe(service: string, listener: HealthListener): () => void;
  /** Subscribes to every service's changes (another health server kept in sync); call the returned function to unsubscribe. */
  subscribeAll(watcher: HealthWatcher): () => void;
  /** Sets every service to NOT_SERVING, ends all watches and freezes the statuses. */
  shutdown(): void;
  /** Whether shutdown() has been called. */
  readonly isShutdown: boolean;
}

/** Creates a health status registry in which the whole server ("") starts as SERVING. */
export function createHealthStatus(): HealthStatus {
  const statuses = new Map<string, ServingStatus>([['', HealthCheckResponse_ServingStatus.SERVING]]);
  const listeners = new Map<string, Set<HealthListener>>();
  const watchers = new Set<HealthWatcher>();
  let isShutdown = false;

  function update(service: string, status: ServingStatus): void {
    if (statuses.get(service) === status) return;
    statuses.set(service, status);
    for (const w of [...watchers]) w.change(service, status);
    for (const l of [...(listeners.get(service) ?? [])]) l.change(status);
  }

  return {
    set(service, status) {
      // As in grpc-go: once shut down, late set() calls must not flip the server back to SERVING.
      if (!isShutdown) update(service, status);
    },
    get: (service) => statuses.get(service),
    list: () => new Map(statuses),
    subscribe(service, listener) {
      let set = listeners.get(service);
      if (!set) listeners.set(service, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(service) === set) listeners.delete(service);
      };
    },
    subscribeAll(watcher) {
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
    shutdown() {
      if (isShutdown) return;
      for (const service of statuses.keys()) update(service, HealthCheckResponse_ServingStatus.NOT_SERVING);
      isShutdown = true;
      const all = [...listeners.values()].flatMap((s) => [...s]);
      listeners.clear();
      for (const l of all) l.end();
      const allWatchers = [...watchers];
      watchers.clear();
      for (const w of allWatchers) w.end();
    },
    get isShutdown() {
      return isShutdown;
    },
  };
}

function response(status: ServingStatus): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status });
}

async function* watch(health: HealthStatus, req: HealthCheckRequest, ctx: HandlerContext) {
  // Only the latest status is kept, so a slow client gets the newest state rather than a backlog.
  let pending: ServingStatus | undefined = health.get(req.service) ?? HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;
  let ended = health.isShutdown;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const unsubscribe = health.subscribe(req.service, {
    change(status) {
      pending = status;
      notify();
    },
    end() {
      ended = true;
      notify();
    },
  });
  const onAbort = () => {
    unsubscribe();
    ended = true;
    notify();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();
  try {
    for (;;) {
      if (pending !== undefined && !ctx.signal.aborted) {
        const status: ServingStatus = pending;
        pending = undefined;
        yield response(status);
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    unsubscribe();
  }
}

/** Registers grpc.health.v1.Health (Check, Watch, List) on the router, backed by `health`. */
export function registerHealth(router: ConnectRouter, health: HealthStatus): ConnectRouter {
  return router.service(Health, {
    check(req) {
      const status = health.get(req.service);
      if (status === undefined) throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
      return response(status);
    },
    watch: (req, ctx) => watch(health, req, ctx),
    list() {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const [service, status] of health.list()) statuses[service] = response(status);
      return { statuses };
    },
  });
}
