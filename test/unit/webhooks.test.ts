import { EventWebhook } from '@sendgrid/eventwebhook';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { signToken } from '../../services/api/auth/tokens.js';
import { loadConfig } from '../../services/platform/config.js';
import {
  providerEventId,
  sendgridOutcome,
  twilioOutcome,
  twilioSignature,
  twilioSignatureSettings,
  twilioUrlCandidates,
  verifySendgridSignature,
  verifyTwilioRequest,
  verifyTwilioSignature,
} from '../../services/webhooks/index.js';
import {
  SENDGRID_EVENTS,
  sendgridKeyPair,
  sendgridSign,
  TWILIO_SECURITY_EXAMPLE,
  twilioStatusCallback,
} from '../../fixtures/provider-payloads.js';

/**
 * The provider signatures and the mapping onto our statuses. Payloads and the Twilio signature
 * example come from the providers' pages cited in fixtures/provider-payloads.ts:
 * https://www.twilio.com/docs/usage/webhooks/webhooks-security,
 * https://www.twilio.com/docs/messaging/guides/track-outbound-message-status,
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event,
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features.
 */

const pairs = (record: Record<string, string>) => Object.entries(record);
const RECEIVED = new Date('2026-11-27T10:00:00.000Z');
const CUSTOM = new URLSearchParams({ customerId: 'c-1', playbookId: 'pb-1', campaignId: 'cm-1' });

describe('Twilio signature', () => {
  it("reproduces the security page's example signature", () => {
    const { authToken, url, params, signature } = TWILIO_SECURITY_EXAMPLE;
    expect(twilioSignature(authToken, url, pairs(params))).toBe(signature);
    expect(verifyTwilioSignature(authToken, url, pairs(params), signature)).toBe(true);
  });

  it('refuses a tampered parameter, another URL, another token and a missing header', () => {
    const { authToken, url, params, signature } = TWILIO_SECURITY_EXAMPLE;
    expect(verifyTwilioSignature(authToken, url, pairs({ ...params, Digits: '1235' }), signature)).toBe(false);
    expect(verifyTwilioSignature(authToken, url.replace('foo=1', 'foo=2'), pairs(params), signature)).toBe(false);
    expect(verifyTwilioSignature('54321', url, pairs(params), signature)).toBe(false);
    expect(verifyTwilioSignature(authToken, url, pairs(params), undefined)).toBe(false);
    expect(verifyTwilioSignature(authToken, url, pairs(params), 'short')).toBe(false);
  });
});

describe('Twilio MessageStatus mapping', () => {
  const outcome = (status: string, extra: Record<string, string> = {}, query = CUSTOM) =>
    twilioOutcome('acme', query, new URLSearchParams(twilioStatusCallback(status, extra)), RECEIVED);

  it('sent and delivered are one sent event (one event id); undelivered failed; failed rejected; 30036 expired', () => {
    const sent = outcome('sent');
    expect(sent).toEqual({
      kind: 'event',
      event: {
        type: 'delivery',
        eventId: providerEventId('twilio', 'SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', 'sent'),
        tenantId: 'acme',
        occurredAt: '2026-11-27T10:00:00.000Z',
        customerId: 'c-1',
        messageId: 'SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
        channel: 'sms',
        status: 'sent',
        playbookId: 'pb-1',
        campaignId: 'cm-1',
        reason: null,
      },
    });
    expect(outcome('delivered', { RawDlrDoneDate: '2411271000' })).toEqual(sent);
    const undelivered = outcome('undelivered', { ErrorCode: '30003' });
    expect(undelivered.kind === 'event' && [undelivered.event.status, undelivered.event.reason]).toEqual(['failed', 'Twilio error 30003']);
    const failed = outcome('failed', { ErrorCode: '30008' });
    expect(failed.kind === 'event' && failed.event.status).toBe('rejected');
    const expired = outcome('failed', { ErrorCode: '30036' });
    expect(expired.kind === 'event' && expired.event.status).toBe('expired');
    const ids = [sent, undelivered, failed, expired].map((o) => (o.kind === 'event' ? o.event.eventId : ''));
    expect(new Set(ids).size).toBe(4);
  });

  it('ignores intermediate and other states', () => {
    for (const state of [
      'queued',
      'accepted',
      'scheduled',
      'sending',
      'receiving',
      'received',
      'read',
      'canceled',
      'partially_delivered',
    ]) {
      expect(outcome(state).kind).toBe('ignored');
    }
  });

  it('rejects a callback without customerId in the StatusCallback query, or without MessageSid', () => {
    expect(outcome('sent', {}, new URLSearchParams())).toEqual({
      kind: 'rejected',
      reason: expect.stringMatching(/^customerId: is required/),
    });
    const form = new URLSearchParams({ MessageStatus: 'sent' });
    expect(twilioOutcome('acme', CUSTOM, form, RECEIVED)).toEqual({ kind: 'rejected', reason: 'MessageSid: is required' });
  });
});

describe('SendGrid signature', () => {
  const { privateKey, publicKeyBase64 } = sendgridKeyPair();
  const key = loadConfig({ WEBHOOK_SECRETS: JSON.stringify({ acme: { sendgridPublicKey: publicKeyBase64 } }) }).events.webhookSecrets.get(
    'acme',
  )!.sendgridPublicKey!;
  const body = `${JSON.stringify(SENDGRID_EVENTS)}\r\n`;
  const timestamp = '1600112502';

  it('verifies timestamp + raw body under the verification key', () => {
    expect(verifySendgridSignature(key, timestamp, Buffer.from(body), sendgridSign(privateKey, timestamp, body))).toBe(true);
  });

  it('refuses a tampered body, another timestamp, another key and a missing header', () => {
    const signature = sendgridSign(privateKey, timestamp, body);
    expect(verifySendgridSignature(key, timestamp, Buffer.from(body.replace('processed', 'delivered')), signature)).toBe(false);
    expect(verifySendgridSignature(key, '1600112503', Buffer.from(body), signature)).toBe(false);
    const other = sendgridKeyPair();
    expect(verifySendgridSignature(key, timestamp, Buffer.from(body), sendgridSign(other.privateKey, timestamp, body))).toBe(false);
    expect(verifySendgridSignature(key, timestamp, Buffer.from(body), undefined)).toBe(false);
    expect(verifySendgridSignature(key, undefined, Buffer.from(body), signature)).toBe(false);
    expect(verifySendgridSignature(key, timestamp, Buffer.from(body), 'not base64 DER')).toBe(false);
  });
});

describe('SendGrid event mapping', () => {
  it('maps processed, delivered, bounce (bounce / blocked), dropped and spamreport; ignores the rest', () => {
    const outcomes = SENDGRID_EVENTS.map((event) => sendgridOutcome('acme', event));
    const summary = outcomes.map((o, i) => [SENDGRID_EVENTS[i]!.event, o.kind === 'event' ? o.event.status : o.kind]);
    expect(summary).toEqual([
      ['processed', 'sent'],
      ['deferred', 'ignored'],
      ['delivered', 'delivered'],
      ['open', 'ignored'],
      ['click', 'ignored'],
      ['bounce', 'bounced'],
      ['bounce', 'blocked'],
      ['dropped', 'rejected'],
      ['spamreport', 'spam_reported'],
      ['unsubscribe', 'ignored'],
      ['group_unsubscribe', 'ignored'],
    ]);
    const dropped = outcomes[7]!;
    expect(dropped).toEqual({
      kind: 'event',
      event: {
        type: 'delivery',
        eventId: providerEventId('sendgrid', 'sg_event_id', 'rejected'),
        tenantId: 'acme',
        occurredAt: '2017-12-15T00:59:29.000Z',
        customerId: 'c-1',
        messageId: 'sg_message_id',
        channel: 'email',
        status: 'rejected',
        playbookId: 'pb-1',
        campaignId: 'cm-1',
        reason: 'Bounced Address',
      },
    });
  });

  it('rejects an event without customerId in its custom_args, without sg_event_id, or not an object', () => {
    const { customerId: _, ...withoutCustomer } = SENDGRID_EVENTS[0]!;
    expect(sendgridOutcome('acme', withoutCustomer)).toEqual({
      kind: 'rejected',
      reason: expect.stringMatching(/^customerId: is required/),
    });
    expect(sendgridOutcome('acme', { ...SENDGRID_EVENTS[0], sg_event_id: undefined })).toEqual({
      kind: 'rejected',
      reason: 'sg_event_id: is required',
    });
    expect(sendgridOutcome('acme', 'processed').kind).toBe('rejected');
    expect(sendgridOutcome('acme', { ...SENDGRID_EVENTS[0], customerId: 'x'.repeat(300) })).toEqual({
      kind: 'rejected',
      reason: expect.stringMatching(/customerId: is 300 characters long/),
    });
  });

  it('derives event ids deterministically: same provider id and status, same id', () => {
    expect(providerEventId('sendgrid', 'abc', 'sent')).toBe(providerEventId('sendgrid', 'abc', 'sent'));
    expect(providerEventId('sendgrid', 'abc', 'sent')).not.toBe(providerEventId('twilio', 'abc', 'sent'));
    expect(providerEventId('sendgrid', 'abc', 'sent')).toMatch(/^sendgrid-[0-9a-f]{32}$/);
  });
});

describe('WEBHOOK_SECRETS / WEBHOOK_SECRETS_FILE', () => {
  it('refuses a bad key naming the tenant and the key, never the value', () => {
    const secret = 'super-secret-token-value';
    const attempt = () => loadConfig({ WEBHOOK_SECRETS: JSON.stringify({ acme: { twilioAuthToken: secret, sendgridPublicKey: secret } }) });
    expect(attempt).toThrow(/^WEBHOOK_SECRETS: tenant "acme": sendgridPublicKey is not a base64 DER/);
    expect(() => attempt()).not.toThrow(new RegExp(secret));
    expect(() => loadConfig({ WEBHOOK_SECRETS: '{"acme": {"twilioToken": "x"}}' })).toThrow(/unknown key "twilioToken"/);
    expect(() => loadConfig({ WEBHOOK_SECRETS: 'nope' })).toThrow(/^WEBHOOK_SECRETS: is not valid JSON/);
    expect(() => loadConfig({ WEBHOOK_SECRETS_FILE: '/nonexistent/secrets.json' })).toThrow(
      /^WEBHOOK_SECRETS_FILE=.*cannot be read \(ENOENT\)/,
    );
    expect(loadConfig({}).events.webhookSecrets.size).toBe(0);
  });
});

describe("Twilio signatures as twilio-node's own helpers compute and check them", () => {
  const { authToken, url, params } = TWILIO_SECURITY_EXAMPLE;

  it('HMAC-SHA1 (the Auth Token) and HMAC-SHA256 (a SharedKey) equal getExpectedTwilioSignature', () => {
    expect(twilioSignature(authToken, url, pairs(params))).toBe(twilio.getExpectedTwilioSignature(authToken, url, { ...params }));
    const sha256 = twilio.getExpectedTwilioSignature('shared-key-secret', url, { ...params }, 'HMAC_SHA256');
    expect(twilioSignature('shared-key-secret', url, pairs(params), 'HMAC_SHA256')).toBe(sha256);
    expect(verifyTwilioSignature('shared-key-secret', url, pairs(params), sha256, 'HMAC_SHA256')).toBe(true);
    // The same header under the other algorithm does not verify.
    expect(verifyTwilioSignature('shared-key-secret', url, pairs(params), sha256, 'HMAC_SHA1')).toBe(false);
  });

  it("the settings header is read as twilio-node's getSignatureAlgorithm reads it", () => {
    for (const header of ['key=KS1,algorithm=HMAC_SHA256', ' algorithm = HMAC_SHA256 , key = KS1', 'key=KS1', 'key=KS1,algorithm=']) {
      const settings = twilioSignatureSettings(header);
      expect(settings.algorithm).toBe(twilio.getSignatureAlgorithm(header));
      expect(settings.sharedKey).toBe('KS1');
    }
    expect(twilioSignatureSettings(undefined)).toEqual({ sharedKey: undefined, algorithm: 'HMAC_SHA1' });
    expect(twilioSignatureSettings('key=KS1,algorithm=HMAC_MD5').algorithm).toBeUndefined();
  });

  it('an apostrophe and an explicit :443 in the StatusCallback: the URL as written, with and without the port', () => {
    const callback = "https://metrics.example.com:443/v1/webhooks/twilio/acme?customerId=o'brien%40example.com";
    const form = twilioStatusCallback('sent');
    const signature = twilio.getExpectedTwilioSignature(authToken, callback, form);
    const candidates = twilioUrlCandidates(callback);
    expect(candidates).toEqual(["https://metrics.example.com/v1/webhooks/twilio/acme?customerId=o'brien%40example.com", callback]);
    // Both as it reached us (Host without the port) and as Twilio signed it.
    expect(verifyTwilioRequest(authToken, twilioUrlCandidates(candidates[0]!), pairs(form), signature)).toBe(true);
    expect(twilio.validateRequest(authToken, signature, candidates[0]!, form)).toBe(true);
    // new URL() re-encodes the apostrophe: that URL is not the one Twilio signed.
    expect(new URL(callback).toString()).toContain('%27');
    expect(verifyTwilioRequest(authToken, twilioUrlCandidates(new URL(callback).toString()), pairs(form), signature)).toBe(false);
    // Tampered: another customer, another parameter value.
    const tampered = candidates[0]!.replace("o'brien", "o'brian");
    expect(verifyTwilioRequest(authToken, twilioUrlCandidates(tampered), pairs(form), signature)).toBe(false);
    expect(twilio.validateRequest(authToken, signature, tampered, form)).toBe(false);
    expect(verifyTwilioRequest(authToken, candidates, pairs({ ...form, MessageStatus: 'failed' }), signature)).toBe(false);
    expect(verifyTwilioRequest(authToken, candidates, pairs(form), undefined)).toBe(false);
  });

  it('ports: http gets :80, another port stays as the only form with one, IPv6 literals keep their colons', () => {
    expect(twilioUrlCandidates('http://h/p?q=1')).toEqual(['http://h/p?q=1', 'http://h:80/p?q=1']);
    expect(twilioUrlCandidates('http://h:8080/p')).toEqual(['http://h/p', 'http://h:8080/p']);
    expect(twilioUrlCandidates('https://[::1]/p')).toEqual(['https://[::1]/p', 'https://[::1]:443/p']);
  });
});

describe('SendGrid signatures as @sendgrid/eventwebhook verifies them', () => {
  it('a batch signed with a test key pair: the library and our check agree, on the good and the tampered', () => {
    const { privateKey, publicKeyBase64 } = sendgridKeyPair();
    const key = loadConfig({ WEBHOOK_SECRETS: JSON.stringify({ acme: { sendgridPublicKey: publicKeyBase64 } }) }).events.webhookSecrets.get(
      'acme',
    )!.sendgridPublicKey!;
    const library = new EventWebhook();
    const libraryKey = library.convertPublicKeyToECDSA(publicKeyBase64);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const body = `${JSON.stringify(SENDGRID_EVENTS)}\r\n`;
    const signature = sendgridSign(privateKey, timestamp, body);
    expect(library.verifySignature(libraryKey, body, signature, timestamp)).toBe(true);
    expect(verifySendgridSignature(key, timestamp, Buffer.from(body), signature)).toBe(true);
    const tampered = body.replace('"processed"', '"delivered"');
    expect(library.verifySignature(libraryKey, tampered, signature, timestamp)).toBe(false);
    expect(verifySendgridSignature(key, timestamp, Buffer.from(tampered), signature)).toBe(false);
  });
});

describe('status names that are keys of every object', () => {
  const NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

  it('Twilio: ignored like any state we do not count, no source code in the reason', () => {
    for (const name of NAMES) {
      const outcome = twilioOutcome('acme', CUSTOM, new URLSearchParams(twilioStatusCallback(name)), RECEIVED);
      expect(outcome.kind, name).toBe('ignored');
      expect(JSON.stringify(outcome)).not.toMatch(/function|native code/);
    }
  });

  it('SendGrid: ignored, also as a key parsed from JSON', () => {
    for (const name of NAMES) {
      const event = JSON.parse(JSON.stringify({ ...SENDGRID_EVENTS[0], event: name })) as unknown;
      const outcome = sendgridOutcome('acme', event);
      expect(outcome.kind, name).toBe('ignored');
      expect(JSON.stringify(outcome)).not.toMatch(/function|native code/);
    }
    // A bounce whose `type` is such a name is still a bounce.
    const bounce = sendgridOutcome(
      'acme',
      JSON.parse('{"event":"bounce","type":"__proto__","sg_event_id":"e","sg_message_id":"m","timestamp":1513299569,"customerId":"c"}'),
    );
    expect(bounce.kind === 'event' && bounce.event.status).toBe('bounced');
  });
});

describe('SendGrid timestamps no Date can hold', () => {
  it('rejects the event instead of throwing', () => {
    for (const timestamp of [1e13, -1e13, 1e300, Number.MAX_VALUE, 4_102_444_800]) {
      const outcome = sendgridOutcome('acme', { ...SENDGRID_EVENTS[0], timestamp });
      expect(outcome.kind, String(timestamp)).toBe('rejected');
      expect(outcome.kind === 'rejected' && outcome.reason).toMatch(/^(timestamp|occurredAt): /);
    }
  });
});

describe('WEBHOOK_SECRETS tenant ids follow the rule of the tokens', () => {
  const canSign = (tenantId: string) => {
    try {
      signToken('x'.repeat(32), { tenantId, userId: 'u' }, 60_000);
      return true;
    } catch {
      return false;
    }
  };

  it('a tenant id no token can name is refused, naming it; one a token can name is taken', () => {
    for (const tenant of ['ac me', 'acme/eu', 'acmé', 'a'.repeat(201), '<script>', 'acme?x=1']) {
      expect(canSign(tenant), tenant).toBe(false);
      expect(() => loadConfig({ WEBHOOK_SECRETS: JSON.stringify({ [tenant]: { twilioAuthToken: 't' } }) }), tenant).toThrow(
        new RegExp(
          `^WEBHOOK_SECRETS: tenant ${JSON.stringify(JSON.stringify(tenant.slice(0, 100)))
            .slice(1, -1)
            .replace(/[?.*+()[\]]/g, '\\$&')} is not a tenant id`,
        ),
      );
    }
    for (const tenant of ['acme', 'acme.eu:1_x-y', 'a'.repeat(200)]) {
      expect(canSign(tenant), tenant).toBe(true);
      expect(
        loadConfig({ WEBHOOK_SECRETS: JSON.stringify({ [tenant]: { twilioAuthToken: 't' } }) }).events.webhookSecrets.has(tenant),
      ).toBe(true);
    }
  });

  it('twilioSharedKeys: key id → secret, each a non-empty string', () => {
    const secrets = loadConfig({
      WEBHOOK_SECRETS: JSON.stringify({ acme: { twilioSharedKeys: { KS1: 'one', KS2: 'two' } } }),
    }).events.webhookSecrets.get('acme')!;
    expect(secrets.twilioSharedKeys?.get('KS2')).toBe('two');
    expect(() => loadConfig({ WEBHOOK_SECRETS: JSON.stringify({ acme: { twilioSharedKeys: { KS1: '' } } }) })).toThrow(
      /^WEBHOOK_SECRETS: tenant "acme": twilioSharedKeys\["KS1"\] is not a non-empty string/,
    );
    expect(() => loadConfig({ WEBHOOK_SECRETS: JSON.stringify({ acme: { twilioSharedKeys: ['x'] } }) })).toThrow(
      /^WEBHOOK_SECRETS: tenant "acme": twilioSharedKeys is not an object/,
    );
  });
});
