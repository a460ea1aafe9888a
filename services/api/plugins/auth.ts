import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';
import { AuthError, createTokenVerifier, type Principal } from '../auth/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyInstance {
    /** preHandler that requires a valid bearer token and sets request.principal. */
    authenticate: (request: FastifyRequest) => Promise<void>;
  }
}

/** Bearer JWT (HS256). The tenant comes from the token only, never from a request parameter. */
export const authPlugin = fp(
  async (app: FastifyInstance, options: { secret: string }) => {
    const verify = createTokenVerifier(options.secret);
    app.decorateRequest('principal', null as unknown as Principal);
    app.decorate('authenticate', async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!match) {
        throw new ApiError('UNAUTHORIZED', 'an Authorization: Bearer <token> header is required', { 'www-authenticate': 'Bearer' });
      }
      try {
        request.principal = verify(match[1]!);
      } catch (error) {
        if (error instanceof AuthError) {
          throw new ApiError('UNAUTHORIZED', error.message, { 'www-authenticate': 'Bearer error="invalid_token"' });
        }
        throw error;
      }
    });
  },
  { name: 'auth' },
);
