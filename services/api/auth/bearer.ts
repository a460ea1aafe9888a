import { decodeProtectedHeader } from 'jose';
import type { ApiKeyStore } from './api-keys.js';
import { isApiKey } from './api-keys.js';
import { PROVIDER_ALGORITHMS } from './jwks.js';
import { AuthError, createTokenVerifier, type Principal } from './tokens.js';

export interface BearerVerifiers {
  /** HS256 with AUTH_JWT_SECRET (or the development secret): `token` and the development token. */
  secret: string;
  /** The identity provider's tokens (AUTH_JWKS_URL); undefined: none accepted. */
  provider?: (token: string) => Promise<Principal>;
  /** Producers' API keys (`smk_…`); undefined: none accepted. */
  apiKeys?: ApiKeyStore;
}

/**
 * Verifies any bearer credential the API accepts, choosing by its form: an API key (`smk_…`) by
 * the key store; a JWT by the algorithm its header names — HS256 by the shared secret, RS256,
 * ES256 or EdDSA by the identity provider's keys; any other algorithm (`none` included) is refused.
 * The choice is only which verifier runs: each checks the algorithm again itself.
 */
export function createBearerVerifier(verifiers: BearerVerifiers): (token: string) => Promise<Principal> {
  const secretVerifier = createTokenVerifier(verifiers.secret);
  return async (token) => {
    if (isApiKey(token)) {
      if (!verifiers.apiKeys) throw new AuthError('API keys are not accepted here');
      return verifiers.apiKeys.verify(token);
    }
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new AuthError('the token is not a valid bearer token');
    }
    if (alg === 'HS256') return secretVerifier(token);
    if ((PROVIDER_ALGORITHMS as readonly unknown[]).includes(alg)) {
      if (!verifiers.provider)
        throw new AuthError(`tokens signed with ${String(alg)} are not accepted: no identity provider is configured (AUTH_JWKS_URL)`);
      return verifiers.provider(token);
    }
    const accepted = ['HS256', ...(verifiers.provider ? PROVIDER_ALGORITHMS : [])].join(', ');
    throw new AuthError(`the token's algorithm is not allowed (accepted: ${accepted})`);
  };
}
