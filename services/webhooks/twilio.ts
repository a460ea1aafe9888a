import crypto from 'node:crypto';
import type { DeliveryStatus } from '../events/types.js';
import { checked, CUSTOM_FIELDS, customValue, providerEventId, type ProviderOutcome } from './outcome.js';

/**
 * Twilio Messaging status callbacks (form-encoded POSTs to the message's StatusCallback URL).
 * Signature: https://www.twilio.com/docs/usage/webhooks/webhooks-security — base64 of
 * HMAC-SHA1, keyed by the account's Auth Token, over the full URL Twilio called followed by
 * every POST parameter's name and value, sorted by name.
 */

/** The X-Twilio-Signature of a request: the URL Twilio called and the decoded form parameters. */
export function twilioSignature(authToken: string, url: string, params: readonly (readonly [string, string])[]): string {
  const sorted = [...params].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  let data = url;
  for (const [name, value] of sorted) data += name + value;
  return crypto.createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Whether the header is the signature of this request under this Auth Token (constant-time). */
export function verifyTwilioSignature(
  authToken: string,
  url: string,
  params: readonly (readonly [string, string])[],
  header: string | undefined,
): boolean {
  if (!header) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const given = Buffer.from(header);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/** Twilio's "Validity Period Expired": the message was not sent within its validity period. */
export const TWILIO_EXPIRED_ERROR = '30036';

/**
 * MessageStatus → our SMS status (README, "Provider webhooks"). `sent` and `delivered` are both
 * `sent` (an SMS has no delivered status) with one event id, so a message counts as sent once.
 * Every other state (queued, accepted, scheduled, sending, receiving, received, read,
 * partially_delivered, canceled, and any Twilio adds) is ignored.
 */
export const TWILIO_STATUS_MAP: Readonly<Record<string, DeliveryStatus>> = {
  sent: 'sent',
  delivered: 'sent',
  undelivered: 'failed',
  failed: 'rejected',
};

/**
 * One status callback as an event of the tenant. `query` is the StatusCallback URL's query
 * (customerId required, playbookId and campaignId optional); `form` the POST parameters.
 * Twilio's callbacks carry no time of the change: occurredAt is when it was received.
 */
export function twilioOutcome(tenantId: string, query: URLSearchParams, form: URLSearchParams, receivedAt: Date): ProviderOutcome {
  const state = form.get('MessageStatus') ?? form.get('SmsStatus');
  if (!state) return { kind: 'rejected', reason: 'MessageStatus: is required' };
  let status = TWILIO_STATUS_MAP[state];
  if (!status) return { kind: 'ignored', reason: `MessageStatus ${JSON.stringify(state.slice(0, 40))} is not counted` };
  const errorCode = form.get('ErrorCode');
  if ((status === 'rejected' || status === 'failed') && errorCode === TWILIO_EXPIRED_ERROR) status = 'expired';
  const messageSid = form.get('MessageSid') ?? form.get('SmsSid');
  if (!messageSid) return { kind: 'rejected', reason: 'MessageSid: is required' };
  const customerId = customValue(query.get(CUSTOM_FIELDS.customerId));
  if (!customerId) return { kind: 'rejected', reason: 'customerId: is required as a query parameter of the StatusCallback URL' };
  return checked({
    type: 'delivery',
    eventId: providerEventId('twilio', messageSid, status),
    tenantId,
    occurredAt: receivedAt.toISOString(),
    customerId,
    messageId: messageSid,
    channel: 'sms',
    status,
    playbookId: customValue(query.get(CUSTOM_FIELDS.playbookId)),
    campaignId: customValue(query.get(CUSTOM_FIELDS.campaignId)),
    reason: errorCode ? `Twilio error ${errorCode}` : null,
  });
}
