import { ServingStatus } from './health.js';
import type { HealthStatus } from './health.js';
import type { RequestHandler } from './listener.js';

/**
 * Plain HTTP next to the RPC routes (connect-node's fallback): `GET /healthz` for load
 * balancers and container runtimes, 200 while serving and 503 otherwise; 404 for the rest.
 */
export function plainHttp(
  request: Parameters<RequestHandler>[0],
  response: Parameters<RequestHandler>[1],
  health: HealthStatus,
  warnings: readonly string[] = [],
): void {
  const path = (request.url ?? '/').split('?')[0];
  if (path === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) {
    const serving = health.get('') === ServingStatus.SERVING;
    const body = JSON.stringify({ status: serving ? 'SERVING' : 'NOT_SERVING', ...(warnings.length > 0 ? { warnings } : {}) });
    response.writeHead(serving ? 200 : 503, { 'content-type': 'application/json' });
    response.end(request.method === 'HEAD' ? '' : body);
    return;
  }
  response.writeHead(404, { 'content-type': 'text/plain' });
  response.end('not found\n');
}
