import crypto from 'node:crypto';
import type { DeliveryEvent } from '../events/types.js';
import { validateEvent } from '../events/validate.js';

/** What one provider notification becomes: an event to publish, a state we do not count, or a notification we cannot use. */
export type ProviderOutcome =
  | { kind: 'event'; event: DeliveryEvent }
  | { kind: 'ignored'; reason: string }
  | { kind: 'rejected'; reason: string };

export type Provider = 'twilio' | 'sendgrid';

/**
 * The event id of a provider notification: `<provider>-` and 32 hex digits of
 * SHA-256(provider, the provider's id, our status). The same notification delivered again (a
 * provider retry) gets the same id, so the ingest counts it once; two provider states that map
 * onto one of our statuses (Twilio's sent and delivered) get one id too.
 */
export function providerEventId(provider: Provider, providerId: string, status: string): string {
  const digest = crypto.createHash('sha256').update(`${provider}\n${providerId}\n${status}`).digest('hex');
  return `${provider}-${digest.slice(0, 32)}`;
}

/** The custom fields that carry our ids through a provider (Twilio: StatusCallback query parameters; SendGrid: custom_args). */
export const CUSTOM_FIELDS = { customerId: 'customerId', playbookId: 'playbookId', campaignId: 'campaignId' } as const;

/** Checks a mapped event against the contract; any problem (e.g. a custom id too long) rejects the notification. */
export function checked(event: DeliveryEvent): ProviderOutcome {
  const result = validateEvent(event);
  if (!result.ok) return { kind: 'rejected', reason: result.errors.join('; ') };
  if (result.event.type !== 'delivery') return { kind: 'rejected', reason: `type: expected delivery, got ${result.event.type}` };
  return { kind: 'event', event: result.event };
}

/** A value of a custom field: a non-empty string, else null. */
export function customValue(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}
