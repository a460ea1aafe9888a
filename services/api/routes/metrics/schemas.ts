import { Type, type Static } from '@sinclair/typebox';
import { DELIVERY_STATUS_HELP, type DeliveryStatus } from '../../../events/types.js';
import { idFilter, RangeQuerystring } from '../../shared/schemas.js';

export { RangeQuerystring };
export type RangeQuerystring = Static<typeof RangeQuerystring>;

const count = (description: string) => Type.Integer({ minimum: 0, description });

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

const sms = (status: DeliveryStatus) => count(`Text messages — ${DELIVERY_STATUS_HELP[status]}`);
const email = (status: DeliveryStatus) => count(`Emails — ${DELIVERY_STATUS_HELP[status]}`);

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
    spamReported: email('spam_reported'),
  }),
});

export const TimeseriesQuerystring = Type.Object(
  {
    metric: Type.String({
      description: 'entries, exits, sms.<status> or email.<status> with camelCase statuses (e.g. email.spamReported)',
      minLength: 1,
      maxLength: 40,
    }),
    from: RangeQuerystring.properties.from,
    to: RangeQuerystring.properties.to,
    interval: Type.Union([Type.Literal('hour'), Type.Literal('day')], { description: 'bucket size, local to tz' }),
    tz: Type.Optional(
      Type.String({ description: 'IANA time zone of the buckets (default UTC), e.g. Asia/Kolkata', minLength: 1, maxLength: 64 }),
    ),
    playbookId: Type.Optional(idFilter('playbook')),
    campaignId: Type.Optional(idFilter('campaign')),
  },
  { additionalProperties: false },
);
export type TimeseriesQuerystring = Static<typeof TimeseriesQuerystring>;

export const TimeseriesResponse = Type.Object({
  metric: Type.String(),
  interval: Type.String(),
  tz: Type.String(),
  points: Type.Array(
    Type.Object({
      start: Type.String({ description: 'bucket start, ISO-8601 with the zone offset' }),
      value: count('events in the bucket, clipped to the range'),
    }),
  ),
});
