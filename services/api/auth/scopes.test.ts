import { describe, expect, it } from 'vitest';
import { parseScopeList, scopeClaim, scopesOfClaims, UnknownScopeError } from './scopes.js';

describe('scopes of a token', () => {
  it('reads the space-separated scope claim, ignoring scopes of other services', () => {
    expect(scopesOfClaims({ scope: 'openid events:write  profile metrics:read' })).toEqual(['metrics:read', 'events:write']);
    expect(scopesOfClaims({ scope: '\talerts:write' })).toEqual(['alerts:write']);
  });

  it('reads scp as a string or an array (Okta, Entra ID), together with scope', () => {
    expect(scopesOfClaims({ scp: ['alerts:write', 'offline_access'] })).toEqual(['alerts:write']);
    expect(scopesOfClaims({ scp: 'events:write metrics:read' })).toEqual(['metrics:read', 'events:write']);
    expect(scopesOfClaims({ scope: 'metrics:read', scp: ['alerts:write'] })).toEqual(['metrics:read', 'alerts:write']);
  });

  it('gives a token with no scope claim at all metrics:read only', () => {
    expect(scopesOfClaims({ sub: 'old-token', tenant: 'acme' })).toEqual(['metrics:read']);
  });

  it('grants nothing for a claim that names none of ours, or is not a string or an array of strings', () => {
    expect(scopesOfClaims({ scope: '' })).toEqual([]);
    expect(scopesOfClaims({ scope: 'openid profile' })).toEqual([]);
    expect(scopesOfClaims({ scope: 42 })).toEqual([]);
    expect(scopesOfClaims({ scp: [1, null, 'metrics:read:extra'] })).toEqual([]);
    // Case matters: scopes are compared exactly (RFC 6749 §3.3).
    expect(scopesOfClaims({ scope: 'Metrics:Read' })).toEqual([]);
  });
});

describe('a scope list on the command line', () => {
  it('parses known scopes in their canonical order, without duplicates', () => {
    expect(parseScopeList('events:write metrics:read events:write')).toEqual(['metrics:read', 'events:write']);
    expect(scopeClaim(parseScopeList('alerts:write metrics:read'))).toBe('metrics:read alerts:write');
  });

  it('refuses an unknown scope naming it and the known ones, and an empty list', () => {
    expect(() => parseScopeList('metrics:read metrics:write')).toThrow(UnknownScopeError);
    expect(() => parseScopeList('metrics:read metrics:write')).toThrow(
      'unknown scope "metrics:write"; the scopes are metrics:read, events:write, alerts:write',
    );
    expect(() => parseScopeList('  ')).toThrow('no scope given');
  });
});
