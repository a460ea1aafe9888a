import { DomainError } from '../platform/errors.js';

/** The refusals of a download request: DomainErrors the API answers by their kind (503, 429). */

/** Jobs cannot be queued now (Kafka unreachable): unavailable; retry in 30 s. */
export class DownloadsUnavailableError extends DomainError {
  override name = 'DownloadsUnavailableError';
  constructor(message: string) {
    super('unavailable', 'DOWNLOADS_UNAVAILABLE', message, { retryAfterSeconds: 30 });
  }
}

/** A per-tenant limit refused a download; the message names the limit and when it frees. */
export class TooManyDownloadsError extends DomainError {
  override name = 'TooManyDownloadsError';
  constructor(
    message: string,
    /** Seconds until the limit frees (for Retry-After). */
    readonly retryAfterSeconds: number,
  ) {
    super('limited', 'DOWNLOADS_TOO_MANY', message, { retryAfterSeconds });
  }
}
