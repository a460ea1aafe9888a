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
}

/** Keys kept per limiter (least recently used go first). */
const KEYS = 50_000;

const principalOf = (request: FastifyRequest): Principal | null => request.principal as Principal | null;

/**
 * Rate limits of /v1/*, after the token is verified (register after the auth plugin): by the
 * verified identity, never by the header's spelling; a request without a valid token by its
 * client address (request.ip, which honours TRUST_PROXY only). A request the user's limit
 * refuses does not count against the tenant's budget.
 */
export const rateLimitPlugin = fp(
  async (app: FastifyInstance, options: RateLimitOptions) => {
    const timeWindow = options.windowMs ?? 60_000;
    await app.register(rateLimit, { global: false, cache: KEYS });
    const perUser = app.createRateLimit({
      max: options.perUser,
      timeWindow,
      keyGenerator: (request) => {
        const principal = principalOf(request);
        return principal ? `user:${JSON.stringify([principal.tenantId, principal.userId])}` : `ip:${request.ip}`;
      },
    });
    const perTenant = app.createRateLimit({
      max: options.perTenant,
      timeWindow,
      keyGenerator: (request) => `tenant:${principalOf(request)!.tenantId}`,
    });
    const minutes = timeWindow === 60_000 ? 'minute' : `${timeWindow / 1000} s`;

    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/v1/')) return;
      const user = await perUser(request);
      if (user.isAllowed) return;
      if (user.isExceeded) {
        const who = principalOf(request) ? 'this user' : 'this client address';
        throw new ApiError(
          'RATE_LIMITED',
          `rate limit of ${user.max} requests per ${minutes} for ${who} exceeded; retry in ${user.ttlInSeconds} s`,
          { 'retry-after': String(user.ttlInSeconds) },
        );
      }
      let limit = user;
      if (principalOf(request)) {
        const tenant = await perTenant(request);
        if (!tenant.isAllowed && tenant.isExceeded) {
          throw new ApiError(
            'RATE_LIMITED',
            `rate limit of ${tenant.max} requests per ${minutes} for all users of the tenant exceeded; retry in ${tenant.ttlInSeconds} s`,
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
