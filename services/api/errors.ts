/**
 * Every error the API answers with: `{"error":{"code","message"}}`. The rules, kept here and in
 * plugins/errors.ts: an ApiError's code is the code on the wire; a DomainError of the layers below
 * (a rule, a range, a token refused) is named by its kind (plugins/errors.ts, CODE_OF_KIND); any
 * other client error (a schema violation, one of Fastify's own, one of Node's HTTP parser) is
 * named by its HTTP status through this registry. Server errors are INTERNAL, their details
 * only in the log.
 */
export const API_ERRORS = {
  /** The request is not valid: a parameter, the body, the range. */
  BAD_REQUEST: 400,
  /** The URL path is not valid percent-encoding. */
  BAD_URL: 400,
  /** No valid bearer token (missing, badly signed, expired, claims out of bounds). */
  UNAUTHORIZED: 401,
  /** The path is refused (e.g. one that climbs out of the static files). */
  FORBIDDEN: 403,
  /** No such route or resource, or another tenant's. */
  NOT_FOUND: 404,
  /** The path exists but not with this method; the Allow header lists those it serves. */
  METHOD_NOT_ALLOWED: 405,
  /** The client took too long to send the request. */
  REQUEST_TIMEOUT: 408,
  /** A conditional request (If-Match, If-Unmodified-Since) whose condition is false. */
  PRECONDITION_FAILED: 412,
  /** The body is larger than the route accepts. */
  PAYLOAD_TOO_LARGE: 413,
  /** The body holds more events than one request may (EVENTS_MAX_ITEMS). */
  TOO_MANY_EVENTS: 413,
  /** A path segment is longer than the router accepts. */
  URI_TOO_LONG: 414,
  /** The body's Content-Type is not one the route reads (JSON). */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** The body's Content-Type names a charset other than UTF-8. */
  UNSUPPORTED_CHARSET: 415,
  /** The body has a Content-Encoding (gzip, br, …); bodies are read as sent, unencoded. */
  UNSUPPORTED_CONTENT_ENCODING: 415,
  /** A Range header outside the file. */
  RANGE_NOT_SATISFIABLE: 416,
  /** Too many requests for the user or the tenant (or too many running downloads); see Retry-After. */
  RATE_LIMITED: 429,
  /** The request line and headers are larger than the server accepts. */
  HEADERS_TOO_LARGE: 431,
  /** A failure of the service; the details are in its log. */
  INTERNAL: 500,
  /** A dependency is not available (or the feature is not enabled in this process). */
  UNAVAILABLE: 503,
  /** A reporting query ran past its time limit (API_QUERY_TIMEOUT_MS) and was stopped. */
  QUERY_TIMEOUT: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** Codes that only an ApiError names; their status names a more general code. */
const NAMED_BY_ERROR_ONLY: readonly ApiErrorCode[] = [
  'BAD_URL',
  'TOO_MANY_EVENTS',
  'UNSUPPORTED_CHARSET',
  'UNSUPPORTED_CONTENT_ENCODING',
  'QUERY_TIMEOUT',
];

const CODE_OF_STATUS = new Map<number, ApiErrorCode>(
  (Object.entries(API_ERRORS) as [ApiErrorCode, number][])
    .filter(([code]) => !NAMED_BY_ERROR_ONLY.includes(code))
    .map(([code, status]) => [status, code]),
);

/** The code of an error that carries only its status: the registry's code for it, else BAD_REQUEST or INTERNAL. */
export function codeForStatus(status: number): ApiErrorCode {
  return CODE_OF_STATUS.get(status) ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.statusCode = API_ERRORS[code];
  }
}

/** The body of every error answer. */
export function errorBody(code: ApiErrorCode, message: string): { error: { code: ApiErrorCode; message: string } } {
  return { error: { code, message } };
}

export const badRequest = (message: string) => new ApiError('BAD_REQUEST', message);
export const notFound = (message: string) => new ApiError('NOT_FOUND', message);
