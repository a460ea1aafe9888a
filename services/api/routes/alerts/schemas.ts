import { Type, type Static } from '@sinclair/typebox';
import { ALERT_RATES, MAX_RULES, NOTIFICATION_STATUSES } from '../../../alerts/index.js';
import { oneOf, RangeQuerystring } from '../../shared/schemas.js';

const Scope = Type.Object(
  {
    playbookId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    campaignId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'needs playbookId' })),
  },
  { additionalProperties: false, description: 'what the rule watches: all outreach ({}), a playbook, or a campaign of a playbook' },
);

const State = Type.Union([Type.Literal('ok'), Type.Literal('warning'), Type.Literal('critical')]);

const ruleFields = {
  id: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'chosen by you, unique among your rules' }),
  rate: oneOf(ALERT_RATES, 'the rate watched (see /v1/metrics/rates)'),
  scope: Type.Optional(Scope),
  window: Type.Optional(Type.String({ description: 'trailing window, 5m to 7d: 30m, 1h, 24h, 7d (default 24h)', maxLength: 8 })),
  warning: Type.Optional(Type.Number({ description: 'warning line as a fraction (0.02 = 2 %); default: the rate’s documented line' })),
  critical: Type.Optional(Type.Number({ description: 'critical line as a fraction; default: the rate’s documented line' })),
  minimumVolume: Type.Optional(Type.Integer({ minimum: 1, description: 'smallest denominator judged (default RATE_MINIMUM_VOLUME)' })),
  webhookUrl: Type.Optional(
    Type.String({
      maxLength: 2000,
      description:
        'https URL that gets a signed POST on every state change; hosts resolving to loopback, private, link-local or metadata addresses are refused. Absent: changes are only recorded.',
    }),
  ),
};

export const RuleInput = Type.Object(ruleFields, { additionalProperties: false });

export const RulesBody = Type.Object(
  {
    rules: Type.Array(RuleInput, { maxItems: MAX_RULES }),
    webhookSecret: Type.Optional(
      Type.String({
        minLength: 24,
        maxLength: 200,
        description: 'the HMAC key of your notifications; absent: the stored one is kept, or one is generated and answered once',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RulesBody = Static<typeof RulesBody>;

const RuleView = Type.Object({
  id: Type.String(),
  rate: Type.String(),
  scope: Scope,
  window: Type.String(),
  warning: Type.Number(),
  critical: Type.Number(),
  minimumVolume: Type.Integer(),
  webhookUrl: Type.Union([Type.String(), Type.Null()]),
  threshold: Type.Object({ source: Type.String({ description: 'who sets the lines' }) }),
  state: State,
  since: Type.Union([Type.String(), Type.Null()], { description: 'when the rule entered its state; null: ok since it was set' }),
});

export const RulesView = Type.Object({
  rules: Type.Array(RuleView),
  defaults: Type.Boolean({ description: 'true: you set no rules, these are the defaults (recorded, not notified)' }),
  webhookSecretHint: Type.Union([Type.String(), Type.Null()], { description: 'the last 4 characters of the webhook secret' }),
  webhookSecret: Type.Optional(
    Type.String({ description: 'only in the answer of the PUT that generated it: keep it, it is not shown again' }),
  ),
  updatedAt: Type.Union([Type.String(), Type.Null()]),
});

export const EventsQuerystring = Type.Object(
  { from: RangeQuerystring.properties.from, to: RangeQuerystring.properties.to },
  { additionalProperties: false },
);
export type EventsQuerystring = Static<typeof EventsQuerystring>;

export const EventsView = Type.Object({
  events: Type.Array(
    Type.Object({
      id: Type.String({ description: 'the Idempotency-Key of its notification' }),
      ruleId: Type.String(),
      occurredAt: Type.String(),
      from: State,
      to: State,
      rate: Type.Object({
        id: Type.String(),
        numerator: Type.Integer(),
        denominator: Type.Integer(),
        value: Type.Union([Type.Number(), Type.Null()]),
      }),
      window: Type.Object({ length: Type.String(), from: Type.String(), to: Type.String() }),
      scope: Scope,
      notification: Type.Object({
        status: oneOf(NOTIFICATION_STATUSES, 'not_configured: the rule has no webhookUrl'),
        attempts: Type.Integer(),
        lastError: Type.Union([Type.String(), Type.Null()]),
        nextAttemptAt: Type.Union([Type.String(), Type.Null()], { description: 'when retrying' }),
        host: Type.Union([Type.String(), Type.Null()], { description: 'the webhook host (the URL itself may carry a token)' }),
      }),
    }),
  ),
});
