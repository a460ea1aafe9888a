import { DomainError } from '../platform/errors.js';

/**
 * Errors for reporting queries the caller asked for wrongly: every one is a DomainError of kind
 * `invalid`, its `code` naming it for callers in code and for the logs. The HTTP layer answers
 * them as it answers every invalid request: 400, code BAD_REQUEST, with this message. Anything
 * else thrown by a reporting query is an infrastructure failure.
 */
export class MetricsQueryError extends DomainError {
  override name = 'MetricsQueryError';
  constructor(code: string, message: string) {
    super('invalid', code, message);
  }
}

/** `from`/`to` missing, not whole milliseconds, out of the supported years, or `from` after `to`. */
export class InvalidRangeError extends MetricsQueryError {
  override name = 'InvalidRangeError';
  constructor(message: string) {
    super('METRICS_INVALID_RANGE', message);
  }
}

/** A tenant or filter that is not a usable string. */
export class InvalidArgumentError extends MetricsQueryError {
  override name = 'InvalidArgumentError';
  constructor(message: string) {
    super('METRICS_INVALID_ARGUMENT', message);
  }
}

export class UnknownMetricError extends MetricsQueryError {
  override name = 'UnknownMetricError';
  constructor(metric: string, known: readonly string[]) {
    super('METRICS_UNKNOWN_METRIC', `unknown metric ${JSON.stringify(metric)}; expected one of ${known.join(', ')}`);
  }
}

export class UnknownTimeZoneError extends MetricsQueryError {
  override name = 'UnknownTimeZoneError';
  constructor(tz: string) {
    super(
      'METRICS_UNKNOWN_TIME_ZONE',
      `unknown time zone ${JSON.stringify(tz)}; expected an IANA name such as UTC, Europe/Berlin or Asia/Kolkata`,
    );
  }
}

export class InvalidIntervalError extends MetricsQueryError {
  override name = 'InvalidIntervalError';
  constructor(interval: string) {
    super('METRICS_INVALID_INTERVAL', `unknown interval ${JSON.stringify(interval)}; expected hour or day`);
  }
}

export class TooManyBucketsError extends MetricsQueryError {
  override name = 'TooManyBucketsError';
  constructor(buckets: number, limit: number, interval: string) {
    super(
      'METRICS_TOO_MANY_BUCKETS',
      `the range spans about ${buckets} ${interval} buckets; at most ${limit} are allowed — use a shorter range or a longer interval`,
    );
  }
}
