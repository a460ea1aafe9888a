import { createRemoteJWKSet, errors, jwtVerify, type FlattenedJWSInput, type JWSHeaderParameters, type JWTPayload } from 'jose';
import { TENANT_ID_PATTERN } from '../../platform/config.js';
import { DomainError } from '../../platform/errors.js';
import { scopesOfClaims } from './scopes.js';
import { AuthError, CLOCK_SKEW_MS, type Principal } from './tokens.js';

/** The algorithms an identity provider's token may be signed with (asymmetric only: the provider keeps the private key). */
export const PROVIDER_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;

export interface IdentityProvider {
  /** The provider's JSON Web Key Set (AUTH_JWKS_URL). */
  jwksUrl: URL;
  /** The `iss` its tokens must carry (AUTH_ISSUER). */
  issuer: string;
  /** The `aud` its tokens must carry, one of these (AUTH_AUDIENCE); undefined: not checked. */
  audience?: readonly string[];
  /** The claim that names the tenant (AUTH_TENANT_CLAIM, default `tenant`). */
  tenantClaim: string;
}

export interface JwksOptions {
  /**
   * The least time between two fetches of the key set (default 30 s): a token with an unknown
   * `kid` fetches the set again only once this long has passed since the last fetch.
   */
  cooldownMs?: number;
  /** How long a fetched key set is used before it is fetched again (default 10 minutes). */
  cacheMaxAgeMs?: number;
  /** How long a fetch of the key set may take (default 5 s). */
  timeoutMs?: number;
}

/** The provider's keys could not be fetched: not the token's fault, so 503 rather than 401. */
export class IdentityProviderUnavailableError extends DomainError {
  override name = 'IdentityProviderUnavailableError';
  constructor(cause: unknown) {
    super(
      'unavailable',
      'AUTH_PROVIDER_UNAVAILABLE',
      "the identity provider's signing keys (AUTH_JWKS_URL) could not be fetched; retry shortly",
      { retryAfterSeconds: 5 },
      { cause },
    );
  }
}

/** Errors of the key set's lookup that say something about the token, not about the provider being reachable. */
const TOKEN_FAULTS: readonly (abstract new (...args: never[]) => Error)[] = [
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JOSENotSupported,
  errors.JOSEAlgNotAllowed,
  errors.JWSInvalid,
];

/**
 * Verifies the tokens of an identity provider (Okta, Auth0, Keycloak, Entra ID, Cognito) with jose:
 * the signature by a key of its JWKS (RS256, ES256 or EdDSA; keys cached, fetched again on an
 * unknown `kid` at most once per cooldown, so a rotation is picked up without a restart), its
 * issuer, its audience when configured, an expiry (CLOCK_SKEW_MS of tolerance), a tenant in the
 * tenant claim; the scopes from `scope`/`scp`. Refusals are AuthErrors saying what was wrong;
 * an unreachable key set is an IdentityProviderUnavailableError.
 */
export function createProviderVerifier(provider: IdentityProvider, options: JwksOptions = {}): (token: string) => Promise<Principal> {
  const jwks = createRemoteJWKSet(provider.jwksUrl, {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
  });
  const keyOf = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (TOKEN_FAULTS.some((fault) => error instanceof fault)) throw error;
      throw new IdentityProviderUnavailableError(error);
    }
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keyOf, {
        algorithms: [...PROVIDER_ALGORITHMS],
        issuer: provider.issuer,
        audience: provider.audience ? [...provider.audience] : undefined,
        clockTolerance: CLOCK_SKEW_MS / 1000,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof errors.JOSEError) throw new AuthError(refusal(error));
      throw error;
    }
    const tenantId = payload[provider.tenantClaim];
    if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId)) {
      throw new AuthError(`the token names no tenant (claim ${JSON.stringify(provider.tenantClaim)}, AUTH_TENANT_CLAIM)`);
    }
    return { tenantId, userId: typeof payload.sub === 'string' ? payload.sub : 'unknown', scopes: scopesOfClaims(payload) };
  };
}

/** What was wrong with a provider token jose refused, in words that never quote it. */
function refusal(error: InstanceType<typeof errors.JOSEError>): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return "the token's issuer (iss) is not the identity provider's (AUTH_ISSUER)";
    if (error.claim === 'aud') return "the token's audience (aud) is not this service (AUTH_AUDIENCE)";
    if (error.claim === 'exp' && error.reason === 'missing') return 'the token has no expiry (exp); tokens must expire';
    if (error.claim === 'nbf') return "the token is not valid yet (nbf is in the future); check the issuer's clock";
    if (error.claim === 'iat') return "the token was issued in the future (iat); check the issuer's clock";
    return `the token's claims are not valid: ${error.claim} ${error.reason}`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return "the token's key (kid) is not among the identity provider's keys";
  if (error instanceof errors.JOSEAlgNotAllowed) return `the token's algorithm is not allowed (${PROVIDER_ALGORITHMS.join(', ')})`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  return 'the token is not a valid bearer token';
}
