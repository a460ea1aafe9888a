import type { Channel, DeliveryStatus } from '../events/types.js';
import { statusCount, type OutreachCounts } from './outreach-query.js';

/**
 * Deliverability rates, each defined once here: which statuses are its numerator and which its
 * denominator, and — for those a mailbox provider or common guidance puts a line on — the
 * thresholds it is judged against. Every rate an answer carries has its exact parts
 * (`numerator`, `denominator`) next to `value`; health is judged on the integers, never on a
 * rounded figure.
 */

export type RateHealth = 'ok' | 'warning' | 'critical' | 'insufficient_volume';

export interface RateThreshold {
  /** A rate at or above this is `warning` (parts per million: 1,000 = 0.1 %). */
  warningPpm: number;
  /** A rate at or above this is `critical`. */
  criticalPpm: number;
  /** Who sets the line, for a person reading the answer. */
  source: string;
}

interface RateDefinitionOf<C extends Channel> {
  /** `email.bounceRate`: the channel and the rate's key, as in answers and time-series metrics. */
  id: string;
  channel: C;
  key: keyof Rates[C] & string;
  numerator: readonly DeliveryStatus[];
  denominator: readonly DeliveryStatus[];
  /** `bounced / sent`, for the docs. */
  formula: string;
  description: string;
  threshold?: RateThreshold;
}

/** One rate: its channel and its key in that channel's rates of an answer, narrowed by `channel`. */
export type RateDefinition = RateDefinitionOf<'sms'> | RateDefinitionOf<'email'>;

const FAILED: readonly DeliveryStatus[] = ['failed', 'rejected', 'expired'];
const ATTEMPTED: readonly DeliveryStatus[] = ['sent', 'failed', 'rejected', 'expired'];

/** Defaults for rates no provider puts a line on: ours, stated as such. */
const FAILURE_THRESHOLD: RateThreshold = {
  warningPpm: 20_000,
  criticalPpm: 50_000,
  source: 'sending-metrics default (the bounce-rate lines: warning at 2 %, critical at 5 %)',
};

export const RATE_DEFINITIONS: readonly RateDefinition[] = [
  {
    id: 'email.deliveryRate',
    channel: 'email',
    key: 'deliveryRate',
    numerator: ['delivered'],
    denominator: ['sent'],
    formula: 'delivered / sent',
    description: 'emails that reached the customer, of those sent',
  },
  {
    id: 'email.bounceRate',
    channel: 'email',
    key: 'bounceRate',
    numerator: ['bounced'],
    denominator: ['sent'],
    formula: 'bounced / sent',
    description: "emails the recipient's mail server rejected (likely invalid addresses), of those sent",
    threshold: {
      warningPpm: 20_000,
      criticalPpm: 50_000,
      source:
        'warning: common guidance, total bounce rate under 2 %; critical: Amazon SES puts an account under review at 5 % (and pauses sending at 10 %)',
    },
  },
  {
    id: 'email.blockRate',
    channel: 'email',
    key: 'blockRate',
    numerator: ['blocked'],
    denominator: ['sent'],
    formula: 'blocked / sent',
    description: "emails the recipient's server blocked (e.g. a spam filter), of those sent",
    threshold: {
      warningPpm: 20_000,
      criticalPpm: 50_000,
      source: 'sending-metrics default: a block is a bounce a spam filter caused, judged by the bounce-rate lines (2 %, 5 %)',
    },
  },
  {
    id: 'email.spamComplaintRate',
    channel: 'email',
    key: 'spamComplaintRate',
    numerator: ['spam_reported'],
    denominator: ['delivered'],
    formula: 'spam_reported / delivered',
    description: 'delivered emails the customer reported as spam',
    threshold: {
      warningPpm: 1_000,
      criticalPpm: 3_000,
      source:
        'Gmail sender guidelines (Feb 2024): keep the spam rate below 0.10 % and never reach 0.30 %; Amazon SES reviews at 0.1 % and pauses at 0.5 %',
    },
  },
  {
    id: 'email.sendFailureRate',
    channel: 'email',
    key: 'sendFailureRate',
    numerator: FAILED,
    denominator: ATTEMPTED,
    formula: '(failed + rejected + expired) / (sent + failed + rejected + expired)',
    description: 'emails that could not be sent (failed, refused by the provider or expired), of those attempted',
    threshold: FAILURE_THRESHOLD,
  },
  {
    id: 'sms.failureRate',
    channel: 'sms',
    key: 'failureRate',
    numerator: FAILED,
    denominator: ATTEMPTED,
    formula: '(failed + rejected + expired) / (sent + failed + rejected + expired)',
    description: 'text messages that could not be sent (failed, refused by the provider or expired), of those attempted',
    threshold: FAILURE_THRESHOLD,
  },
];

export const RATE_IDS: readonly string[] = RATE_DEFINITIONS.map((rate) => rate.id);

export function rateDefinition(id: string): RateDefinition | undefined {
  return RATE_DEFINITIONS.find((rate) => rate.id === id);
}

/** The smallest denominator a rate is judged at; below it, health is `insufficient_volume`. */
export const DEFAULT_MINIMUM_VOLUME = 100;

export interface Rate {
  numerator: number;
  denominator: number;
  /** numerator / denominator; null when the denominator is 0. */
  value: number | null;
}

export interface JudgedRate extends Rate {
  /** null for a rate without a threshold. */
  health: RateHealth | null;
  /** The lines it was judged against (as fractions: 0.001 = 0.1 %), null for a rate without one. */
  threshold: { warning: number; critical: number; minimumVolume: number; source: string } | null;
}

export interface EmailRates {
  deliveryRate: JudgedRate;
  bounceRate: JudgedRate;
  blockRate: JudgedRate;
  spamComplaintRate: JudgedRate;
  sendFailureRate: JudgedRate;
}

export interface SmsRates {
  failureRate: JudgedRate;
}

export interface Rates {
  sms: SmsRates;
  email: EmailRates;
}

export function rate(numerator: number, denominator: number): Rate {
  return { numerator, denominator, value: denominator === 0 ? null : numerator / denominator };
}

/**
 * Health of `numerator / denominator` against a threshold, exactly: a rate is at or above a
 * line of p ppm when numerator × 1,000,000 ≥ denominator × p (integers, no rounding), so 3
 * complaints of 1,000 delivered is 0.3 %: critical, and 2 is warning. Below `minimumVolume`
 * (the denominator) it is `insufficient_volume`, whatever the value.
 */
export function judge(numerator: number, denominator: number, threshold: RateThreshold, minimumVolume: number): RateHealth {
  if (denominator < minimumVolume || denominator === 0) return 'insufficient_volume';
  const scaled = BigInt(numerator) * 1_000_000n;
  if (scaled >= BigInt(denominator) * BigInt(threshold.criticalPpm)) return 'critical';
  if (scaled >= BigInt(denominator) * BigInt(threshold.warningPpm)) return 'warning';
  return 'ok';
}

export function judgedRate(definition: RateDefinition, numerator: number, denominator: number, minimumVolume: number): JudgedRate {
  const threshold = definition.threshold;
  return {
    ...rate(numerator, denominator),
    health: threshold ? judge(numerator, denominator, threshold, minimumVolume) : null,
    threshold: threshold
      ? {
          warning: threshold.warningPpm / 1_000_000,
          critical: threshold.criticalPpm / 1_000_000,
          minimumVolume,
          source: threshold.source,
        }
      : null,
  };
}

function sumOf(counts: OutreachCounts, channel: Channel, statuses: readonly DeliveryStatus[]): number {
  return statuses.reduce((sum, status) => sum + statusCount(counts, channel, status), 0);
}

/** The rate `definition` names in an answer's rates. */
export function rateOf(rates: Rates, definition: RateDefinition): JudgedRate {
  return definition.channel === 'sms' ? rates.sms[definition.key] : rates.email[definition.key];
}

/** Every rate of {@link RATE_DEFINITIONS} from the counts of one range. */
export function ratesOf(counts: OutreachCounts, minimumVolume: number = DEFAULT_MINIMUM_VOLUME): Rates {
  const judged = (id: string): JudgedRate => {
    const definition = rateDefinition(id);
    if (!definition) throw new Error(`no rate is defined as ${id}`);
    const { channel, numerator, denominator } = definition;
    return judgedRate(definition, sumOf(counts, channel, numerator), sumOf(counts, channel, denominator), minimumVolume);
  };
  return {
    sms: { failureRate: judged('sms.failureRate') },
    email: {
      deliveryRate: judged('email.deliveryRate'),
      bounceRate: judged('email.bounceRate'),
      blockRate: judged('email.blockRate'),
      spamComplaintRate: judged('email.spamComplaintRate'),
      sendFailureRate: judged('email.sendFailureRate'),
    },
  };
}

/** `email.bounceRate = bounced / sent (warning ≥ 2 %, critical ≥ 5 %: …)` for every rate, for docs. */
export function describeRates(): string {
  const percent = (ppm: number) => `${ppm / 10_000} %`;
  return RATE_DEFINITIONS.map((definition) => {
    const threshold = definition.threshold;
    const lines = threshold
      ? ` (warning ≥ ${percent(threshold.warningPpm)}, critical ≥ ${percent(threshold.criticalPpm)}; ${threshold.source})`
      : ' (no threshold)';
    return `${definition.id} = ${definition.formula}: ${definition.description}${lines}.`;
  }).join(' ');
}
