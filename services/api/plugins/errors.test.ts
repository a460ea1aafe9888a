import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertRuleError } from '../../alerts/rules.js';
import { WebhookUrlError } from '../../alerts/webhook-safety.js';
import { DownloadsUnavailableError, TooManyDownloadsError } from '../../downloads/download-errors.js';
import { DomainError, ERROR_KINDS, messageOf, type ErrorKind } from '../../platform/errors.js';
import { InvalidRangeError } from '../../reporting/errors.js';
import { AuthError } from '../auth/tokens.js';
import { BodyError } from '../routes/events/parse.js';
import { CODE_OF_KIND, domainErrorAnswer, errorsPlugin } from './errors.js';

/** The answer each kind gets: a change here is a change on the wire. */
const EXPECTED: Record<ErrorKind, [number, string]> = {
  invalid: [400, 'BAD_REQUEST'],
  unauthenticated: [401, 'UNAUTHORIZED'],
  not_found: [404, 'NOT_FOUND'],
  limited: [429, 'RATE_LIMITED'],
  unavailable: [503, 'UNAVAILABLE'],
};

describe('domain errors as the API answers them', () => {
  let app: FastifyInstance;
  let thrown: unknown;

  beforeAll(async () => {
    app = Fastify();
    await app.register(errorsPlugin);
    app.get('/throws', async () => {
      throw thrown;
    });
    await app.ready();
  });
  afterAll(() => app.close());

  const answer = async (error: unknown) => {
    thrown = error;
    const response = await app.inject({ method: 'GET', url: '/throws' });
    return { status: response.statusCode, body: response.json<{ error: { code: string; message: string } }>(), headers: response.headers };
  };

  it('maps every kind to its status and code', async () => {
    expect(Object.keys(CODE_OF_KIND).sort()).toEqual([...ERROR_KINDS].sort());
    for (const kind of ERROR_KINDS) {
      const [status, code] = EXPECTED[kind];
      expect(domainErrorAnswer(new DomainError(kind, 'SOME_CODE', 'what went wrong')), kind).toEqual({
        status,
        code,
        message: 'what went wrong',
        headers: {},
      });
      expect(await answer(new DomainError(kind, 'SOME_CODE', 'what went wrong')), kind).toMatchObject({
        status,
        body: { error: { code, message: 'what went wrong' } },
      });
    }
  });

  it('names the field the error points at, in the body or the query', () => {
    const inBody = new DomainError('invalid', 'X', 'must be https', { field: 'rules[0].webhookUrl' });
    expect(domainErrorAnswer(inBody).message).toBe('body parameter rules[0].webhookUrl: must be https');
    const inQuery = new DomainError('invalid', 'X', 'is not a time zone', { field: 'tz', source: 'query' });
    expect(domainErrorAnswer(inQuery).message).toBe('query parameter tz: is not a time zone');
  });

  it('sends Retry-After when the error says when to come back', async () => {
    const limited = await answer(new DomainError('limited', 'X', 'too many', { retryAfterSeconds: 120 }));
    expect([limited.status, limited.headers['retry-after']]).toEqual([429, '120']);
    const unavailable = await answer(new DomainError('unavailable', 'X', 'down'));
    expect([unavailable.status, unavailable.headers['retry-after']]).toEqual([503, undefined]);
  });

  it('answers the errors of the layers below as before', async () => {
    expect(await answer(new InvalidRangeError('from must be whole epoch milliseconds, got 1.5'))).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: 'from must be whole epoch milliseconds, got 1.5' } },
    });
    expect(await answer(new AlertRuleError('rules[2].warning', 'must be below critical (0.3 ≥ 0.2)'))).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: 'body parameter rules[2].warning: must be below critical (0.3 ≥ 0.2)' } },
    });
    expect(await answer(new WebhookUrlError('is not an absolute URL', 'rules[0].webhookUrl'))).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: 'body parameter rules[0].webhookUrl: is not an absolute URL' } },
    });
    expect(await answer(new BodyError('body: is not valid JSON (the array is not closed)'))).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: 'body: is not valid JSON (the array is not closed)' } },
    });
    expect(await answer(new AuthError('the token has expired'))).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED', message: 'the token has expired' } },
    });
    expect(await answer(new TooManyDownloadsError('at most 20 downloads an hour', 1800))).toMatchObject({
      status: 429,
      body: { error: { code: 'RATE_LIMITED', message: 'at most 20 downloads an hour' } },
      headers: { 'retry-after': '1800' },
    });
    expect(await answer(new DownloadsUnavailableError('the download could not be queued'))).toMatchObject({
      status: 503,
      body: { error: { code: 'UNAVAILABLE', message: 'the download could not be queued' } },
      headers: { 'retry-after': '30' },
    });
  });

  it('keeps anything else a failure of the service, its message only in the log', async () => {
    expect(await answer(new Error('the connection to the engine broke'))).toMatchObject({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error; see the service log' } },
    });
  });
});

describe('messageOf', () => {
  it('reads the message of anything thrown', () => {
    expect(messageOf(new TypeError('not a function'))).toBe('not a function');
    expect(messageOf('plain text')).toBe('plain text');
    expect(messageOf({ message: 'an error-like object' })).toBe('an error-like object');
    expect(messageOf(42)).toBe('42');
    expect(messageOf(undefined)).toBe('undefined');
    expect(messageOf(null)).toBe('null');
    expect(messageOf(Object.create(null))).toBe('[object Object]');
  });
});
