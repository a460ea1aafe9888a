import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';
import { AuthError, createTokenVerifier, type Principal } from '../auth/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified holder of the bearer token; set before any other hook runs, null without a valid token. */
    principal: Principal;
  }
  interface FastifyInstance {
    /**
     * Hook that requires a valid bearer token (request.principal set), else 401. Register it as an
     * onRequest hook on routes that take a body, so that a request without a valid token is refused
     * before its body is read or parsed; it needs only the headers.
     */
    authenticate: (request: FastifyRequest) => Promise<void>;
  }
}

const MISSING = 'an Authorization: Bearer <token> header is required';

/** Why a request has no principal (the header is missing or malformed, or the token was refused). */
const refusals = new WeakMap<FastifyRequest, ApiError>();

/**
 * Bearer JWT (HS256). The tenant comes from the token only, never from a request parameter.
 * The token is verified in the first onRequest hook, so that every later hook (the rate
 * limiter) sees who is asking; the routes' `authenticate` hook then refuses a request without
 * a valid token with 401 (at onRequest, before any body is read, on the routes that take one).
 */
export const authPlugin = fp(
  async (app: FastifyInstance, options: { secret: string }) => {
    const verify = createTokenVerifier(options.secret);
    app.decorateRequest('principal', null as unknown as Principal);

    const identify = (request: FastifyRequest): void => {
      const header = request.headers.authorization;
      // The scheme is case-insensitive (RFC 9110); the limiter keys by the verified identity, not by this spelling.
      const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
      if (!match) {
        refusals.set(request, new ApiError('UNAUTHORIZED', MISSING, { 'www-authenticate': 'Bearer' }));
        return;
      }
      try {
        request.principal = verify(match[1]!);
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        refusals.set(request, new ApiError('UNAUTHORIZED', error.message, { 'www-authenticate': 'Bearer error="invalid_token"' }));
      }
    };

    app.addHook('onRequest', async (request) => {
      if (request.headers.authorization !== undefined) identify(request);
    });

    app.decorate('authenticate', async (request: FastifyRequest) => {
      if ((request.principal as Principal | null) !== null) return;
      if (!refusals.has(request)) identify(request);
      const refusal = refusals.get(request);
      if (refusal) throw refusal;
    });
  },
  { name: 'auth' },
);
