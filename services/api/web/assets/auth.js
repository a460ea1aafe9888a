// @ts-check
/** Signing in with an API token (kept in this tab's sessionStorage) and signing out. */
import { setToken } from './api.js';
import { $ } from './dom.js';
import { stopDownloads } from './downloads.js';
import { clearFreshness } from './freshness.js';

const TOKEN_KEY = 'sending-metrics-token';

/**
 * The claims of a JWT, unverified (the API verifies it): enough to greet the tenant.
 * @param {string} jwt
 * @returns {{ tenant?: unknown, sub?: unknown, exp?: unknown } | null}
 */
function claims(jwt) {
  try {
    const payload = (jwt.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/');
    /** @type {unknown} */
    const parsed = JSON.parse(atob(payload));
    return /** @type {{ tenant?: unknown, sub?: unknown, exp?: unknown } | null} */ (parsed);
  } catch {
    return null;
  }
}

/**
 * Signs in with a token; answers why not (null when signed in).
 * @param {string} candidate
 */
export function signIn(candidate) {
  const parsed = claims(candidate);
  if (!parsed || typeof parsed.tenant !== 'string') return 'That does not look like an API token.';
  if (parsed.exp && Number(parsed.exp) * 1000 < Date.now()) return 'That token has expired.';
  setToken(candidate);
  sessionStorage.setItem(TOKEN_KEY, candidate);
  $('#who').textContent = `Tenant ${parsed.tenant}${typeof parsed.sub === 'string' && parsed.sub ? ` · ${parsed.sub}` : ''}`;
  $('#sign-in').hidden = true;
  $('#main').hidden = false;
  $('#sign-out').hidden = false;
  return null;
}

/**
 * Signs out: forgets the token, stops following downloads and freshness, shows the sign-in form.
 * @param {string} [message]
 */
export function signOut(message) {
  setToken(null);
  sessionStorage.removeItem(TOKEN_KEY);
  stopDownloads();
  clearFreshness();
  $('#main').hidden = true;
  $('#sign-out').hidden = true;
  $('#sign-in').hidden = false;
  $('#who').textContent = 'Not signed in';
  $('#sign-in-error').textContent = message ?? '';
  $('#token-input', HTMLTextAreaElement).focus();
}

/** The token this tab signed in with before (a reload), if any. */
export const savedToken = () => sessionStorage.getItem(TOKEN_KEY);
