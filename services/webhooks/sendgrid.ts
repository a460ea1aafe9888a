import crypto from 'node:crypto';
import type { DeliveryStatus } from '../events/types.js';
import { TEXT_LIMITS } from '../events/validate.js';
import { checked, CUSTOM_FIELDS, customValue, providerEventId, type ProviderOutcome } from './outcome.js';

/**
 * The SendGrid Event Webhook (a JSON array of events). Signature:
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features —
 * ECDSA P-256 with SHA-256 over the X-Twilio-Email-Event-Webhook-Timestamp header followed
 * by the raw body, base64 (ASN.1 DER) in X-Twilio-Email-Event-Webhook-Signature, checked
 * with the account's verification key (base64 DER SubjectPublicKeyInfo).
 */

export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/**
 * How far the signed timestamp may be from our clock, either way: a request signed longer ago is
 * a replay (or held back) and is refused, so a captured request cannot be sent again once the
 * ingest's 24-hour eventId deduplication has forgotten it. Within it a replay counts once.
 */
export const SENDGRID_TIMESTAMP_TOLERANCE_SECONDS = 600;

/**
 * Whether the timestamp header is Unix seconds within `toleranceSeconds` of `now`: a signed
 * request older (or newer) than that is refused whatever its signature.
 */
export function sendgridTimestampFresh(
  timestamp: string | undefined,
  now: Date,
  toleranceSeconds = SENDGRID_TIMESTAMP_TOLERANCE_SECONDS,
): boolean {
  if (timestamp === undefined || !/^[0-9]{1,12}$/.test(timestamp)) return false;
  return Math.abs(Number(timestamp) - now.getTime() / 1000) <= toleranceSeconds;
}

/** Whether the signature header signs timestamp + body under this key. */
export function verifySendgridSignature(
  publicKey: crypto.KeyObject,
  timestamp: string | undefined,
  body: Buffer,
  signature: string | undefined,
): boolean {
  if (!timestamp || !signature) return false;
  try {
    return crypto.verify(
      'sha256',
      Buffer.concat([Buffer.from(timestamp, 'utf8'), body]),
      { key: publicKey, dsaEncoding: 'der' },
      Buffer.from(signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/**
 * SendGrid event → our email status (docs/api.md, "HTTP ingest and provider webhooks"); bounce is `bounced`, or
 * `blocked` when its type is "blocked". Every other event (deferred, open, click,
 * unsubscribe, group_unsubscribe, group_resubscribe, and any SendGrid adds — `constructor` and
 * `__proto__` included: a Map has no inherited keys) is ignored.
 */
export const SENDGRID_EVENT_MAP: ReadonlyMap<string, DeliveryStatus> = new Map([
  ['processed', 'sent'],
  ['dropped', 'rejected'],
  ['delivered', 'delivered'],
  ['bounce', 'bounced'],
  ['spamreport', 'spam_reported'],
]);

/** The latest instant a Date holds, in ms from the epoch (ECMAScript's time value range). */
const MAX_TIME_MS = 8.64e15;

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/**
 * One event of the array as an event of the tenant: the ids from its custom_args (top-level
 * keys customerId — required — playbookId, campaignId), the time from its `timestamp`
 * (Unix seconds), the message from sg_message_id.
 */
export function sendgridOutcome(tenantId: string, item: unknown): ProviderOutcome {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return { kind: 'rejected', reason: 'event: is not a JSON object' };
  const record = item as Record<string, unknown>;
  const field = (key: string): unknown => (Object.hasOwn(record, key) ? record[key] : undefined);
  const name = text(field('event'));
  if (!name) return { kind: 'rejected', reason: 'event: is required' };
  let status = SENDGRID_EVENT_MAP.get(name);
  if (!status) return { kind: 'ignored', reason: `event ${JSON.stringify(name.slice(0, 40))} is not counted` };
  if (status === 'bounced' && field('type') === 'blocked') status = 'blocked';
  const eventId = text(field('sg_event_id'));
  if (!eventId) return { kind: 'rejected', reason: 'sg_event_id: is required' };
  const messageId = text(field('sg_message_id')) ?? text(field('smtp-id'));
  if (!messageId) return { kind: 'rejected', reason: 'sg_message_id: is required' };
  const timestamp = field('timestamp');
  // Seconds that no Date holds (1e13 s is 316,000 years) cannot be an instant: the event is rejected, not thrown on.
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || Math.abs(timestamp * 1000) > MAX_TIME_MS)
    return { kind: 'rejected', reason: `timestamp: must be Unix seconds (got ${JSON.stringify(timestamp)?.slice(0, 40) ?? 'nothing'})` };
  const customerId = customValue(field(CUSTOM_FIELDS.customerId));
  if (!customerId) return { kind: 'rejected', reason: 'customerId: is required in the custom_args of the message' };
  const reason = text(field('reason')) ?? (status === 'delivered' ? null : text(field('response')));
  return checked({
    type: 'delivery',
    eventId: providerEventId('sendgrid', eventId, status),
    tenantId,
    occurredAt: new Date(Math.round(timestamp * 1000)).toISOString(),
    customerId,
    messageId,
    channel: 'email',
    status,
    playbookId: customValue(field(CUSTOM_FIELDS.playbookId)),
    campaignId: customValue(field(CUSTOM_FIELDS.campaignId)),
    reason: reason === null ? null : reason.slice(0, TEXT_LIMITS.reason),
  });
}
