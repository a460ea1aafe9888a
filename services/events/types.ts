/** The two event records of the contract (DESIGN.md, "Event JSON"); the Avro records carry the same fields. */

export const ASSIGNMENT_ACTIONS = ['entered', 'exited'] as const;
export const CHANNELS = ['sms', 'email'] as const;
export const DELIVERY_STATUSES = [
  'sent',
  'failed',
  'rejected',
  'expired',
  'delivered',
  'bounced',
  'blocked',
  'spam_reported',
] as const;
/** Statuses a text message never takes. */
export const EMAIL_ONLY_STATUSES = ['delivered', 'bounced', 'blocked', 'spam_reported'] as const;
export const SMS_STATUSES = ['sent', 'failed', 'rejected', 'expired'] as const;

export type AssignmentAction = (typeof ASSIGNMENT_ACTIONS)[number];
export type Channel = (typeof CHANNELS)[number];
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

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
