import type { Server, ServerWritableStream, UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { ServingStatus as GrpcServingStatus } from 'grpc-health-check';
import { ServingStatus } from './health.js';
import type { HealthStatus } from './health.js';

// grpc-health-check names statuses; ours are grpc.health.v1's numbers (SERVICE_UNKNOWN is
// only ever sent by Watch, for a name never set).
const NAMES: Record<ServingStatus, GrpcServingStatus> = {
  [ServingStatus.UNKNOWN]: 'UNKNOWN',
  [ServingStatus.SERVING]: 'SERVING',
  [ServingStatus.NOT_SERVING]: 'NOT_SERVING',
  [ServingStatus.SERVICE_UNKNOWN]: 'UNKNOWN',
};

/**
 * Serves grpc.health.v1.Health on a grpc-js server with grpc-health-check's implementation,
 * kept in sync with `health` (the statuses PORT serves: NOT_SERVING while PostgreSQL does not
 * answer, and from shutdown on). At shutdown its open Watch calls end, as they do on PORT,
 * rather than hold the server's graceful stop until its grace period runs out.
 */
export function addGrpcHealth(server: Pick<Server, 'addService'>, health: HealthStatus): void {
  const implementation = new HealthImplementation(
    Object.fromEntries([...health.list()].map(([service, status]) => [service, NAMES[status]])),
  );
  const watches = new Set<ServerWritableStream<unknown, unknown>>();
  health.subscribeAll({
    change: (service, status) => implementation.setStatus(service, NAMES[status]),
    end() {
      for (const call of watches) call.end();
      watches.clear();
    },
  });
  implementation.addToServer({
    addService(service, methods) {
      server.addService(service, { ...methods, watch: endingWatch(methods, watches, health) } as UntypedServiceImplementation);
    },
  });
}

// grpc-health-check's Watch, tracked so that shutdown can end it.
function endingWatch(
  methods: UntypedServiceImplementation,
  watches: Set<ServerWritableStream<unknown, unknown>>,
  health: HealthStatus,
): UntypedHandleCall {
  const watch = methods.watch as (call: ServerWritableStream<unknown, unknown>) => void;
  return (call: ServerWritableStream<unknown, unknown>) => {
    watch(call);
    if (health.isShutdown) {
      call.end();
      return;
    }
    watches.add(call);
    call.once('cancelled', () => watches.delete(call));
  };
}
