import { cors } from '@connectrpc/connect';
import type { RequestHandler } from './listener.js';

/**
 * Lets browser pages from the allowed origins call the service (Connect and gRPC-Web over
 * HTTP/1.1). No origins: browsers may call it only from its own origin. `*` allows every
 * origin — for health data, only behind authentication.
 */
export function withCors(handler: RequestHandler, origins: readonly string[]): RequestHandler {
  if (origins.length === 0) return handler;
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  return (request, response) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !(anyOrigin || allowed.has(origin))) {
      handler(request, response);
      return;
    }
    response.setHeader('access-control-allow-origin', anyOrigin ? '*' : origin);
    response.setHeader('vary', 'origin');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      response.writeHead(204, {
        'access-control-allow-methods': cors.allowedMethods.join(', '),
        // authorization: the API key (src/auth/).
        'access-control-allow-headers': [...cors.allowedHeaders, 'X-Request-Id', 'authorization'].join(', '),
        'access-control-max-age': '7200',
      });
      response.end();
      return;
    }
    // The request id too, so a page can report it (observeCall.ts).
    response.setHeader('access-control-expose-headers', [...cors.exposedHeaders, 'X-Request-Id'].join(', '));
    handler(request, response);
  };
}
