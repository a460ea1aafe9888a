import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ClickHouseClient } from '../../platform/clickhouse.js';
import { DomainError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { ApiError } from '../errors.js';
import { ApiKeyStore } from '../auth/api-keys.js';
import { createBearerVerifier } from '../auth/bearer.js';
import { createProviderVerifier, type IdentityProvider, type JwksOptions } from '../auth/jwks.js';
import type { Scope } from '../auth/scopes.js';
import { AuthError, type Principal } from '../auth/tokens.js';
import { errorResponses } from '../shared/schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified holder of the bearer token; set before any other hook runs, null without a valid token. */
    principal: Principal;
  }
  interface FastifyInstance {
    /**
     * Hook that requires a valid bearer token (request.principal set), else 401, carrying the
     * scope the route declares (`config: { scope }`), else 403. Register it as an onRequest hook,
     * so that a request without a valid token or scope is refused before its body is read or
     * parsed; it needs only the headers.
     */
    authenticate: (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyContextConfig {
    /** The scope a request needs (auth/scopes.ts); every route behind `authenticate` declares one. */
    scope?: Scope;
  }
}

export interface AuthOptions {
  /** HS256 secret (AUTH_JWT_SECRET or the development secret). */
  secret: string;
  /** The identity provider whose tokens are accepted too (AUTH_JWKS_URL …); undefined: none. */
  provider?: IdentityProvider;
  /** How the provider's key set is fetched and cached (tests shorten the cooldown). */
  jwks?: JwksOptions;
  /** Where producers' API keys are read; undefined: API keys are not accepted. */
  apiKeys?: { clickhouse: ClickHouseClient; refreshMs: number; lookupEveryMs?: number; logger?: Logger };
}

const MISSING = 'an Authorization: Bearer <token> header is required';

/** Why a request has no principal (the header is missing or malformed, the token was refused, the keys could not be read). */
const refusals = new WeakMap<FastifyRequest, Error>();

/** The security requirement of a route in the OpenAPI document (the `bearer` scheme of app.ts). */
export const bearerSecurity = (scope: Scope) => [{ bearer: [scope] }];

/**
 * Bearer credentials: our HS256 tokens, an identity provider's tokens (JWKS), producers' API keys
 * (auth/bearer.ts chooses). The tenant comes from the credential only, never from a request
 * parameter. It is verified in the first onRequest hook, so that every later hook (the rate
 * limiter) sees who is asking; the routes' `authenticate` hook then refuses a request without a
 * valid credential (401) or without the route's scope (403), at onRequest, before any body is read.
 * Each route's scope is listed in the OpenAPI document as its security requirement.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, options: AuthOptions) => {
    const apiKeys = options.apiKeys
      ? new ApiKeyStore(options.apiKeys.clickhouse, {
          refreshMs: options.apiKeys.refreshMs,
          lookupEveryMs: options.apiKeys.lookupEveryMs,
          logger: options.apiKeys.logger,
        })
      : undefined;
    const verify = createBearerVerifier({
      secret: options.secret,
      provider: options.provider ? createProviderVerifier(options.provider, options.jwks) : undefined,
      apiKeys,
    });
    app.addHook('onClose', async () => apiKeys?.close());
    app.decorateRequest('principal', null as unknown as Principal);

    app.addHook('onRoute', (route) => {
      const scope = route.config?.scope;
      if (scope === undefined) return;
      route.schema = {
        ...route.schema,
        security: bearerSecurity(scope),
        ...(route.schema?.response ? { response: { ...(route.schema.response as object), ...errorResponses(403) } } : {}),
      };
    });

    const identify = async (request: FastifyRequest): Promise<void> => {
      const header = request.headers.authorization;
      // The scheme is case-insensitive (RFC 9110); the limiter keys by the verified identity, not by this spelling.
      const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
      if (!match) {
        refusals.set(request, new ApiError('UNAUTHORIZED', MISSING, { 'www-authenticate': 'Bearer' }));
        return;
      }
      try {
        request.principal = await verify(match[1]!);
      } catch (error) {
        if (error instanceof AuthError) {
          refusals.set(request, new ApiError('UNAUTHORIZED', error.message, { 'www-authenticate': 'Bearer error="invalid_token"' }));
        } else if (error instanceof DomainError && error.kind === 'unavailable') {
          // The provider's keys or the API keys could not be read: 503 for routes that need a principal.
          request.log.warn({ err: error.cause ?? error }, error.message);
          refusals.set(request, error);
        } else throw error;
      }
    };

    app.addHook('onRequest', async (request) => {
      if (request.headers.authorization !== undefined) await identify(request);
    });

    app.decorate('authenticate', async (request: FastifyRequest) => {
      if ((request.principal as Principal | null) === null) {
        if (!refusals.has(request)) await identify(request);
        const refusal = refusals.get(request);
        if (refusal) throw refusal;
      }
      const scope = request.routeOptions.config.scope;
      // Fails closed: a route that authenticates and names no scope is a mistake of the code, answered 500.
      if (scope === undefined) throw new Error(`${request.method} ${request.routeOptions.url ?? ''} declares no scope`);
      if (!request.principal.scopes.includes(scope)) {
        const carried = request.principal.scopes.length === 0 ? 'none' : request.principal.scopes.join(' ');
        throw new ApiError('FORBIDDEN', `this request needs the scope ${scope}, which the token does not carry (it carries: ${carried})`, {
          'www-authenticate': `Bearer error="insufficient_scope" scope="${scope}"`,
        });
      }
    });
  },
  { name: 'auth' },
);
