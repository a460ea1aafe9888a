import { createSigner, createVerifier, TokenError } from 'fast-jwt';

/** What a bearer token says about its holder. One role: every user of a tenant sees all of its metrics. */
export interface Principal {
  tenantId: string;
  userId: string;
}

export const TOKEN_ISSUER = 'sending-metrics';
const TENANT_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;

export function signToken(secret: string, principal: Principal, ttlMs: number): string {
  if (!TENANT_PATTERN.test(principal.tenantId)) {
    throw new Error(
      `tenant ${JSON.stringify(principal.tenantId)} is not a valid tenant id (letters, digits, ".", "_", ":", "-"; 1-200 characters)`,
    );
  }
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: ttlMs, iss: TOKEN_ISSUER });
  return sign({ tenant: principal.tenantId, sub: principal.userId });
}

export class AuthError extends Error {
  override name = 'AuthError';
}

export function createTokenVerifier(secret: string): (token: string) => Principal {
  const verify = createVerifier({ key: secret, algorithms: ['HS256'], allowedIss: TOKEN_ISSUER, cache: 1000 });
  return (token) => {
    let claims: Record<string, unknown>;
    try {
      claims = verify(token) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof TokenError) {
        if (error.code === TokenError.codes.expired) throw new AuthError('the token has expired');
        if (error.code === TokenError.codes.invalidSignature) throw new AuthError('the token signature is not valid');
        throw new AuthError('the token is not a valid bearer token');
      }
      throw error;
    }
    const tenantId = claims.tenant;
    if (typeof tenantId !== 'string' || !TENANT_PATTERN.test(tenantId)) throw new AuthError('the token names no tenant');
    return { tenantId, userId: typeof claims.sub === 'string' ? claims.sub : 'unknown' };
  };
}
