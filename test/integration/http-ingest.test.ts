import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames } from '../../services/events/topics.js';
import type { AssignmentEvent } from '../../services/events/types.js';
import { loadConfig, type Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { createConnectingPublisher, type ConnectingPublisher } from '../../services/producer/connecting-publisher.js';
import { twilioSignature } from '../../services/webhooks/index.js';
import { SENDGRID_EVENTS, sendgridKeyPair, sendgridSign, twilioStatusCallback } from '../../fixtures/provider-payloads.js';
import { bearer, buildTestApp } from '../support/api.js';
import { groupProgress } from '../support/group-progress.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { waitFor } from '../support/wait-for.js';
import { recordsIn } from '../support/kafka.js';

/**
 * HTTP ingest and the provider webhooks end to end: the API publishes to the real broker, the
 * ingest writes to the real engine, and the counts are read back through the metrics API.
 * Provider payloads: fixtures/provider-payloads.ts (copied from, and citing, the providers' pages:
 * https://www.twilio.com/docs/messaging/guides/track-outbound-message-status,
 * https://www.twilio.com/docs/usage/webhooks/webhooks-security,
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event,
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features).
 */

const logger = createLogger(process.env.LOG_LEVEL ?? 'error');
const TWILIO_TOKEN = 'twilio-auth-token-of-the-test-tenant';
const PUBLIC_URL = 'https://metrics.example.com/';
const sendgridKeys = sendgridKeyPair();

let bed: IngestBed;
let config: Config;
let publisher: ConnectingPublisher;
let app: FastifyInstance;
let eventTopics: string[];

function assignment(tenantId: string, i: number): AssignmentEvent {
  return {
    type: 'assignment',
    eventId: `${tenantId}-a-${i}`,
    tenantId,
    occurredAt: new Date(Date.parse('2026-11-05T10:00:00.000Z') + i * 1000).toISOString(),
    customerId: `c-${i % 97}`,
    playbookId: 'pb-1',
    playbookName: 'Onboarding',
    campaignId: 'cm-1',
    campaignName: 'Welcome',
    action: i % 3 === 0 ? 'exited' : 'entered',
  };
}

const ndjson = (lines: unknown[]) => lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';

async function caughtUp(): Promise<void> {
  await waitFor('the ingest to commit every record', async () => {
    const { end, committed } = await groupProgress(bed.admin, config.ingest.groupId, eventTopics);
    return end > 0 && committed === end;
  });
}

async function entriesAndExits(tenant: string): Promise<{ entries: number; exits: number }> {
  const response = await app.inject({
    method: 'GET',
    url: '/v1/metrics/campaigns?from=2026-11-01T00:00:00.000Z&to=2026-11-30T23:59:59.999Z',
    headers: bearer(tenant),
  });
  expect(response.statusCode).toBe(200);
  const rows = (response.json() as { rows: { entries: number; exits: number }[] }).rows;
  return rows.reduce((sum, row) => ({ entries: sum.entries + row.entries, exits: sum.exits + row.exits }), { entries: 0, exits: 0 });
}

async function outreach(tenant: string, from: string, to: string): Promise<{ sms: Record<string, number>; email: Record<string, number> }> {
  const response = await app.inject({ method: 'GET', url: `/v1/metrics/outreach?from=${from}&to=${to}`, headers: bearer(tenant) });
  expect(response.statusCode).toBe(200);
  return response.json();
}

const published = () => recordsIn(bed.kafka, eventTopics);

function postEvents(tenant: string, body: string, contentType = 'application/x-ndjson', query = '') {
  return app.inject({
    method: 'POST',
    url: `/v1/events${query}`,
    headers: { ...bearer(tenant), 'content-type': contentType },
    payload: body,
  });
}

beforeAll(async () => {
  bed = await openIngestBed('http-ingest', { batchMaxRows: 5000, batchMaxMs: 200 });
  const secrets = loadConfig({
    WEBHOOK_SECRETS: JSON.stringify({
      'twilio-t': { twilioAuthToken: TWILIO_TOKEN },
      'sendgrid-t': { sendgridPublicKey: sendgridKeys.publicKeyBase64 },
    }),
  }).events.webhookSecrets;
  config = { ...bed.config, events: { ...bed.config.events, publicUrl: PUBLIC_URL, webhookSecrets: secrets } };
  const topics = topicNames(config.topicPrefix);
  eventTopics = [topics.assignments, topics.deliveries];
  publisher = createConnectingPublisher({ kafka: bed.kafka, topics, partitions: config.topicPartitions, logger });
  app = await buildTestApp(config, bed.clickhouse.client, {}, logger, { publisher });
});

afterAll(async () => {
  await app?.close();
  await publisher?.close();
  await bed?.close();
});

describe('POST /v1/events', () => {
  it('10 000 NDJSON lines: 202 after the broker acknowledged them, every one counted', async () => {
    const events = Array.from({ length: 10_000 }, (_, i) => assignment('ndjson-t', i));
    const response = await postEvents('ndjson-t', ndjson(events));
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ accepted: 10_000, rejected: [], rejectedCount: 0 });
    // Rate limited per token like every /v1 route.
    expect(response.headers['x-ratelimit-limit']).toBe(String(config.api.rateLimitPerMinute));
    await caughtUp();
    const exits = events.filter((event) => event.action === 'exited').length;
    expect(await entriesAndExits('ndjson-t')).toEqual({ entries: 10_000 - exits, exits });
  });

  it('a retried request counts once (same eventIds); a JSON array and a single object are accepted too', async () => {
    const events = Array.from({ length: 50 }, (_, i) => assignment('retry-t', i));
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await postEvents('retry-t', JSON.stringify(events), 'application/json');
      expect(response.json()).toEqual({ accepted: 50, rejected: [], rejectedCount: 0 });
    }
    const { tenantId: _, ...withoutTenant } = assignment('retry-t', 50);
    const single = await postEvents('retry-t', JSON.stringify(withoutTenant), 'application/json; charset=utf-8');
    expect(single.json()).toEqual({ accepted: 1, rejected: [], rejectedCount: 0 });
    await caughtUp();
    const counted = await entriesAndExits('retry-t');
    expect(counted.entries + counted.exits).toBe(51);
  });

  it("one bad line: 202 listing it, the others counted; another tenant's event is refused", async () => {
    const events = Array.from({ length: 100 }, (_, i) => assignment('bad-line-t', i));
    const lines: unknown[] = [
      ...events.slice(0, 10),
      '{"type":"assignment",',
      ...events.slice(10, 50),
      '',
      { ...events[50]!, tenantId: 'other' },
    ];
    lines.push(...events.slice(51));
    const response = await postEvents('bad-line-t', ndjson(lines));
    expect(response.statusCode).toBe(202);
    const answer = response.json() as { accepted: number; rejected: { index: number; reason: string }[]; rejectedCount: number };
    expect(answer.accepted).toBe(99);
    expect(answer.rejectedCount).toBe(2);
    expect(answer.rejected).toEqual([
      { index: 10, reason: expect.stringMatching(/^line is not JSON/) },
      { index: 52, reason: 'tenantId: "other" is not the tenant of the token' },
    ]);
    await caughtUp();
    const counted = await entriesAndExits('bad-line-t');
    expect(counted.entries + counted.exits).toBe(99);
  });

  it('atomic=true with one invalid event: 400 naming it, nothing published', async () => {
    const before = await published();
    const events: unknown[] = Array.from({ length: 20 }, (_, i) => assignment('atomic-t', i));
    events[7] = { ...(events[7] as AssignmentEvent), action: 'paused' };
    const response = await postEvents('atomic-t', ndjson(events), 'application/x-ndjson', '?atomic=true');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: {
        code: 'BAD_REQUEST',
        message: expect.stringMatching(/^1 of 20 events are invalid, none published \(atomic\): event 7: action: "paused"/),
      },
    });
    expect(await published()).toBe(before);
  });

  it('a body over the limit: 413 naming the limit; no token: 401; another media type: 415', async () => {
    const before = await published();
    const limit = config.events.maxBodyBytes;
    const large = await postEvents('big-t', 'x'.repeat(limit + 1));
    expect(large.statusCode).toBe(413);
    expect(large.json()).toEqual({
      error: { code: 'PAYLOAD_TOO_LARGE', message: `the body is larger than ${limit} bytes, the most /v1/events accepts` },
    });
    const anonymous = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: '[]',
    });
    expect(anonymous.statusCode).toBe(401);
    const xml = await postEvents('big-t', '<event/>', 'application/xml');
    expect(xml.statusCode).toBe(415);
    expect(xml.json().error.message).toMatch(/application\/x-ndjson/);
    expect(await published()).toBe(before);
  });

  it('documented in the OpenAPI with the routes of the webhooks', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/v1/events']!)).toEqual(['post']);
    expect(doc.paths['/v1/webhooks/twilio/{tenant}']).toHaveProperty('post');
    expect(doc.paths['/v1/webhooks/sendgrid/{tenant}']).toHaveProperty('post');
  });
});

describe('POST /v1/webhooks/twilio/{tenant}', () => {
  const path = '/v1/webhooks/twilio/twilio-t?customerId=c-7&playbookId=pb-1&campaignId=cm-1';
  const post = (form: Record<string, string>, signature: string | undefined, url = path) =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature ? { 'x-twilio-signature': signature } : {}) },
      payload: new URLSearchParams(form).toString(),
    });
  const sign = (form: Record<string, string>, url = path) =>
    twilioSignature(TWILIO_TOKEN, new URL(url.slice(1), PUBLIC_URL).toString(), Object.entries(form));

  it('tampered, unsigned, or for a tenant without a token: 401 and nothing published', async () => {
    const before = await published();
    const sent = twilioStatusCallback('sent');
    const tampered = await post({ ...sent, MessageStatus: 'failed' }, sign(sent));
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json().error.code).toBe('UNAUTHORIZED');
    expect((await post(sent, undefined)).statusCode).toBe(401);
    const otherTenant = path.replace('twilio-t', 'nobody');
    const unknown = await post(sent, sign(sent, otherTenant), otherTenant);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual(tampered.json());
    expect(await published()).toBe(before);
  });

  it("without PUBLIC_URL the signed URL is the request's own scheme, Host and path", async () => {
    const direct = await buildTestApp(
      { ...config, events: { ...config.events, publicUrl: undefined } },
      bed.clickhouse.client,
      {},
      logger,
      {
        publisher,
      },
    );
    const form = twilioStatusCallback('queued');
    const payload = new URLSearchParams(form).toString();
    const headers = (url: string) => ({
      'content-type': 'application/x-www-form-urlencoded',
      host: 'metrics.internal:8080',
      'x-twilio-signature': twilioSignature(TWILIO_TOKEN, url, Object.entries(form)),
    });
    const own = await direct.inject({ method: 'POST', url: path, headers: headers(`http://metrics.internal:8080${path}`), payload });
    const viaProxy = await direct.inject({
      method: 'POST',
      url: path,
      headers: headers(new URL(path.slice(1), PUBLIC_URL).toString()),
      payload,
    });
    await direct.close();
    expect(own.json()).toEqual({ accepted: 0, ignored: 1, rejected: [] });
    expect(viaProxy.statusCode).toBe(401);
  });

  it('valid callbacks: counted once though delivered twice; sent and delivered are one sent; queued ignored', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const callbacks = [
      twilioStatusCallback('queued'),
      twilioStatusCallback('sent'),
      twilioStatusCallback('sent'),
      twilioStatusCallback('delivered', { RawDlrDoneDate: '2411271000' }),
      twilioStatusCallback('undelivered', { MessageSid: 'SM2', SmsSid: 'SM2', ErrorCode: '30003' }),
      twilioStatusCallback('undelivered', { MessageSid: 'SM2', SmsSid: 'SM2', ErrorCode: '30003' }),
    ];
    const answers = [];
    for (const form of callbacks) {
      const response = await post(form, sign(form));
      expect(response.statusCode).toBe(200);
      answers.push(response.json());
    }
    expect(answers[0]).toEqual({ accepted: 0, ignored: 1, rejected: [] });
    expect(answers[1]).toEqual({ accepted: 1, ignored: 0, rejected: [] });
    await caughtUp();
    const to = new Date(Date.now() + 60_000).toISOString();
    const counts = await outreach('twilio-t', from, to);
    expect(counts.sms).toEqual({ sent: 1, failed: 1, rejected: 0, expired: 0 });
  });
});

describe('POST /v1/webhooks/sendgrid/{tenant}', () => {
  const path = '/v1/webhooks/sendgrid/sendgrid-t';
  const body = JSON.stringify(SENDGRID_EVENTS);
  const post = (payload: string, headers: Record<string, string>, url = path) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload });
  const signed = (payload: string, timestamp = String(Math.floor(Date.now() / 1000))) => ({
    'x-twilio-email-event-webhook-timestamp': timestamp,
    'x-twilio-email-event-webhook-signature': sendgridSign(sendgridKeys.privateKey, timestamp, payload),
  });

  it('tampered, unsigned, or for a tenant without a key: 401 and nothing published', async () => {
    const before = await published();
    const headers = signed(body);
    expect((await post(body.replace('"dropped"', '"delivered"'), headers)).statusCode).toBe(401);
    expect((await post(body, {})).statusCode).toBe(401);
    expect((await post(body, headers, '/v1/webhooks/sendgrid/twilio-t')).statusCode).toBe(401);
    expect(await published()).toBe(before);
  });

  it("the reference's events, signed: mapped and counted once though delivered twice", async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await post(body, signed(body));
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ accepted: 6, ignored: 5, rejected: [] });
    }
    await caughtUp();
    const counts = await outreach('sendgrid-t', '2017-12-15T00:00:00.000Z', '2017-12-15T23:59:59.999Z');
    expect(counts.email).toEqual({
      sent: 1,
      failed: 0,
      rejected: 1,
      expired: 0,
      delivered: 1,
      bounced: 1,
      blocked: 1,
      spamReported: 1,
    });
  });
});

describe('secrets stay out of the logs', () => {
  it('refused and accepted callbacks at debug: no Auth Token, signature or key in any line', async () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const logged = await buildTestApp(config, bed.clickhouse.client, {}, createLogger('debug', sink), { publisher });
    const path = '/v1/webhooks/twilio/twilio-t?customerId=c-9';
    const form = twilioStatusCallback('queued');
    const signature = twilioSignature(TWILIO_TOKEN, new URL(path.slice(1), PUBLIC_URL).toString(), Object.entries(form));
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature };
    const payload = new URLSearchParams(form).toString();
    expect((await logged.inject({ method: 'POST', url: path, headers, payload })).statusCode).toBe(200);
    expect((await logged.inject({ method: 'POST', url: path, headers, payload: `${payload}&x=1` })).statusCode).toBe(401);
    await logged.close();
    expect(text).toMatch(/webhook refused/);
    for (const secret of [TWILIO_TOKEN, signature, sendgridKeys.publicKeyBase64]) expect(text).not.toContain(secret);
  });
});

describe('publishing unavailable', () => {
  it('without a publisher: 503; the broker unreachable: 503 within the publish timeout, not a hang', async () => {
    const event = JSON.stringify(assignment('down-t', 1));
    const withoutPublisher = await buildTestApp(config, bed.clickhouse.client, {}, createLogger('silent'));
    const none = await withoutPublisher.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer('down-t'), 'content-type': 'application/json' },
      payload: event,
    });
    await withoutPublisher.close();
    expect(none.statusCode).toBe(503);
    expect(none.json().error.code).toBe('UNAVAILABLE');

    // Silent: the connection errors and the 503 are expected here.
    const quiet = createLogger('silent');
    const nowhere = createConnectingPublisher({
      kafka: createKafka({ kafkaBrokers: ['127.0.0.1:1'] }, quiet, 'http-ingest-down'),
      topics: topicNames(config.topicPrefix),
      partitions: 1,
      logger: quiet,
    });
    const down = await buildTestApp({ ...config, events: { ...config.events, publishTimeoutMs: 1500 } }, bed.clickhouse.client, {}, quiet, {
      publisher: nowhere,
    });
    const started = Date.now();
    const answer = await down.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer('down-t'), 'content-type': 'application/json' },
      payload: event,
    });
    await down.close();
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(answer.json().error.message).toMatch(/retry the same request/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
