import { ServingStatus } from './health.js';
import type { HealthStatus } from './health.js';
import type { RequestHandler } from './listener.js';
import type { Readiness } from './readiness.js';

type Request = Parameters<RequestHandler>[0];
type Response = Parameters<RequestHandler>[1];

/** What the plain HTTP routes answer from. */
export interface PlainRoutes {
  health: HealthStatus;
  /** GET /readyz; absent: not served here. */
  readiness?: () => Promise<Readiness>;
  /** GET /metrics (Prometheus exposition); absent: not served here. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** A page served at GET /dashboard/ (its files by name); absent: not served here. */
  dashboard?: (path: string) => { contentType: string; body: Buffer } | undefined;
  /** Said in /healthz's answer (anonymous access: src/auth/). */
  warnings?: readonly string[];
}

/**
 * Plain HTTP next to the RPC routes (connect-node's fallback, and the admin port): `GET
 * /healthz` for load balancers and container runtimes (alive: 200 while serving, 503
 * otherwise), `GET /readyz` (the database answers and the schema is applied), `GET /metrics`
 * for Prometheus, the dashboard's files; 404 for the rest.
 */
export function plainHttp(request: Request, response: Response, routes: PlainRoutes): void {
  const path = (request.url ?? '/').split('?')[0]!;
  const read = request.method === 'GET' || request.method === 'HEAD';
  const send = (status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': contentType, ...headers });
    response.end(request.method === 'HEAD' ? '' : body);
  };
  if (read && path === '/healthz') {
    const serving = routes.health.get('') === ServingStatus.SERVING;
    const warnings = routes.warnings?.length ? { warnings: routes.warnings } : {};
    send(serving ? 200 : 503, 'application/json', JSON.stringify({ status: serving ? 'SERVING' : 'NOT_SERVING', ...warnings }));
    return;
  }
  if (read && path === '/readyz' && routes.readiness) {
    const shuttingDown = routes.health.isShutdown;
    routes.readiness().then(
      (readiness) => {
        const ready = readiness.ready && !shuttingDown;
        send(ready ? 200 : 503, 'application/json', JSON.stringify({ status: ready ? 'READY' : 'NOT_READY', ...readiness, ready }));
      },
      (error: unknown) => send(503, 'application/json', JSON.stringify({ status: 'NOT_READY', error: String(error) })),
    );
    return;
  }
  if (read && path === '/metrics' && routes.metrics) {
    routes.metrics().then(
      ({ contentType, body }) => send(200, contentType, body),
      (error: unknown) => send(500, 'text/plain', `metrics failed: ${String(error)}\n`),
    );
    return;
  }
  if (read && routes.dashboard && (path === '/dashboard' || path.startsWith('/dashboard/'))) {
    if (path === '/dashboard') {
      send(308, 'text/plain', 'see /dashboard/\n', { location: '/dashboard/' });
      return;
    }
    const file = routes.dashboard(path.slice('/dashboard/'.length) || 'index.html');
    if (file) {
      send(200, file.contentType, file.body, { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
      return;
    }
  }
  send(404, 'text/plain', 'not found\n');
}
