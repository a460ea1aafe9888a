import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal } from '../auth/tokens.js';
import { ApiError } from '../errors.js';

export interface RateLimitOptions {
  /** Requests per window of one user (tenant + subject), or of one client address without a valid token. */
  perUser: number;
  /** Requests per window of all users of one tenant together. */
  perTenant: number;
  windowMs?: number;
  /**
   * API replicas the budgets are split between (API_REPLICAS, default 1): each replica enforces
   * ceil(limit / replicas), so that a client spread over every replica gets the limit in all.
   */
  replicas?: number;
}

/** Routes never limited: the probes and the scrape, which orchestrators and Prometheus call. */
export const UNLIMITED_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** Keys kept per limiter (least recently used go first). */
const KEYS = 50_000;

const principalOf = (request: FastifyRequest): Principal | null => request.principal as Principal | null;

/**
 * Rate limits of every request but the probes (UNLIMITED_ROUTES, matched by the routed path,
 * never by the request target's spelling: an absolute-form target, `//v1/…` or a 404 is
 * limited like any other), after the token is verified (register after the auth plugin): by the
 * verified identity, never by the header's spelling; a request without a valid token by its
 * client address (request.ip, which honours TRUST_PROXY only). A request the user's limit
 * refuses does not count against the tenant's budget.
 */
export const rateLimitPlugin = fp(
  async (app: FastifyInstance, options: RateLimitOptions) => {
    const timeWindow = options.windowMs ?? 60_000;
    const replicas = options.replicas ?? 1;
    const share = (limit: number) => Math.ceil(limit / replicas);
    await app.register(rateLimit, { global: false, cache: KEYS });
    const perUser = app.createRateLimit({
      max: share(options.perUser),
      timeWindow,
      keyGenerator: (request) => {
        const principal = principalOf(request);
        return principal ? `user:${JSON.stringify([principal.tenantId, principal.userId])}` : `ip:${request.ip}`;
      },
    });
    const perTenant = app.createRateLimit({
      max: share(options.perTenant),
      timeWindow,
      keyGenerator: (request) => `tenant:${principalOf(request)!.tenantId}`,
    });
    const minutes = timeWindow === 60_000 ? 'minute' : `${timeWindow / 1000} s`;
    const limitText = (limit: number) =>
      replicas === 1
        ? `${limit} requests per ${minutes}`
        : `${limit} requests per ${minutes} (${share(limit)} on each of ${replicas} API replicas)`;

    app.addHook('onRequest', async (request, reply) => {
      // The routed path (undefined for a 404): the same whatever form the request target took.
      const route = request.routeOptions.url;
      if (route !== undefined && UNLIMITED_ROUTES.has(route)) return;
      const user = await perUser(request);
      if (user.isAllowed) return;
      if (user.isExceeded) {
        const who = principalOf(request) ? 'this user' : 'this client address';
        throw new ApiError(
          'RATE_LIMITED',
          `rate limit of ${limitText(options.perUser)} for ${who} exceeded; retry in ${user.ttlInSeconds} s`,
          { 'retry-after': String(user.ttlInSeconds) },
        );
      }
      let limit = user;
      if (principalOf(request)) {
        const tenant = await perTenant(request);
        if (!tenant.isAllowed && tenant.isExceeded) {
          throw new ApiError(
            'RATE_LIMITED',
            `rate limit of ${limitText(options.perTenant)} for all users of the tenant exceeded; retry in ${tenant.ttlInSeconds} s`,
            { 'retry-after': String(tenant.ttlInSeconds) },
          );
        }
        if (!tenant.isAllowed && tenant.remaining < user.remaining) limit = tenant;
      }
      reply.headers({
        'x-ratelimit-limit': String(limit.max),
        'x-ratelimit-remaining': String(limit.remaining),
        'x-ratelimit-reset': String(limit.ttlInSeconds),
      });
    });
  },
  { name: 'rate-limit', dependencies: ['auth'] },
);
