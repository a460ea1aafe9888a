import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DELIVERY_STATUS_HELP, type DeliveryStatus } from '../../../events/types.js';
import { COMPARE_MODES, RATE_DEFINITIONS, TIMESERIES_METRICS, type RateDefinition } from '../../../reporting/index.js';
import { idFilter, oneOf, RangeQuerystring as BaseRange } from '../../shared/schemas.js';

const count = (description: string) => Type.Integer({ minimum: 0, description });
const instantText = (description: string) => Type.String({ description });

const compare = oneOf(
  COMPARE_MODES,
  'Also answer the previous period — the window of equal length that ends 1 ms before from — and the change against it',
);

export const RangeQuerystring = Type.Object({ ...BaseRange.properties, compare: Type.Optional(compare) }, { additionalProperties: false });
export type RangeQuerystring = Static<typeof RangeQuerystring>;

/** The range, and the page of rows to answer (the per-campaign answers). */
export const PagedRangeQuerystring = Type.Object(
  {
    ...RangeQuerystring.properties,
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        description: 'rows to answer at most; the default and the largest allowed is API_MAX_ANSWER_ROWS (10,000 unless configured)',
      }),
    ),
    after: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2000,
        description: 'the `next` of the previous answer: answers the rows after its last one, in the same order',
      }),
    ),
  },
  { additionalProperties: false },
);
export type PagedRangeQuerystring = Static<typeof PagedRangeQuerystring>;

/** What a per-campaign answer adds when it holds only the first `limit` rows. */
const pageFields = {
  truncated: Type.Optional(Type.Literal(true, { description: 'present (true) when more rows exist than this answer holds' })),
  next: Type.Optional(
    Type.String({ description: 'present with truncated: pass it as `after` (with the same other parameters) for the rows that follow' }),
  ),
};

export const Freshness = Type.Object(
  {
    countedThrough: Type.Union([Type.String(), Type.Null()], {
      description:
        'everything published to the event topics before this instant (ISO-8601 UTC) is in the answer; null when ingest never reported',
    }),
    lagEvents: count('records published but not yet counted, at the latest report of the ingest'),
    lagSeconds: Type.Union([Type.Number(), Type.Null()], { description: 'seconds from countedThrough to now' }),
    state: Type.Union([Type.Literal('current'), Type.Literal('behind'), Type.Literal('no_consumer')], {
      description:
        'current: ingest reports and has counted everything published; behind: ingest reports and is catching up; no_consumer: no ingest has reported recently (FRESHNESS_STALE_AFTER_MS), the counts may be old',
    }),
    reportedAt: Type.Union([Type.String(), Type.Null()], { description: 'when ingest last reported its progress' }),
    scope: Type.Literal('deployment', {
      description:
        "deployment: the figures are the ingest's progress over all tenants' events (the event topics are shared), not this tenant's alone",
    }),
  },
  {
    description:
      "How complete the answer is. Deployment-wide: it describes the ingest of every tenant's events together, so another tenant's backlog can make it behind while this tenant's own events are all counted",
  },
);

export const Change = Type.Object(
  {
    absolute: Type.Union([Type.Number(), Type.Null()], { description: 'current − previous (null when either rate is undefined)' }),
    relative: Type.Union([Type.Number(), Type.Null()], {
      description: '(current − previous) / previous; null when previous is 0 or undefined',
    }),
  },
  { description: 'the change against the previous period' },
);

const campaignCounts = {
  entries: count('customers who entered the campaign in the range (non-unique)'),
  exits: count('customers who exited the campaign in the range (non-unique)'),
};

export const Precision = Type.Object(
  {
    edges: Type.Union([Type.Literal('millisecond'), Type.Literal('15m')], {
      description:
        'millisecond: the counts are exact to the range as asked; 15m: an edge fell where raw events are no longer kept (RAW_RETENTION_DAYS), so it was widened to its whole 15-minute bucket: the counts are exact to from…to below',
    }),
    from: Type.Optional(instantText('with edges 15m: the instant counting really starts (inclusive; ISO-8601 UTC)')),
    to: Type.Optional(instantText('with edges 15m: the instant counting really ends (inclusive; ISO-8601 UTC)')),
  },
  {
    description:
      'The grain the edges of the answer are exact to. Never a silently rounded figure: when raw events before a cut-off are gone, the edges there are widened to 15 minutes and said so here',
  },
);

const previousWindow = {
  from: instantText('start of the previous period (inclusive)'),
  to: instantText('end of the previous period (inclusive): 1 ms before from'),
  precision: Precision,
};

export const CampaignsResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  rows: Type.Array(
    Type.Object({
      playbookId: Type.String(),
      playbookName: Type.String(),
      campaignId: Type.String(),
      campaignName: Type.String(),
      ...campaignCounts,
      previous: Type.Optional(Type.Object(campaignCounts)),
      change: Type.Optional(Type.Object({ entries: Change, exits: Change })),
    }),
    { description: 'with compare=previous: every campaign with entries or exits in either period' },
  ),
  previous: Type.Optional(Type.Object(previousWindow)),
  ...pageFields,
  precision: Precision,
  freshness: Freshness,
});

const sms = (status: DeliveryStatus) => count(`Text messages — ${DELIVERY_STATUS_HELP[status]}`);
const email = (status: DeliveryStatus) => count(`Emails — ${DELIVERY_STATUS_HELP[status]}`);

const SmsCounts = Type.Object({ sent: sms('sent'), failed: sms('failed'), rejected: sms('rejected'), expired: sms('expired') });
const EmailCounts = Type.Object({
  sent: email('sent'),
  failed: email('failed'),
  rejected: email('rejected'),
  expired: email('expired'),
  delivered: email('delivered'),
  bounced: email('bounced'),
  blocked: email('blocked'),
  spamReported: email('spam_reported'),
});

/** The same keys as `shape`, each a Change. */
function changesOf<K extends string>(shape: Record<K, TSchema>) {
  return Type.Object(Object.fromEntries(Object.keys(shape).map((key) => [key, Change])) as Record<K, typeof Change>);
}

const OutreachCounts = { sms: SmsCounts, email: EmailCounts };
const OutreachChange = Type.Object({ sms: changesOf(SmsCounts.properties), email: changesOf(EmailCounts.properties) });

export const OutreachResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  ...OutreachCounts,
  previous: Type.Optional(Type.Object({ ...previousWindow, ...OutreachCounts })),
  change: Type.Optional(OutreachChange),
  precision: Precision,
  freshness: Freshness,
});

const percent = (ppm: number) => `${ppm / 10_000} %`;

function rateSchema(definition: RateDefinition) {
  const threshold = definition.threshold;
  return Type.Object(
    {
      numerator: count(definition.formula.split(' / ')[0]!),
      denominator: count(definition.formula.split(' / ')[1]!),
      value: Type.Union([Type.Number(), Type.Null()], { description: 'numerator / denominator; null when the denominator is 0' }),
      health: Type.Union(
        [Type.Literal('ok'), Type.Literal('warning'), Type.Literal('critical'), Type.Literal('insufficient_volume'), Type.Null()],
        {
          description:
            'judged on the exact integers, boundaries inclusive: critical when value ≥ threshold.critical, warning when ≥ threshold.warning, insufficient_volume when the denominator is below threshold.minimumVolume; null for a rate without a threshold',
        },
      ),
      threshold: Type.Union([
        Type.Object({
          warning: Type.Number({ description: 'as a fraction: 0.001 = 0.1 %' }),
          critical: Type.Number(),
          minimumVolume: Type.Integer({ description: 'smallest denominator judged (RATE_MINIMUM_VOLUME)' }),
          source: Type.String({ description: 'who sets the line' }),
        }),
        Type.Null(),
      ]),
    },
    {
      description: `${definition.formula}: ${definition.description}${
        threshold ? `. Warning ≥ ${percent(threshold.warningPpm)}, critical ≥ ${percent(threshold.criticalPpm)} (${threshold.source})` : ''
      }`,
    },
  );
}

const rateOf = (id: string) => rateSchema(RATE_DEFINITIONS.find((rate) => rate.id === id)!);

const SmsRates = Type.Object({ failureRate: rateOf('sms.failureRate') });
const EmailRates = Type.Object({
  deliveryRate: rateOf('email.deliveryRate'),
  bounceRate: rateOf('email.bounceRate'),
  blockRate: rateOf('email.blockRate'),
  spamComplaintRate: rateOf('email.spamComplaintRate'),
  sendFailureRate: rateOf('email.sendFailureRate'),
});
export const Rates = Type.Object({ sms: SmsRates, email: EmailRates });
const RatesChange = Type.Object({ sms: changesOf(SmsRates.properties), email: changesOf(EmailRates.properties) });

export const RatesResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  sms: SmsRates,
  email: EmailRates,
  previous: Type.Optional(Type.Object({ ...previousWindow, sms: SmsRates, email: EmailRates })),
  change: Type.Optional(Type.Object({ ...RatesChange.properties }, { description: 'the change of each rate’s value' })),
  precision: Precision,
  freshness: Freshness,
});

const outreachCampaignFigures = { sms: SmsCounts, email: EmailCounts, rates: Rates };

export const OutreachCampaignsResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  rows: Type.Array(
    Type.Object({
      playbookId: Type.Union([Type.String(), Type.Null()], { description: 'null for messages sent without a playbook' }),
      playbookName: Type.String({ description: "the latest name by event time; '' when no assignment ever named it" }),
      campaignId: Type.Union([Type.String(), Type.Null()], {
        description: 'null for messages sent without a campaign (one row of their own)',
      }),
      campaignName: Type.String(),
      ...outreachCampaignFigures,
      previous: Type.Optional(Type.Object(outreachCampaignFigures)),
      change: Type.Optional(
        Type.Object({ sms: OutreachChange.properties.sms, email: OutreachChange.properties.email, rates: RatesChange }),
      ),
    }),
    {
      description:
        'one row per playbook + campaign with any message, by playbook name then campaign name; messages without a campaign last. With compare=previous: every row with messages in either period',
    },
  ),
  previous: Type.Optional(Type.Object(previousWindow)),
  ...pageFields,
  precision: Precision,
  freshness: Freshness,
});

export const TimeseriesQuerystring = Type.Object(
  {
    metric: Type.String({
      description: `entries, exits, sms.<status> or email.<status> with camelCase statuses (e.g. email.spamReported), or a rate: ${RATE_DEFINITIONS.map(
        (rate) => rate.id,
      ).join(', ')}. All: ${TIMESERIES_METRICS.join(', ')}`,
      minLength: 1,
      maxLength: 40,
    }),
    from: BaseRange.properties.from,
    to: BaseRange.properties.to,
    interval: Type.Union([Type.Literal('hour'), Type.Literal('day')], { description: 'bucket size, local to tz' }),
    tz: Type.Optional(
      Type.String({ description: 'IANA time zone of the buckets (default UTC), e.g. Asia/Kolkata', minLength: 1, maxLength: 64 }),
    ),
    playbookId: Type.Optional(idFilter('playbook')),
    campaignId: Type.Optional(idFilter('campaign')),
    compare: Type.Optional(compare),
  },
  { additionalProperties: false },
);
export type TimeseriesQuerystring = Static<typeof TimeseriesQuerystring>;

const Point = Type.Object({
  start: Type.String({ description: 'bucket start, ISO-8601 with the zone offset' }),
  value: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
    description: 'events in the bucket, clipped to the range; for a rate numerator / denominator (null when the denominator is 0)',
  }),
  numerator: Type.Optional(count('rates only: the numerator of value')),
  denominator: Type.Optional(count('rates only: the denominator of value')),
});

export const TimeseriesResponse = Type.Object({
  metric: Type.String(),
  interval: Type.String(),
  tz: Type.String(),
  points: Type.Array(
    Type.Object({
      ...Point.properties,
      change: Type.Optional(
        Type.Union([Change, Type.Null()], {
          description: 'with compare=previous: against the point at the same position of the previous period (null where it has none)',
        }),
      ),
    }),
  ),
  previous: Type.Optional(Type.Object({ ...previousWindow, points: Type.Array(Point) })),
  precision: Precision,
  freshness: Freshness,
});
