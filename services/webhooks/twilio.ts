import crypto from 'node:crypto';
import type { DeliveryStatus } from '../events/types.js';
import { checked, CUSTOM_FIELDS, customValue, providerEventId, type ProviderOutcome } from './outcome.js';

/**
 * Twilio Messaging status callbacks (form-encoded POSTs to the message's StatusCallback URL).
 * Signature: https://www.twilio.com/docs/usage/webhooks/webhooks-security — base64 of an HMAC
 * over the full URL Twilio called followed by every POST parameter's name and value, sorted by
 * name. By default the HMAC is SHA-1 keyed by the account's Auth Token; a webhook matched by a
 * Webhook Rule is signed with that rule's SharedKey instead and carries
 * `X-Twilio-Webhooks-Signature-Settings: key=<key id>,algorithm=HMAC_SHA1|HMAC_SHA256`
 * (https://www.twilio.com/docs/usage/webhooks/webhook-shared-keys; twilio-node 6.x reads the
 * header the same way: getSignatureAlgorithm, validateRequest).
 */

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';
export const TWILIO_SIGNATURE_SETTINGS_HEADER = 'x-twilio-webhooks-signature-settings';

/** The HMACs Twilio signs with, by the names its settings header uses. */
export type TwilioAlgorithm = 'HMAC_SHA1' | 'HMAC_SHA256';
const HASH_OF: ReadonlyMap<string, 'sha1' | 'sha256'> = new Map([
  ['HMAC_SHA1', 'sha1'],
  ['HMAC_SHA256', 'sha256'],
]);

/** The X-Twilio-Signature of a request: the URL Twilio called and the decoded form parameters. */
export function twilioSignature(
  secret: string,
  url: string,
  params: readonly (readonly [string, string])[],
  algorithm: TwilioAlgorithm = 'HMAC_SHA1',
): string {
  const sorted = [...params].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  let data = url;
  for (const [name, value] of sorted) data += name + value;
  return crypto
    .createHmac(HASH_OF.get(algorithm) ?? 'sha1', secret)
    .update(data, 'utf8')
    .digest('base64');
}

/** Whether the header is the signature of this request under this secret (constant-time). */
export function verifyTwilioSignature(
  secret: string,
  url: string,
  params: readonly (readonly [string, string])[],
  header: string | undefined,
  algorithm: TwilioAlgorithm = 'HMAC_SHA1',
): boolean {
  return verifyTwilioRequest(secret, [url], params, header, algorithm);
}

/**
 * Whether the header signs the request under any of the URLs: every URL's HMAC is computed
 * (no early exit), so a request costs the same whichever matches, and so does a refused one.
 */
export function verifyTwilioRequest(
  secret: string,
  urls: readonly string[],
  params: readonly (readonly [string, string])[],
  header: string | undefined,
  algorithm: TwilioAlgorithm = 'HMAC_SHA1',
): boolean {
  const given = Buffer.from(header ?? '');
  let valid = false;
  for (const url of urls) {
    const expected = Buffer.from(twilioSignature(secret, url, params, algorithm));
    if (given.length === expected.length && crypto.timingSafeEqual(given, expected)) valid = true;
  }
  return valid && header !== undefined;
}

/**
 * The signing settings of a request, from X-Twilio-Webhooks-Signature-Settings: absent → the Auth
 * Token and HMAC-SHA1; present → the SharedKey it names and its algorithm (HMAC_SHA1 when it
 * names none, as twilio-node reads it). `algorithm` is undefined for an algorithm we do not know.
 */
export function twilioSignatureSettings(
  header: string | undefined,
): { sharedKey: undefined; algorithm: 'HMAC_SHA1' } | { sharedKey: string; algorithm: TwilioAlgorithm | undefined } {
  if (header === undefined) return { sharedKey: undefined, algorithm: 'HMAC_SHA1' };
  let key = '';
  let algorithm = '';
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (name === 'key') key = value;
    else if (name === 'algorithm') algorithm = value.toUpperCase();
  }
  if (algorithm === '') algorithm = 'HMAC_SHA1';
  return { sharedKey: key, algorithm: HASH_OF.has(algorithm) ? (algorithm as TwilioAlgorithm) : undefined };
}

/** scheme://authority and the rest of an absolute URL, split without normalising it (no `new URL`). */
const SCHEME_AND_AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i;

/**
 * The URLs a callback may have been signed under, given the URL it reached us by, kept exactly as
 * written (an apostrophe stays an apostrophe: `new URL` would make it %27, and Twilio signs the
 * characters of the StatusCallback as it was set): without a port and with the scheme's default
 * port, since a StatusCallback may name :443 (or :80) while the request's Host does not, and the
 * reverse — twilio-node's validateRequest tries both for the same reason.
 */
export function twilioUrlCandidates(url: string): string[] {
  const match = SCHEME_AND_AUTHORITY.exec(url);
  if (!match) return [url];
  const [prefix, scheme, authority] = match as unknown as [string, string, string];
  const rest = url.slice(prefix.length);
  const userInfoEnd = authority.lastIndexOf('@');
  const userInfo = authority.slice(0, userInfoEnd + 1);
  const hostAndPort = authority.slice(userInfoEnd + 1);
  // A colon starts the port only after the closing bracket of an IPv6 literal.
  const portAt = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  const host = portAt < 0 ? hostAndPort : hostAndPort.slice(0, portAt);
  const withoutPort = scheme + userInfo + host + rest;
  const withPort = portAt >= 0 ? url : `${scheme}${userInfo}${host}${scheme.toLowerCase() === 'https://' ? ':443' : ':80'}${rest}`;
  return withoutPort === withPort ? [url] : [withoutPort, withPort];
}

/** Twilio's "Validity Period Expired": the message was not sent within its validity period. */
export const TWILIO_EXPIRED_ERROR = '30036';

/**
 * MessageStatus → our SMS status (docs/api.md, "HTTP ingest and provider webhooks"). `sent` and `delivered` are both
 * `sent` (an SMS has no delivered status) with one event id, so a message counts as sent once.
 * Every other state (queued, accepted, scheduled, sending, receiving, received, read,
 * partially_delivered, canceled, and any Twilio adds — `constructor` and `__proto__` included:
 * a Map has no inherited keys) is ignored.
 */
export const TWILIO_STATUS_MAP: ReadonlyMap<string, DeliveryStatus> = new Map([
  ['sent', 'sent'],
  ['delivered', 'sent'],
  ['undelivered', 'failed'],
  ['failed', 'rejected'],
]);

/**
 * One status callback as an event of the tenant. `query` is the StatusCallback URL's query
 * (customerId required, playbookId and campaignId optional); `form` the POST parameters.
 * Twilio's callbacks carry no time of the change: occurredAt is when it was received. The
 * event id depends only on MessageSid and our status, so a callback delivered again — a retry,
 * or a captured request replayed — has the same id and counts once within the ingest's
 * deduplication window.
 */
export function twilioOutcome(tenantId: string, query: URLSearchParams, form: URLSearchParams, receivedAt: Date): ProviderOutcome {
  const state = form.get('MessageStatus') ?? form.get('SmsStatus');
  if (!state) return { kind: 'rejected', reason: 'MessageStatus: is required' };
  let status = TWILIO_STATUS_MAP.get(state);
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
    reason: errorCode ? `Twilio error ${errorCode.slice(0, 40)}` : null,
  });
}
