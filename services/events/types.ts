/**
 * The two event records of the contract (docs/api.md, "Producing from other languages") and their one vocabulary of
 * actions, channels and statuses; the Avro records in schemas/avro carry the same fields.
 */

export const ASSIGNMENT_ACTIONS = ['entered', 'exited'] as const;
export const CHANNELS = ['sms', 'email'] as const;
export const DELIVERY_STATUSES = ['sent', 'failed', 'rejected', 'expired', 'delivered', 'bounced', 'blocked', 'spam_reported'] as const;
/** Statuses a text message never takes. */
export const EMAIL_ONLY_STATUSES = ['delivered', 'bounced', 'blocked', 'spam_reported'] as const;
export const SMS_STATUSES = ['sent', 'failed', 'rejected', 'expired'] as const;

export type AssignmentAction = (typeof ASSIGNMENT_ACTIONS)[number];
export type Channel = (typeof CHANNELS)[number];
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export type SmsStatus = (typeof SMS_STATUSES)[number];

/** A stored status as a key of API answers, as a type: `StatusKey<'spam_reported'>` is `'spamReported'`. */
export type StatusKey<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<StatusKey<Tail>>}` : S;

export function isDeliveryStatus(value: string): value is DeliveryStatus {
  return (DELIVERY_STATUSES as readonly string[]).includes(value);
}

export function isSmsStatus(value: string): value is SmsStatus {
  return (SMS_STATUSES as readonly string[]).includes(value);
}

/** What each delivery status means (the API docs and the page say the same). */
export const DELIVERY_STATUS_HELP: Readonly<Record<DeliveryStatus, string>> = {
  sent: 'handed to the provider and sent',
  failed: 'could not be sent (likely an invalid phone number / address)',
  rejected: 'the delivery provider refused to send it',
  expired: 'not sent within its send window',
  delivered: 'the email reached the customer',
  bounced: "rejected by the recipient's mail server (likely an invalid address)",
  blocked: "the recipient's server blocked it (e.g. a spam filter)",
  spam_reported: 'delivered, then reported as spam by the customer',
};

/** A stored status (snake_case, as in the events) as a key of API answers (camelCase): spam_reported → spamReported. */
export function statusKey<S extends string>(status: S): StatusKey<S> {
  return status.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()) as StatusKey<S>;
}

export interface AssignmentEvent {
  type: 'assignment';
  eventId: string;
  tenantId: string;
  /** ISO-8601 instant with an explicit offset in JSON; normalised to UTC `...Z` with milliseconds once validated. */
  occurredAt: string;
  customerId: string;
  playbookId: string;
  playbookName: string;
  campaignId: string;
  campaignName: string;
  action: AssignmentAction;
}

export interface DeliveryEvent {
  type: 'delivery';
  eventId: string;
  tenantId: string;
  occurredAt: string;
  customerId: string;
  messageId: string;
  channel: Channel;
  status: DeliveryStatus;
  playbookId: string | null;
  campaignId: string | null;
  reason: string | null;
}

export type SendingEvent = AssignmentEvent | DeliveryEvent;
