/**
 * What a token may do. Every user of a tenant may read all of its metrics; writing events and
 * changing alert rules and erasing a customer are rights of their own, carried in the OAuth 2.0 `scope` claim
 * (space-separated, RFC 8693 §4.2) or in `scp` (a string or an array: Okta, Entra ID).
 */

export const SCOPES = ['metrics:read', 'events:write', 'alerts:write', 'privacy:write'] as const;
export type Scope = (typeof SCOPES)[number];

/** What each scope allows, in the words of the OpenAPI document and the CLI's usage. */
export const SCOPE_MEANINGS: Readonly<Record<Scope, string>> = {
  'metrics:read': 'read metrics and alerts, export CSV, queue and fetch downloads',
  'events:write': 'publish events (POST /v1/events)',
  'alerts:write': 'replace alert rules and webhook secrets (PUT /v1/alerts/rules)',
  'privacy:write': "erase a customer's identifiers and see the requests (POST /v1/privacy/erasures)",
};

export const ALL_SCOPES: readonly Scope[] = SCOPES;

/** The scopes of a token that names none (no `scope`, no `scp`): tokens issued before scopes keep reading, and lose writing. */
export const UNSCOPED_TOKEN_SCOPES: readonly Scope[] = ['metrics:read'];

export function isScope(word: unknown): word is Scope {
  return typeof word === 'string' && (SCOPES as readonly string[]).includes(word);
}

/** The words of a `scope` or `scp` claim: a space-separated string or an array of strings; anything else names none. */
function wordsOf(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/[ \t]+/).filter((word) => word !== '');
  if (Array.isArray(claim)) return claim.filter((word): word is string => typeof word === 'string');
  return [];
}

/**
 * The scopes a token's claims grant: those of `scope` and `scp` together that this service knows
 * (an identity provider's others, `openid`, `profile`, are ignored). A token with neither claim
 * gets UNSCOPED_TOKEN_SCOPES; a claim present but naming none of ours grants nothing.
 */
export function scopesOfClaims(claims: Readonly<Record<string, unknown>>): Scope[] {
  if (claims.scope === undefined && claims.scp === undefined) return [...UNSCOPED_TOKEN_SCOPES];
  const granted = new Set([...wordsOf(claims.scope), ...wordsOf(claims.scp)]);
  return SCOPES.filter((scope) => granted.has(scope));
}

/** A scope list that names a scope this service does not know. */
export class UnknownScopeError extends Error {
  override name = 'UnknownScopeError';
}

/**
 * The scopes of a space-separated list as given on a command line (`--scope "metrics:read events:write"`);
 * an unknown word is an UnknownScopeError naming it and the known ones, an empty list one too.
 */
export function parseScopeList(text: string): Scope[] {
  const words = wordsOf(text);
  const unknown = words.filter((word) => !isScope(word));
  if (unknown.length > 0) {
    throw new UnknownScopeError(
      `unknown scope ${unknown.map((word) => JSON.stringify(word)).join(', ')}; the scopes are ${SCOPES.join(', ')}`,
    );
  }
  if (words.length === 0) throw new UnknownScopeError(`no scope given; the scopes are ${SCOPES.join(', ')}`);
  return SCOPES.filter((scope) => words.includes(scope));
}

/** The `scope` claim of a list of scopes (in the order of SCOPES). */
export function scopeClaim(scopes: readonly Scope[]): string {
  return SCOPES.filter((scope) => scopes.includes(scope)).join(' ');
}
