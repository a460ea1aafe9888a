import { Type, type TUnsafe } from '@sinclair/typebox';
import { DELIVERY_STATUS_HELP, DELIVERY_STATUSES } from '../../events/types.js';
import { API_ERRORS } from '../errors.js';

/** Schemas every route group shares: the range, the error answer, closed lists and CSV answers. */

/**
 * The form parseInstant (services/events/instant.ts) accepts, exactly: date, T, time with
 * seconds, optional fraction, Z or ±hh:mm. Real dates, at most 3 fractional digits and the
 * supported window are checked after it (400 naming the problem).
 */
export const INSTANT_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$';

const PATTERN_PROBLEMS: Record<string, string> = {
  [INSTANT_PATTERN]: 'is not an ISO-8601 instant with an offset (Z or ±hh:mm)',
};

/** What a value that fails a schema `pattern` is not (a phrase to follow the quoted value). */
export function patternProblem(pattern: string): string {
  return PATTERN_PROBLEMS[pattern] ?? `does not match the pattern ${pattern}`;
}

const instant = (which: 'from' | 'to') =>
  Type.String({
    description: `${which === 'from' ? 'Start' : 'End'} of the range, inclusive, ISO-8601 with an explicit offset (Z or ±hh:mm), millisecond precision, e.g. ${which === 'from' ? '2026-11-01T00:00:00.000Z' : '2026-11-27T23:59:59.999+01:00'}`,
    minLength: 1,
    maxLength: 40,
    pattern: INSTANT_PATTERN,
  });

export const idFilter = (what: string) => Type.String({ description: `Only this ${what}`, minLength: 1, maxLength: 200 });

export const RangeQuerystring = Type.Object(
  {
    from: instant('from'),
    to: instant('to'),
    playbookId: Type.Optional(idFilter('playbook')),
    campaignId: Type.Optional(idFilter('campaign')),
  },
  { additionalProperties: false },
);

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String({
      description: `names the error (HTTP status): ${Object.entries(API_ERRORS)
        .map(([code, status]) => `${code} (${status})`)
        .join(', ')}`,
    }),
    message: Type.String({ description: 'what was wrong, for a person; never echoes a token' }),
  }),
});

/** The error answers of a route, by status: `errorResponses(400, 401)`. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorResponse]));
}

/** A string from a closed list; validation errors say "must be equal to one of the allowed values". */
export function oneOf<T extends string>(values: readonly T[], description: string): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], description: `${description}: ${values.join(', ')}` });
}

/** `sent = handed to the provider and sent; …` for every delivery status. */
export const STATUS_MEANINGS = DELIVERY_STATUSES.map((status) => `${status} = ${DELIVERY_STATUS_HELP[status]}`).join('; ');

/** A 200 answer of CSV (documented as text/csv; the body is a stream, never serialized). */
export const CsvResponse = {
  description: 'RFC 4180 CSV in UTF-8: a header row, CRLF between records, fields with commas, quotes or line breaks quoted.',
  content: { 'text/csv': { schema: Type.String() } },
};

/** `attachment; filename="…"` (the names are plain ASCII by construction). */
export function attachment(fileName: string): string {
  return `attachment; filename="${fileName}"`;
}
