import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/platform/config.js';
import {
  providerEventId,
  sendgridOutcome,
  twilioOutcome,
  twilioSignature,
  verifySendgridSignature,
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
