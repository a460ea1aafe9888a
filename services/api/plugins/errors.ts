import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { DomainError, type ErrorKind } from '../../platform/errors.js';
import { API_ERRORS, ApiError, codeForStatus, errorBody, type ApiErrorCode } from '../errors.js';
import { patternProblem } from '../shared/schemas.js';

/** At most this much of a client's input is quoted in a message. */
const QUOTE_MAX = 100;

function clip(text: string): string {
  return text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}…` : text;
}

function quote(text: string): string {
  return JSON.stringify(clip(text));
}

function sendError(reply: FastifyReply, code: ApiErrorCode, message: string): void {
  reply.code(API_ERRORS[code]).send(errorBody(code, message));
}

/** The code (and so the status) each kind of domain error is answered with. */
export const CODE_OF_KIND: Readonly<Record<ErrorKind, ApiErrorCode>> = {
  invalid: 'BAD_REQUEST',
  unauthenticated: 'UNAUTHORIZED',
  not_found: 'NOT_FOUND',
  limited: 'RATE_LIMITED',
  unavailable: 'UNAVAILABLE',
};

/** How the API answers a domain error. */
export interface DomainErrorAnswer {
  status: number;
  code: ApiErrorCode;
  message: string;
  headers: Record<string, string>;
}

/**
 * A domain error as the API answers it: the status and code of its kind; its message, after the
 * place in the request it names (`body parameter rules[0].webhookUrl: …`); Retry-After when it says when.
 */
export function domainErrorAnswer(error: DomainError): DomainErrorAnswer {
  const code = CODE_OF_KIND[error.kind];
  const { field, source = 'body', retryAfterSeconds } = error.details;
  const message = field === undefined ? error.message : `${source} parameter ${field}: ${error.message}`;
  const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) };
  return { status: API_ERRORS[code], code, message, headers };
}

/**
 * The errors Fastify's router answers before any route runs (a path that is not valid
 * percent-encoding, a path parameter longer than maxParamLength): Fastify's `frameworkErrors`.
 */
function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_BAD_URL') {
    sendError(reply, 'BAD_URL', 'the URL path is not valid percent-encoding (a % must be followed by two hex digits of UTF-8)');
  } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendError(reply, 'URI_TOO_LONG', 'a segment of the URL path is too long (at most 100 characters)');
  } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    sendError(reply, codeForStatus(error.statusCode), error.message);
  } else {
    reply.log.error({ err: error }, 'router failed');
    sendError(reply, 'INTERNAL', 'internal error; see the service log');
  }
}

/**
 * The errors Node's HTTP parser meets before Fastify sees a request (headers larger than
 * maxHeaderSize, a request that takes too long, a request that is not HTTP): Fastify's
 * `clientErrorHandler`, answered in the same shape, then the connection is closed.
 */
function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let code: ApiErrorCode;
  let message: string;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    code = 'HEADERS_TOO_LARGE';
    message = `the request line and headers are larger than ${Math.round(http.maxHeaderSize / 1024)} KB`;
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    code = 'REQUEST_TIMEOUT';
    message = 'the request was not received in time';
  } else {
    code = 'BAD_REQUEST';
    message = 'the request is not valid HTTP/1.1';
  }
  this.log.debug({ err: error }, 'client error');
  if (socket.writable) {
    const status = API_ERRORS[code];
    const body = JSON.stringify(errorBody(code, message));
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Options of the Fastify factory every server of the process is built with (the API and the ops server). */
export const errorServerOptions: Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> = {
  frameworkErrors,
  clientErrorHandler,
};

/** A route's URL pattern as a regular expression over request paths (`:param` one segment, `*` the rest). */
function routePattern(url: string): RegExp {
  const source = url
    .split(/(:[A-Za-z0-9_]+(?:\([^)]*\))?|\*)/)
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

/** Where a validation error was found, as a client names it (the query, not the "querystring"). */
const CONTEXTS: Record<string, { name: string; property: 'query' | 'body' | 'params' | 'headers' }> = {
  querystring: { name: 'query', property: 'query' },
  body: { name: 'body', property: 'body' },
  params: { name: 'path', property: 'params' },
  headers: { name: 'header', property: 'headers' },
};

/** The value a validation error points at, for quoting it. */
function valueAt(request: FastifyRequest, property: string, where: string): unknown {
  let value: unknown = (request as unknown as Record<string, unknown>)[property];
  for (const key of where.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/**
 * Maps every failure to `{"error":{"code","message"}}`: an ApiError by its code, a DomainError by
 * its kind (domainErrorAnswer), anything else thrown by a route as INTERNAL; validation failures name the parameter;
 * a known path asked with a method it does not serve is 405 with Allow, an unknown path 404.
 * Register it before any route (it learns the routes as they are added).
 */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    const routes: { pattern: RegExp; methods: string[] }[] = [];
    app.addHook('onRoute', (route) => {
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((method) => method.toUpperCase());
      routes.push({ pattern: routePattern(route.url), methods });
    });
    const allowed = (path: string): string[] => {
      const methods = new Set<string>();
      for (const route of routes) if (route.pattern.test(path)) for (const method of route.methods) methods.add(method);
      if (methods.has('GET')) methods.add('HEAD');
      return [...methods].sort();
    };

    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!;
      const methods = allowed(path);
      if (methods.length > 0 && !methods.includes(request.method)) {
        reply.header('allow', methods.join(', '));
        sendError(reply, 'METHOD_NOT_ALLOWED', `${request.method} is not served at ${clip(path)}; allowed: ${methods.join(', ')}`);
        return;
      }
      sendError(reply, 'NOT_FOUND', `no route ${request.method} ${clip(path)}`);
    });

    app.setErrorHandler((error: FastifyError | ApiError | DomainError, request, reply) => {
      if (error instanceof ApiError) {
        reply.headers(error.headers);
        sendError(reply, error.code, error.message);
        return;
      }
      if (error instanceof DomainError) {
        const answer = domainErrorAnswer(error);
        reply.headers(answer.headers);
        sendError(reply, answer.code, answer.message);
        return;
      }
      if ((error as FastifyError).validation) {
        const found = CONTEXTS[(error as FastifyError).validationContext ?? ''];
        const context = found?.name ?? 'request';
        const first = (error as FastifyError).validation?.[0];
        const params = first?.params as
          | { missingProperty?: string; additionalProperty?: string; pattern?: string; allowedValues?: unknown[] }
          | undefined;
        const where = first?.instancePath
          ? first.instancePath.replace(/^\//, '').replace(/\//g, '.')
          : (params?.missingProperty ?? params?.additionalProperty);
        let message: string;
        if (where && first?.keyword === 'pattern' && params?.pattern) {
          const value = valueAt(request, found?.property ?? 'query', where);
          message = `${context} parameter ${where}: ${quote(String(value))} ${patternProblem(params.pattern)}`;
        } else if (where && first?.keyword === 'enum' && params?.allowedValues) {
          const value = valueAt(request, found?.property ?? 'query', where);
          message = `${context} parameter ${where}: ${quote(String(value))} is not one of ${params.allowedValues.map(String).join(', ')}`;
        } else {
          message = where ? `${context} parameter ${where}: ${first?.message ?? 'is not valid'}` : `${context}: ${error.message}`;
        }
        sendError(reply, 'BAD_REQUEST', message);
        return;
      }
      if ((error as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        const type = request.headers['content-type'] ?? '';
        sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', `a body of Content-Type ${quote(type)} is not accepted; send application/json`);
        return;
      }
      if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        const limit = request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit;
        sendError(
          reply,
          'PAYLOAD_TOO_LARGE',
          `the body is larger than ${limit} bytes, the most ${clip(request.url.split('?')[0]!)} accepts`,
        );
        return;
      }
      const status = (error as FastifyError).statusCode;
      if (status && status >= 400 && status < 500) {
        sendError(reply, codeForStatus(status), error.message);
        return;
      }
      request.log.error({ err: error }, 'request failed');
      sendError(reply, 'INTERNAL', 'internal error; see the service log');
    });
  },
  { name: 'errors' },
);
