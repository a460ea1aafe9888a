import { Type, type Static } from '@sinclair/typebox';

const instant = (which: 'from' | 'to') =>
  Type.String({
    description: `${which === 'from' ? 'Start' : 'End'} of the range, inclusive, ISO-8601 with an explicit offset (Z or ±hh:mm), millisecond precision, e.g. ${which === 'from' ? '2026-11-01T00:00:00.000Z' : '2026-11-27T23:59:59.999+01:00'}`,
    minLength: 1,
    maxLength: 40,
  });

const id = (what: string) => Type.String({ description: `Only this ${what}`, minLength: 1, maxLength: 200 });

export const RangeQuerystring = Type.Object(
  {
    from: instant('from'),
    to: instant('to'),
    playbookId: Type.Optional(id('playbook')),
    campaignId: Type.Optional(id('campaign')),
  },
  { additionalProperties: false },
);
export type RangeQuerystring = Static<typeof RangeQuerystring>;

const count = (description: string) => Type.Integer({ minimum: 0, description });

export const SMS_STATUS_HELP = {
  sent: 'handed to the provider and sent',
  failed: 'could not be sent (likely an invalid phone number / address)',
  rejected: 'the delivery provider refused to send it',
  expired: 'not sent within its send window',
} as const;

export const EMAIL_STATUS_HELP = {
  ...SMS_STATUS_HELP,
  delivered: 'the email reached the customer',
  bounced: "rejected by the recipient's mail server (likely an invalid address)",
  blocked: "the recipient's server blocked it (e.g. a spam filter)",
  spamReported: 'delivered, then reported as spam by the customer',
} as const;

export const CampaignsResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  rows: Type.Array(
    Type.Object({
      playbookId: Type.String(),
      playbookName: Type.String(),
      campaignId: Type.String(),
      campaignName: Type.String(),
      entries: count('customers who entered the campaign in the range (non-unique)'),
      exits: count('customers who exited the campaign in the range (non-unique)'),
    }),
  ),
});

const sms = (status: keyof typeof SMS_STATUS_HELP) => count(`Text messages — ${SMS_STATUS_HELP[status]}`);
const email = (status: keyof typeof EMAIL_STATUS_HELP) => count(`Emails — ${EMAIL_STATUS_HELP[status]}`);

export const OutreachResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  sms: Type.Object({ sent: sms('sent'), failed: sms('failed'), rejected: sms('rejected'), expired: sms('expired') }),
  email: Type.Object({
    sent: email('sent'),
    failed: email('failed'),
    rejected: email('rejected'),
    expired: email('expired'),
    delivered: email('delivered'),
    bounced: email('bounced'),
    blocked: email('blocked'),
    spamReported: email('spamReported'),
  }),
});

export const TimeseriesQuerystring = Type.Object(
  {
    metric: Type.String({
      description: 'entries, exits, sms.<status> or email.<status> with camelCase statuses (e.g. email.spamReported)',
      minLength: 1,
      maxLength: 40,
    }),
    from: instant('from'),
    to: instant('to'),
    interval: Type.Union([Type.Literal('hour'), Type.Literal('day')], { description: 'bucket size, local to tz' }),
    tz: Type.Optional(Type.String({ description: 'IANA time zone of the buckets (default UTC), e.g. Asia/Kolkata', minLength: 1, maxLength: 64 })),
    playbookId: Type.Optional(id('playbook')),
    campaignId: Type.Optional(id('campaign')),
  },
  { additionalProperties: false },
);
export type TimeseriesQuerystring = Static<typeof TimeseriesQuerystring>;

export const TimeseriesResponse = Type.Object({
  metric: Type.String(),
  interval: Type.String(),
  tz: Type.String(),
  points: Type.Array(Type.Object({ start: Type.String({ description: 'bucket start, ISO-8601 with the zone offset' }), value: count('events in the bucket, clipped to the range') })),
});

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});
