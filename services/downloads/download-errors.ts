/** The refusals of a download request that the API answers with their own status (429, 503). */

/** Jobs cannot be queued now (Kafka unreachable); the API answers 503. */
export class DownloadsUnavailableError extends Error {
  override name = 'DownloadsUnavailableError';
}

/** A per-tenant limit refused a download; the message names the limit and when it frees. */
export class TooManyDownloadsError extends Error {
  override name = 'TooManyDownloadsError';
  constructor(
    message: string,
    /** Seconds until the limit frees (for Retry-After). */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
