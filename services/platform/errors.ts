/**
 * The one error model below the HTTP app. A DomainError says what went wrong in this domain's
 * words: a `code` for callers in code and for the logs (METRICS_INVALID_RANGE, ALERT_RULE_INVALID)
 * and a `kind` that says whose the failure is. The layers that throw it know nothing of HTTP;
 * the API's error plugin (services/api/plugins/errors.ts) is the one place a kind becomes a status.
 * Anything else thrown is a failure of the service.
 */

/**
 * Whose the failure is:
 * - invalid: the caller asked wrongly (a parameter, a body, a range);
 * - unauthenticated: the caller did not prove who it is (no token, a refused one);
 * - not_found: what was asked for does not exist (or is another tenant's);
 * - limited: too much at once (a quota); `retryAfterSeconds` says when to come back;
 * - unavailable: a dependency is down or the feature is off; `retryAfterSeconds` may say when to retry.
 */
export type ErrorKind = 'invalid' | 'unauthenticated' | 'not_found' | 'limited' | 'unavailable';

export const ERROR_KINDS: readonly ErrorKind[] = ['invalid', 'unauthenticated', 'not_found', 'limited', 'unavailable'];

export interface DomainErrorDetails {
  /**
   * Where in the caller's input the problem is, as a path (`rules[2].webhookUrl`, `from`). The
   * message then says only what is wrong there; whoever reports it names the place.
   */
  readonly field?: string;
  /** Which part of the input `field` is in: the body (default) or the query. */
  readonly source?: 'body' | 'query';
  /** When a `limited` or `unavailable` caller should try again, in seconds. */
  readonly retryAfterSeconds?: number;
}

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details: DomainErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The message of anything thrown: an Error's message, else the value as text. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  try {
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
