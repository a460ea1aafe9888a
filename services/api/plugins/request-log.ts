import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal } from '../auth/tokens.js';

/** At most this much of a URL goes into a log line. */
const URL_MAX = 300;

/**
 * One line per answered request (Fastify's own request logging is off): debug for 2xx and
 * 3xx, info for 4xx, error for 5xx. A line names the method, URL, route, status, duration,
 * client address and the token's tenant and user when verified; never a header (the
 * Authorization header is not logged at all).
 */
export const requestLogPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onResponse', async (request, reply) => {
      const status = reply.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
      const principal = request.principal as Principal | null;
      const url = request.url.length > URL_MAX ? `${request.url.slice(0, URL_MAX)}…` : request.url;
      request.log[level](
        {
          method: request.method,
          url,
          route: request.routeOptions.url ?? null,
          status,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          ip: request.ip,
          ...(principal ? { tenant: principal.tenantId, user: principal.userId } : {}),
        },
        'request',
      );
    });
  },
  { name: 'request-log' },
);
