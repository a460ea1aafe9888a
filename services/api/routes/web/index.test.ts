import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_STATUS_HELP, DELIVERY_STATUSES, SMS_STATUSES, statusKey } from '../../../events/types.js';
import { RATE_DEFINITIONS } from '../../../reporting/rates.js';
import { webRoutes } from './index.js';
import * as vocabulary from './vocabulary.js';

describe('the page and its vocabulary', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = Fastify();
    await app.register(swagger, { openapi: { info: { title: 'test', version: '1' } } });
    await app.register(webRoutes);
    await app.ready();
  });
  afterAll(() => app.close());

  it('serves /assets/vocabulary.js as an ES module of the exports of vocabulary.ts, cached like the other assets', async () => {
    const response = await app.inject({ method: 'GET', url: '/assets/vocabulary.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const asset = await app.inject({ method: 'GET', url: '/assets/main.js' });
    expect(asset.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe(asset.headers['cache-control']);
    expect(response.headers['content-security-policy']).toBe(asset.headers['content-security-policy']);
    const etag = response.headers.etag;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.inject({ method: 'GET', url: '/assets/vocabulary.js', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    // What the page imports is what vocabulary.ts exports: the same names, the same values.
    const served: unknown = await import(`data:text/javascript;base64,${Buffer.from(response.body).toString('base64')}`);
    expect({ ...(served as object) }).toEqual({ ...vocabulary });
  });

  it("words the server's own statuses and rates: every status of each channel with its meaning, every rate with its lines", () => {
    expect(vocabulary.SMS_STATUSES.map((status) => status.key)).toEqual(SMS_STATUSES.map(statusKey));
    expect(vocabulary.EMAIL_STATUSES.map((status) => status.key)).toEqual(DELIVERY_STATUSES.map(statusKey));
    expect(vocabulary.EMAIL_STATUSES.find((status) => status.key === 'spamReported')).toEqual({
      key: 'spamReported',
      label: 'Spam reported',
      meaning: `${DELIVERY_STATUS_HELP.spam_reported[0]!.toUpperCase()}${DELIVERY_STATUS_HELP.spam_reported.slice(1)}.`,
    });
    // Text messages first, then emails; each rate once.
    expect(vocabulary.RATES.map((rate) => rate.id).sort()).toEqual(RATE_DEFINITIONS.map((rate) => rate.id).sort());
    expect(vocabulary.RATES[0]!.channel).toBe('sms');
    expect(vocabulary.RATES.find((rate) => rate.id === 'email.spamComplaintRate')).toMatchObject({
      label: 'Spam complaint rate',
      counts: 'spam reported, of those delivered',
      word: 'delivered',
      threshold: { warning: 0.001, critical: 0.003 },
    });
    expect(vocabulary.RATES.find((rate) => rate.id === 'sms.failureRate')).toMatchObject({
      counts: 'failed, rejected or expired, of those attempted',
      word: 'attempted',
    });
    expect(vocabulary.RATES.find((rate) => rate.id === 'email.deliveryRate')?.threshold).toBeNull();
  });

  it('keeps the page and its assets out of the OpenAPI document', () => {
    const paths = Object.keys((app.swagger() as { paths?: Record<string, unknown> }).paths ?? {});
    expect(paths.filter((path) => path === '/' || path.startsWith('/assets'))).toEqual([]);
  });
});
