import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { TENANT_ID_PATTERN } from '../../platform/config.js';
import { DomainError } from '../../platform/errors.js';
import { ALL_SCOPES, scopeClaim, scopesOfClaims, type Scope } from './scopes.js';

/**
 * What a bearer token says about its holder: the tenant (every user of a tenant sees all of its
 * metrics), who (the subject; an API key's id) and what the token may do (scopes.ts).
 */
export interface Principal {
  tenantId: string;
  userId: string;
  scopes: readonly Scope[];
}

/** Whom a token is signed for: the scopes default to all of them (the development token, tests); `token` asks for them. */
export type TokenSubject = Pick<Principal, 'tenantId' | 'userId'> & { scopes?: readonly Scope[] };

export const TOKEN_ISSUER = 'sending-metrics';
/** The tenant ids a token may name: the one rule, shared with WEBHOOK_SECRETS and the webhook paths. */
const TENANT_PATTERN = TENANT_ID_PATTERN;

/** The longest lifetime (exp − iat) a token may have; `token --ttl` refuses longer. */
export const MAX_TOKEN_TTL_MS = 30 * 86_400_000;
export const MAX_TOKEN_TTL_TEXT = '30 days';
/** How far the issuer's clock may be ahead of or behind ours (iat, nbf, exp). */
export const CLOCK_SKEW_MS = 60_000;
/** The largest time claim (seconds since 1970, either sign) a token may carry: what a JavaScript Date holds (±8.64e15 ms). */
const MAX_TIME_CLAIM_S = 8.64e12;
const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const;

export function signToken(secret: string, principal: TokenSubject, ttlMs: number): string {
  if (!(ttlMs > 0 && ttlMs <= MAX_TOKEN_TTL_MS)) {
    throw new Error(`a token's lifetime must be longer than zero and at most ${MAX_TOKEN_TTL_TEXT}`);
  }
  if (!TENANT_PATTERN.test(principal.tenantId)) {
    throw new Error(
      `tenant ${JSON.stringify(principal.tenantId)} is not a valid tenant id (letters, digits, ".", "_", ":", "-"; 1-200 characters)`,
    );
  }
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: ttlMs, iss: TOKEN_ISSUER });
  return sign({ tenant: principal.tenantId, sub: principal.userId, scope: scopeClaim(principal.scopes ?? ALL_SCOPES) });
}

/** A bearer token refused: the message says why, never quoting the token. */
export class AuthError extends DomainError {
  override name = 'AuthError';
  constructor(message: string) {
    super('unauthenticated', 'AUTH_TOKEN_REFUSED', message);
  }
}

/**
 * Verifies a bearer token: HS256 with our secret, our issuer (iss required), a tenant, time claims
 * within what a Date holds, an expiry (exp) at most
 * MAX_TOKEN_TTL_MS after its issue (iat, or now when it has none), and no iat or nbf in the
 * future beyond CLOCK_SKEW_MS. The scopes are those of its `scope` (or `scp`) claim; a token with
 * neither may read (scopes.ts, UNSCOPED_TOKEN_SCOPES). Each refusal is an AuthError saying what was wrong; none quotes the token.
 */
export function createTokenVerifier(secret: string, clock: () => number = Date.now): (token: string) => Principal {
  // The signature only: the claims are checked below, in order, each refusal saying which (fast-jwt's
  // own time checks build a Date of the claim, which throws a RangeError past ±8.64e15 ms).
  const verify = createVerifier({
    key: secret,
    algorithms: ['HS256'],
    requiredClaims: ['exp'],
    ignoreExpiration: true,
    ignoreNotBefore: true,
    cache: 1000,
  });
  return (token) => {
    let claims: Record<string, unknown>;
    try {
      claims = verify(token) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof TokenError) throw new AuthError(refusal(error));
      throw error;
    }
    if (claims.iss === undefined) throw new AuthError(`the token has no issuer (iss); expected "${TOKEN_ISSUER}"`);
    if (claims.iss !== TOKEN_ISSUER) throw new AuthError(`the token's issuer (iss) is not "${TOKEN_ISSUER}"`);
    for (const claim of TIME_CLAIMS) {
      const value = claims[claim];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new AuthError(`the token's claims are not valid: ${claim} is not a number`);
      if (Math.abs(value) > MAX_TIME_CLAIM_S) {
        throw new AuthError(`the token's claims are not valid: ${claim} is out of range (at most ±${MAX_TIME_CLAIM_S} seconds)`);
      }
    }
    const nowMs = clock();
    if ((claims.exp as number) * 1000 < nowMs - CLOCK_SKEW_MS) throw new AuthError('the token has expired');
    if (typeof claims.nbf === 'number' && claims.nbf * 1000 > nowMs + CLOCK_SKEW_MS) {
      throw new AuthError("the token is not valid yet (nbf is in the future); check the issuer's clock");
    }
    const exp = (claims.exp as number) * 1000;
    const iat = typeof claims.iat === 'number' ? claims.iat * 1000 : undefined;
    if (iat !== undefined && iat > nowMs + CLOCK_SKEW_MS) {
      throw new AuthError(`the token was issued in the future (iat ${new Date(iat).toISOString()}); check the issuer's clock`);
    }
    if (exp - (iat ?? nowMs) > MAX_TOKEN_TTL_MS + CLOCK_SKEW_MS) {
      throw new AuthError(`the token's lifetime (exp − iat) is longer than the maximum of ${MAX_TOKEN_TTL_TEXT}`);
    }
    const tenantId = claims.tenant;
    if (typeof tenantId !== 'string' || !TENANT_PATTERN.test(tenantId)) throw new AuthError('the token names no tenant');
    return { tenantId, userId: typeof claims.sub === 'string' ? claims.sub : 'unknown', scopes: scopesOfClaims(claims) };
  };
}

/** What was wrong with a token fast-jwt refused, in words that never quote it. */
function refusal(error: TokenError): string {
  switch (error.code) {
    case TokenError.codes.expired:
      return 'the token has expired';
    case TokenError.codes.inactive:
      return "the token is not valid yet (nbf is in the future); check the issuer's clock";
    case TokenError.codes.invalidSignature:
      return 'the token signature is not valid';
    case TokenError.codes.missingRequiredClaim:
      return 'the token has no expiry (exp); tokens must expire';
    case TokenError.codes.invalidClaimType:
    case TokenError.codes.invalidClaimValue:
      // fast-jwt names the claim ("The exp claim must be a number."), never its value.
      return `the token's claims are not valid: ${error.message}`;
    default:
      return 'the token is not a valid bearer token';
  }
}
