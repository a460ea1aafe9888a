import { EventWebhook } from '@sendgrid/eventwebhook';
import type { FastifyInstance } from 'fastify';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { topicNames } from '../../services/events/topics.js';
import { loadConfig, type Config } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { createConnectingPublisher, type ConnectingPublisher } from '../../services/producer/connecting-publisher.js';
import {
  SENDGRID_CUSTOM_ARGS,
  SENDGRID_EVENTS,
  sendgridKeyPair,
  sendgridSign,
  twilioStatusCallback,
} from '../../fixtures/provider-payloads.js';
import { bearer, buildTestApp } from '../support/api.js';
import { groupProgress } from '../support/group-progress.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { waitFor } from '../support/wait-for.js';
import { recordsIn } from '../support/kafka.js';

/**
 * The provider webhooks as an attacker and a careless client meet them, end to end (the real
 * broker, the ingest, the engine): bounded bodies, one answer and one cost for an unknown tenant
 * and a wrong signature, SendGrid's signed timestamp, replays, one bad event in a batch, status
 * names that are keys of every object, StatusCallback URLs as Twilio signs them (an apostrophe,
 * an explicit :443; with and without PUBLIC_URL), SharedKey HMAC-SHA256 signatures. Callbacks are
 * signed with the providers' own libraries: twilio's getExpectedTwilioSignature (checked with its
 * validateRequest), and SendGrid batches checked with @sendgrid/eventwebhook's verifySignature.
 */

const logger = createLogger(process.env.LOG_LEVEL ?? 'error');
const TOKEN = 'twilio-auth-token-of-the-test-tenant';
const SHARED_KEY_ID = 'webhooks_sharedkey_KS0123';
const SHARED_KEY_SECRET = 'shared-key-secret-of-the-test-tenant';
const PUBLIC_URL = 'https://metrics.example.com/';
const keys = sendgridKeyPair();
const library = new EventWebhook();
const libraryKey = library.convertPublicKeyToECDSA(keys.publicKeyBase64);

let bed: IngestBed;
let config: Config;
let publisher: ConnectingPublisher;
/** PUBLIC_URL set (behind a proxy). */
let app: FastifyInstance;
/** PUBLIC_URL unset, behind a proxy that says the scheme was https (TRUST_PROXY). */
let direct: FastifyInstance;
let eventTopics: string[];

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const published = () => recordsIn(bed.kafka, eventTopics);
const nowSeconds = () => String(Math.floor(Date.now() / 1000));

async function caughtUp(): Promise<void> {
  await waitFor('the ingest to commit every record', async () => {
    const { end, committed } = await groupProgress(bed.admin, config.ingest.groupId, eventTopics);
    return end > 0 && committed === end;
  });
}

async function outreach(tenant: string, from: string, to: string): Promise<{ sms: Record<string, number>; email: Record<string, number> }> {
  const response = await app.inject({ method: 'GET', url: `/v1/metrics/outreach?from=${from}&to=${to}`, headers: bearer(tenant) });
  expect(response.statusCode).toBe(200);
  return response.json();
}

/** SMS counted for the tenant in the last and next hour. */
async function smsOf(tenant: string): Promise<Record<string, number>> {
  await caughtUp();
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  return (await outreach(tenant, from, to)).sms;
}

/** A webhook's answer: the counts, or an error. */
type Answer = Record<string, unknown> & { error: { code: string; message: string } };

/**
 * A POST over a real connection, the path sent exactly as given (inject and fetch would
 * re-encode an apostrophe of the query as %27, as `new URL` does; Twilio sends the URL as set).
 */
function httpPost(
  target: FastifyInstance,
  path: string,
  headers: Record<string, string>,
  payload: string,
): Promise<{ statusCode: number; body: string; json: () => Answer }> {
  const { port } = target.server.address() as net.AddressInfo;
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { host: 'metrics.example.com', ...headers } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ statusCode: response.statusCode!, body, json: () => JSON.parse(body) as Answer }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** A Twilio callback as Twilio sends it: signed over `signedUrl` (the StatusCallback as set), POSTed to `path`. */
function postTwilio(
  target: FastifyInstance,
  path: string,
  form: Record<string, string>,
  signedUrl: string,
  extra: { secret?: string; algorithm?: 'HMAC_SHA1' | 'HMAC_SHA256'; headers?: Record<string, string> } = {},
) {
  const signature = twilio.getExpectedTwilioSignature(extra.secret ?? TOKEN, signedUrl, form, extra.algorithm);
  return httpPost(target, path, { ...FORM, 'x-twilio-signature': signature, ...extra.headers }, new URLSearchParams(form).toString());
}

function sendgridHeaders(body: string, timestamp = nowSeconds()): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-timestamp': timestamp,
    'x-twilio-email-event-webhook-signature': sendgridSign(keys.privateKey, timestamp, body),
  };
}

/** A batch signed as SendGrid signs it; @sendgrid/eventwebhook confirms the signature before it is sent. */
function postSendgrid(tenant: string, events: unknown[], timestamp = nowSeconds()) {
  const body = JSON.stringify(events);
  const headers = sendgridHeaders(body, timestamp);
  expect(library.verifySignature(libraryKey, body, headers['x-twilio-email-event-webhook-signature']!, timestamp)).toBe(true);
  return app.inject({ method: 'POST', url: `/v1/webhooks/sendgrid/${tenant}`, headers, payload: body });
}

/** Writes `head` (and then `body`, if given, once the head is written) on a raw connection; resolves with all the server answered. */
function rawExchange(port: number, head: string, body?: Buffer): Promise<{ status: number; text: string; bodySent: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let bodySent = false;
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      // The whole answer: the head and a body of the Content-Length it names.
      const at = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (at >= 0 && length !== undefined && text.length >= at + 4 + Number(length)) {
        socket.destroy();
        resolve({ status: Number(text.slice(9, 12)), text, bodySent });
      }
    });
    socket.on('error', reject);
    socket.write(head, () => {
      if (body) socket.write(body, () => (bodySent = true));
    });
  });
}

beforeAll(async () => {
  bed = await openIngestBed('webhook-providers', { batchMaxRows: 5000, batchMaxMs: 200 });
  const twilioSecrets = { twilioAuthToken: TOKEN, twilioSharedKeys: { [SHARED_KEY_ID]: SHARED_KEY_SECRET } };
  const secrets = loadConfig({
    WEBHOOK_SECRETS: JSON.stringify({
      tw: twilioSecrets,
      'tw-direct': twilioSecrets,
      'tw-url': twilioSecrets,
      'tw-replay': twilioSecrets,
      sg: { sendgridPublicKey: keys.publicKeyBase64 },
      'sg-batch': { sendgridPublicKey: keys.publicKeyBase64 },
      'sg-replay': { sendgridPublicKey: keys.publicKeyBase64 },
    }),
  }).events.webhookSecrets;
  config = { ...bed.config, events: { ...bed.config.events, publicUrl: PUBLIC_URL, webhookSecrets: secrets } };
  const topics = topicNames(config.topicPrefix);
  eventTopics = [topics.assignments, topics.deliveries];
  publisher = createConnectingPublisher({ kafka: bed.kafka, topics, partitions: config.topicPartitions, logger });
  app = await buildTestApp(config, bed.clickhouse.client, {}, logger, { publisher });
  direct = await buildTestApp(
    { ...config, events: { ...config.events, publicUrl: undefined } },
    bed.clickhouse.client,
    { trustProxy: true },
    logger,
    {
      publisher,
    },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  await direct.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await direct?.close();
  await publisher?.close();
  await bed?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an unknown tenant and a wrong signature', () => {
  const path = (tenant: string) => `/v1/webhooks/twilio/${tenant}?customerId=c-1`;
  const form = twilioStatusCallback('sent');

  it('Twilio: the same 401 answer for a wrong signature, no signature, an unknown tenant, a tenant without a Twilio secret', async () => {
    const before = await published();
    const answers = await Promise.all([
      postTwilio(app, path('tw'), form, `${PUBLIC_URL}${path('tw').slice(1)}`, { secret: 'not-the-token' }),
      httpPost(app, path('tw'), FORM, new URLSearchParams(form).toString()),
      postTwilio(app, path('nobody'), form, `${PUBLIC_URL}${path('nobody').slice(1)}`),
      postTwilio(app, path('sg'), form, `${PUBLIC_URL}${path('sg').slice(1)}`),
    ]);
    for (const answer of answers) {
      expect(answer.statusCode).toBe(401);
      expect(answer.body).toBe(answers[0]!.body);
    }
    expect(answers[0]!.json().error.code).toBe('UNAUTHORIZED');
    expect(await published()).toBe(before);
  });

  it('Twilio: the same work — as many HMACs over as many bytes — for an unknown tenant as for a wrong signature', async () => {
    const spy = vi.spyOn(crypto, 'createHmac');
    const cost = async (tenant: string) => {
      spy.mockClear();
      const response = await postTwilio(app, path(tenant), form, `${PUBLIC_URL}${path(tenant).slice(1)}`, { secret: 'not-the-token' });
      expect(response.statusCode).toBe(401);
      return spy.mock.calls.map(([algorithm]) => algorithm);
    };
    const known = await cost('tw');
    expect(known.length).toBeGreaterThan(0);
    expect(await cost('nobody')).toEqual(known);
    expect(await cost('sg')).toEqual(known);
  });

  it('SendGrid: the same 401 answer and one signature check each for a wrong key, an unknown tenant, a tenant without a key', async () => {
    const body = JSON.stringify(SENDGRID_EVENTS);
    const wrong = sendgridKeyPair();
    const timestamp = nowSeconds();
    const headers = {
      ...sendgridHeaders(body, timestamp),
      'x-twilio-email-event-webhook-signature': sendgridSign(wrong.privateKey, timestamp, body),
    };
    const spy = vi.spyOn(crypto, 'verify');
    const answers = [];
    const checks = [];
    for (const tenant of ['sg', 'nobody', 'tw']) {
      spy.mockClear();
      answers.push(await app.inject({ method: 'POST', url: `/v1/webhooks/sendgrid/${tenant}`, headers, payload: body }));
      checks.push(spy.mock.calls.length);
    }
    expect(checks).toEqual([1, 1, 1]);
    for (const answer of answers) {
      expect(answer.statusCode).toBe(401);
      expect(answer.body).toBe(answers[0]!.body);
    }
  });
});

describe('body limits: checked before anything is read or parsed', () => {
  let port: number;
  let listening: FastifyInstance;

  beforeAll(async () => {
    listening = await buildTestApp(config, bed.clickhouse.client, {}, logger, { publisher });
    await listening.listen({ host: '127.0.0.1', port: 0 });
    port = (listening.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await listening?.close();
  });

  const head = (path: string, type: string, length: number) =>
    `POST ${path} HTTP/1.1\r\nHost: metrics.example.com\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;

  it('Twilio over 64 KiB, SendGrid over 4 MiB: 413 JSON naming the limit, answered before the body was sent', async () => {
    for (const [path, type, limit] of [
      ['/v1/webhooks/twilio/tw?customerId=c-1', 'application/x-www-form-urlencoded', 64 * 1024],
      ['/v1/webhooks/sendgrid/sg', 'application/json', 4 * 1024 * 1024],
      ['/v1/webhooks/twilio/nobody', 'application/x-www-form-urlencoded', 64 * 1024],
    ] as const) {
      const answer = await rawExchange(port, head(path, type, limit + 1));
      expect(answer.status, path).toBe(413);
      expect(answer.bodySent).toBe(false);
      const json = JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
      expect(json.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(json.error.message).toContain(String(limit));
    }
  });

  it('at the limit the body is read (and refused by its signature); a chunked body past it is cut off with 413', async () => {
    const form = Buffer.alloc(64 * 1024, 'a');
    const atLimit = await rawExchange(
      port,
      head('/v1/webhooks/twilio/tw?customerId=c-1', 'application/x-www-form-urlencoded', form.length),
      form,
    );
    expect(atLimit.status).toBe(401);
    const chunk = Buffer.alloc(64 * 1024 + 1, 'a');
    const chunked = await rawExchange(
      port,
      'POST /v1/webhooks/twilio/tw HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n0\r\n\r\n')]),
    );
    expect(chunked.status).toBe(413);
  });

  it('a 1 MiB Twilio form with a wrong signature is refused by size, not parsed', async () => {
    const payload = `MessageStatus=sent&${'x=1&'.repeat(256 * 1024)}`;
    const response = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/twilio/tw?customerId=c-1',
      headers: { ...FORM, 'x-twilio-signature': 'x' },
      payload,
    });
    expect(response.statusCode).toBe(413);
  });
});

describe('SendGrid signed timestamp', () => {
  const event = (id: string, timestamp: number) => ({ ...SENDGRID_EVENTS[0], sg_event_id: id, sg_message_id: `m-${id}`, timestamp });

  it('a body validly signed in 2023, or more than 10 minutes off either way: 401 naming the timestamp, nothing published', async () => {
    const before = await published();
    for (const timestamp of ['1700000000', String(Number(nowSeconds()) - 11 * 60), String(Number(nowSeconds()) + 11 * 60)]) {
      const response = await postSendgrid('sg-replay', [event('old', Number(timestamp))], timestamp);
      expect(response.statusCode, timestamp).toBe(401);
      expect(response.json().error).toEqual({
        code: 'UNAUTHORIZED',
        message: expect.stringMatching(/X-Twilio-Email-Event-Webhook-Timestamp.*600 seconds/),
      });
    }
    for (const timestamp of ['', 'abc', '1e9', '-1', '17000000000000000000']) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/webhooks/sendgrid/sg-replay',
        headers: sendgridHeaders('[]', timestamp),
        payload: '[]',
      });
      expect(response.statusCode, timestamp).toBe(401);
    }
    expect(await published()).toBe(before);
  });

  it('within the tolerance: accepted; a replay of the same request (or sent at once three times) counts once', async () => {
    const t = Math.floor(Date.now() / 1000) - 9 * 60;
    const events = [event('r1', t), { ...event('r2', t), event: 'delivered' }];
    const first = await postSendgrid('sg-replay', events, String(t));
    expect(first.json()).toEqual({ accepted: 2, ignored: 0, rejected: [] });
    const again = await Promise.all([0, 1, 2].map(() => postSendgrid('sg-replay', events, String(t))));
    for (const response of again) expect(response.json()).toEqual({ accepted: 2, ignored: 0, rejected: [] });
    await caughtUp();
    const email = (await outreach('sg-replay', new Date((t - 60) * 1000).toISOString(), new Date((t + 60) * 1000).toISOString())).email;
    expect([email.sent, email.delivered]).toEqual([1, 1]);
  });
});

describe('a bad event in a SendGrid batch', () => {
  it('timestamp 1e13 is rejected by itself; the good events are published and counted; 200', async () => {
    const t = Math.floor(Date.now() / 1000);
    const good = (id: string) => ({ ...SENDGRID_EVENTS[0], sg_event_id: id, sg_message_id: `m-${id}`, timestamp: t });
    const response = await postSendgrid('sg-batch', [good('b1'), { ...good('b2'), timestamp: 1e13 }, good('b3')]);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      accepted: 2,
      ignored: 0,
      rejected: [{ index: 1, reason: expect.stringMatching(/^(timestamp|occurredAt): /) }],
    });
    await caughtUp();
    const email = (await outreach('sg-batch', new Date((t - 60) * 1000).toISOString(), new Date((t + 60) * 1000).toISOString())).email;
    expect(email.sent).toBe(2);
  });

  it('the answer lists at most 100 rejected events and counts the rest', async () => {
    const events = Array.from({ length: 250 }, (_, i) => ({
      event: 'processed',
      sg_event_id: `x-${i}`,
      sg_message_id: 'm',
      timestamp: 1e13,
      customerId: 'c',
    }));
    const response = await postSendgrid('sg-batch', [{ event: 'open' }, ...events]);
    expect(response.statusCode).toBe(200);
    const answer = response.json() as { accepted: number; ignored: number; rejected: { index: number }[]; omitted: number };
    expect([answer.accepted, answer.ignored, answer.rejected.length, answer.omitted]).toEqual([0, 1, 100, 150]);
    expect(answer.rejected[0]!.index).toBe(1);
    expect(answer.rejected[99]!.index).toBe(100);
  });

  it('status names that are keys of every object are ignored, not rejected', async () => {
    const t = Math.floor(Date.now() / 1000);
    const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty'];
    const body = `[${names.map((name) => `{"event":${JSON.stringify(name)},"sg_event_id":"p","sg_message_id":"m","timestamp":${t},"customerId":"c"}`).join(',')}]`;
    const response = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/sendgrid/sg-batch',
      headers: sendgridHeaders(body),
      payload: body,
    });
    expect(response.json()).toEqual({ accepted: 0, ignored: 4, rejected: [] });
    const form = twilioStatusCallback('constructor');
    const path = '/v1/webhooks/twilio/tw?customerId=c-1';
    expect((await postTwilio(app, path, form, `${PUBLIC_URL}${path.slice(1)}`)).json()).toEqual({ accepted: 0, ignored: 1, rejected: [] });
  });
});

describe('StatusCallback URLs as Twilio signs them', () => {
  const APOSTROPHE = "customerId=o'brien%40example.com&campaignId=cm-1";
  const callback = (sid: string, extra: Record<string, string> = {}) =>
    twilioStatusCallback('sent', { MessageSid: sid, SmsSid: sid, ...extra });

  it('with PUBLIC_URL: an apostrophe in the query and an explicit :443 are counted; tampered ones are refused', async () => {
    const path = `/v1/webhooks/twilio/tw-url?${APOSTROPHE}`;
    const cases = [
      [callback('SMP1'), `https://metrics.example.com/${path.slice(1)}`],
      [callback('SMP2'), `https://metrics.example.com:443/${path.slice(1)}`],
      [
        callback('SMP3'),
        `https://metrics.example.com:443/v1/webhooks/twilio/tw-url?customerId=c-2`,
        '/v1/webhooks/twilio/tw-url?customerId=c-2',
      ],
    ] as const;
    for (const [form, signedUrl, at] of cases) {
      // twilio-node itself accepts the URL the request reached us by.
      const signature = twilio.getExpectedTwilioSignature(TOKEN, signedUrl, form);
      expect(twilio.validateRequest(TOKEN, signature, `https://metrics.example.com${at ?? path}`, form)).toBe(true);
      const response = await postTwilio(app, at ?? path, form, signedUrl);
      expect(response.json(), signedUrl).toEqual({ accepted: 1, ignored: 0, rejected: [] });
    }
    const signedUrl = `https://metrics.example.com:443/${path.slice(1)}`;
    const tampered = [
      await postTwilio(app, path.replace("o'brien", "o'brian"), callback('SMP4'), signedUrl),
      await httpPost(
        app,
        path,
        { ...FORM, 'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, signedUrl, callback('SMP4')) },
        new URLSearchParams({ ...callback('SMP4'), MessageStatus: 'failed' }).toString(),
      ),
      await postTwilio(app, path, callback('SMP4'), signedUrl.replace('https:', 'http:')),
      await postTwilio(app, path, callback('SMP4'), signedUrl.replace(':443', ':8443')),
    ];
    for (const response of tampered) expect(response.statusCode).toBe(401);
    expect(await smsOf('tw-url')).toEqual({ sent: 3, failed: 0, rejected: 0, expired: 0 });
  });

  it("the customer id is read from the query as written: o'brien@example.com", async () => {
    const response = await app.inject({
      method: 'GET',
      url: `/v1/exports/deliveries.csv?from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 3_600_000).toISOString()}`,
      headers: bearer('tw-url'),
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain("o'brien@example.com");
  });

  it('without PUBLIC_URL (scheme from the proxy, Host as sent): the same two callbacks with and without :443 in Host', async () => {
    const path = `/v1/webhooks/twilio/tw-direct?${APOSTROPHE}`;
    const headers = (host: string) => ({ host, 'x-forwarded-proto': 'https' });
    const cases = [
      [callback('SMD1'), `https://metrics.example.com/${path.slice(1)}`, 'metrics.example.com'],
      [callback('SMD2'), `https://metrics.example.com:443/${path.slice(1)}`, 'metrics.example.com'],
      [callback('SMD3'), `https://metrics.example.com/${path.slice(1)}`, 'metrics.example.com:443'],
      [callback('SMD4'), `https://metrics.example.com:443/${path.slice(1)}`, 'metrics.example.com:443'],
    ] as const;
    for (const [form, signedUrl, host] of cases) {
      const response = await postTwilio(direct, path, form, signedUrl, { headers: headers(host) });
      expect(response.json(), `${signedUrl} Host ${host}`).toEqual({ accepted: 1, ignored: 0, rejected: [] });
    }
    const wrongHost = await postTwilio(direct, path, callback('SMD5'), `https://metrics.example.com/${path.slice(1)}`, {
      headers: headers('attacker.example.com'),
    });
    expect(wrongHost.statusCode).toBe(401);
    expect(await smsOf('tw-direct')).toEqual({ sent: 4, failed: 0, rejected: 0, expired: 0 });
  });

  it('SharedKey HMAC-SHA256 (X-Twilio-Webhooks-Signature-Settings): accepted under the named key; refused otherwise', async () => {
    const path = '/v1/webhooks/twilio/tw?customerId=c-9';
    const signedUrl = `${PUBLIC_URL}${path.slice(1)}`;
    const settings = (key: string, algorithm = 'HMAC_SHA256') => ({
      'x-twilio-webhooks-signature-settings': `key=${key},algorithm=${algorithm}`,
    });
    const sha256 = { secret: SHARED_KEY_SECRET, algorithm: 'HMAC_SHA256' as const };
    const ok = await postTwilio(app, path, callback('SMS256'), signedUrl, { ...sha256, headers: settings(SHARED_KEY_ID) });
    expect(ok.json()).toEqual({ accepted: 1, ignored: 0, rejected: [] });
    const sha1 = await postTwilio(app, path, callback('SMS1'), signedUrl, {
      secret: SHARED_KEY_SECRET,
      headers: settings(SHARED_KEY_ID, 'HMAC_SHA1'),
    });
    expect(sha1.json()).toEqual({ accepted: 1, ignored: 0, rejected: [] });
    const refused = [
      // No settings header: the Auth Token and SHA-1 are expected.
      await postTwilio(app, path, callback('SMS256'), signedUrl, sha256),
      // A key the tenant does not have, an algorithm nobody has, the Auth Token under the settings header.
      await postTwilio(app, path, callback('SMS256'), signedUrl, { ...sha256, headers: settings('webhooks_sharedkey_other') }),
      await postTwilio(app, path, callback('SMS256'), signedUrl, { ...sha256, headers: settings(SHARED_KEY_ID, 'HMAC_MD5') }),
      await postTwilio(app, path, callback('SMS256'), signedUrl, { algorithm: 'HMAC_SHA256', headers: settings(SHARED_KEY_ID) }),
    ];
    for (const response of refused) expect(response.statusCode).toBe(401);
  });
});

describe('Twilio replays', () => {
  it('the same callback replayed, and five copies at once, count once: the event id is derived from MessageSid and the status', async () => {
    const path = '/v1/webhooks/twilio/tw-replay?customerId=c-1';
    const signedUrl = `${PUBLIC_URL}${path.slice(1)}`;
    const form = twilioStatusCallback('sent', { MessageSid: 'SMR1', SmsSid: 'SMR1' });
    const before = await published();
    expect((await postTwilio(app, path, form, signedUrl)).json()).toEqual({ accepted: 1, ignored: 0, rejected: [] });
    const copies = await Promise.all(Array.from({ length: 5 }, () => postTwilio(app, path, form, signedUrl)));
    for (const response of copies) expect(response.json()).toEqual({ accepted: 1, ignored: 0, rejected: [] });
    // Odd encodings of the same parameters (charset, + for a space) are the same callback.
    const odd = await httpPost(
      app,
      path,
      {
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, signedUrl, { ...form, Body: 'hi there é' }),
      },
      `${new URLSearchParams(form).toString()}&Body=hi+there+%C3%A9`,
    );
    expect(odd.json()).toEqual({ accepted: 1, ignored: 0, rejected: [] });
    expect(await published()).toBe(before + 7);
    expect(await smsOf('tw-replay')).toEqual({ sent: 1, failed: 0, rejected: 0, expired: 0 });
  });
});

describe('the SendGrid reference events, signed and checked with @sendgrid/eventwebhook', () => {
  it('mapped and counted', async () => {
    const t = Math.floor(Date.now() / 1000);
    const events = SENDGRID_EVENTS.map((event, i) => ({ ...event, ...SENDGRID_CUSTOM_ARGS, sg_event_id: `ref-${i}`, timestamp: t }));
    const response = await postSendgrid('sg', events);
    expect(response.json()).toEqual({ accepted: 6, ignored: 5, rejected: [] });
    await caughtUp();
    const email = (await outreach('sg', new Date((t - 60) * 1000).toISOString(), new Date((t + 60) * 1000).toISOString())).email;
    expect(email).toEqual({ sent: 1, failed: 0, rejected: 1, expired: 0, delivered: 1, bounced: 1, blocked: 1, spamReported: 1 });
  });
});

describe('careless clients', () => {
  it('a tenant id no token can name: 400 naming the parameter; a wrong Content-Type: 415; two signature headers: 401', async () => {
    const form = new URLSearchParams(twilioStatusCallback('sent')).toString();
    const badTenant = await httpPost(app, '/v1/webhooks/twilio/acme%20corp?customerId=c', FORM, form);
    expect(badTenant.statusCode).toBe(400);
    expect(badTenant.json().error.message).toMatch(/parameter tenant/);
    const plain = await httpPost(app, '/v1/webhooks/twilio/tw?customerId=c', { 'content-type': 'text/plain' }, form);
    expect([plain.statusCode, plain.json().error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const path = '/v1/webhooks/twilio/tw?customerId=c';
    const signature = twilio.getExpectedTwilioSignature(TOKEN, `${PUBLIC_URL}${path.slice(1)}`, twilioStatusCallback('sent'));
    const twice = await new Promise<number>((resolve, reject) => {
      const { port } = app.server.address() as net.AddressInfo;
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: 'POST',
          headers: [
            'host',
            'metrics.example.com',
            'content-type',
            FORM['content-type'],
            'x-twilio-signature',
            signature,
            'x-twilio-signature',
            signature,
          ],
        },
        (response) => {
          response.resume();
          resolve(response.statusCode!);
        },
      );
      request.on('error', reject);
      request.end(form);
    });
    expect(twice).toBe(401);
  });

  it('SendGrid, signed: an empty batch is 200 with nothing counted; an object or broken JSON is 400', async () => {
    const post = (body: string) =>
      app.inject({ method: 'POST', url: '/v1/webhooks/sendgrid/sg', headers: sendgridHeaders(body), payload: body });
    expect((await post('[]')).json()).toEqual({ accepted: 0, ignored: 0, rejected: [] });
    const object = await post(JSON.stringify(SENDGRID_EVENTS[0]));
    expect([object.statusCode, object.json().error.message]).toEqual([400, 'body: must be a JSON array of events']);
    const broken = await post('[{"event":');
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.message).toMatch(/^body: is not valid JSON/);
  });
});
