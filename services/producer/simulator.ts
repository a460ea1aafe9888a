import type { Channel, DeliveryStatus, SendingEvent } from '../events/types.js';
import { createSeededRandom, type SeededRandom } from './seeded-random.js';

/**
 * Realistic outreach traffic as a pure, seedable event stream: customers of each tenant enter
 * Campaigns, receive text messages and emails whose statuses follow plausible sequences, and
 * (mostly) exit again; a few messages are sent outside any Campaign. Every event is valid
 * (an sms never takes an email-only status). The same options give the same stream.
 *
 * Outcomes are in the ranges real senders see — bounces about 0.5–2 % of sent emails, blocks
 * 0.1–1 %, spam complaints 0.01–0.1 % of delivered, text message failures 0.7–2 % — each campaign
 * a little better or worse than the next. An incident makes the first tenant's first campaign go
 * bad from a point in the stream on (see {@link INCIDENTS}), so a demo shows an alert firing.
 *
 * Without a clock, occurredAt is drawn uniformly from [startMs, startMs + spreadMs] at
 * millisecond precision — what range-query tests need; a message's statuses are then in
 * order in the stream but not in time. With a clock (the live simulator), events carry its time.
 */
export interface SimulatorOptions {
  seed?: number;
  tenants?: number;
  /** Campaigns per tenant; Playbooks hold three Campaigns each. */
  campaigns?: number;
  /** Customers per tenant. */
  customers?: number;
  startMs?: number;
  spreadMs?: number;
  clock?: () => number;
  /** One campaign going bad partway through: the first tenant's first campaign. */
  incident?: { kind: IncidentKind; /** Journeys started after this many events are hit; 0 = from the start. */ afterEvents?: number };
}

/** What each incident does to the first tenant's first campaign, for the CLI help and the docs. */
export const INCIDENTS = {
  bounces: 'about 30 % of its emails bounce (a purchased or stale address list)',
  spam: 'about 5 % of its delivered emails are reported as spam (an unwanted message)',
  'sms-carrier': 'a carrier refuses about 30 % of its text messages',
} as const;
export type IncidentKind = keyof typeof INCIDENTS;
export const INCIDENT_KINDS = Object.keys(INCIDENTS) as IncidentKind[];

export interface Simulator {
  next(): SendingEvent;
  take(count: number): SendingEvent[];
}

export const SIMULATOR_DEFAULTS = {
  seed: 1,
  tenants: 3,
  campaigns: 6,
  customers: 10_000,
  startMs: Date.parse('2026-01-01T00:00:00.000Z'),
  spreadMs: 24 * 3_600_000,
} as const;

/** Journeys in progress at once; beyond it, only existing journeys move on. */
const ACTIVE_JOURNEYS = 1000;
const CAMPAIGNS_PER_PLAYBOOK = 3;

const TENANT_NAMES = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'soylent', 'tyrell'];
const PLAYBOOK_NAMES = ['Onboarding', 'Win-back', 'Renewals', 'Upsell', 'Payment reminders', 'Feedback', 'Re-engagement', 'Loyalty'];
const CAMPAIGN_NAMES = [
  'Welcome',
  'Getting started',
  'Day 3 tips',
  'We miss you',
  'Come-back offer',
  'Last chance',
  'Renewal notice',
  'Renewal reminder',
  'Thank you for renewing',
  'Upgrade offer',
  'Plus trial',
  'Plus trial ending',
  'Invoice due',
  'Payment overdue',
  'Final notice',
  'Rate us',
  'Quick survey',
  'Review request',
];

interface Campaign {
  /** How much worse (above 1) or better than the average this campaign's outcomes are. */
  quality: number;
  playbookId: string;
  playbookName: string;
  campaignId: string;
  campaignName: string;
}

interface Tenant {
  tenantId: string;
  campaigns: Campaign[];
}

type Step =
  | { kind: 'assignment'; action: 'entered' | 'exited' }
  | { kind: 'delivery'; messageId: string; channel: Channel; status: DeliveryStatus; reason: string | null };

/** One customer's way through a Campaign (or one message outside any), planned up front. */
interface Journey {
  tenantId: string;
  customerId: string;
  campaign: Campaign | null;
  steps: Step[];
  position: number;
}

function numbered(names: readonly string[], index: number): string {
  const round = Math.floor(index / names.length);
  return round === 0 ? (names[index] as string) : `${names[index % names.length]} ${round + 1}`;
}

function buildTenants(random: SeededRandom, tenants: number, campaigns: number): Tenant[] {
  return Array.from({ length: tenants }, (_, t) => ({
    tenantId: t < TENANT_NAMES.length ? (TENANT_NAMES[t] as string) : `tenant-${t + 1}`,
    campaigns: Array.from({ length: campaigns }, (_, c) => {
      const playbook = Math.floor(c / CAMPAIGNS_PER_PLAYBOOK);
      return {
        quality: 0.5 + random.next(),
        playbookId: `pb-${playbook + 1}`,
        playbookName: numbered(PLAYBOOK_NAMES, playbook),
        campaignId: `cm-${c + 1}`,
        campaignName: numbered(CAMPAIGN_NAMES, c),
      };
    }),
  }));
}

/** Chances of each outcome (of all messages, then of sent emails, then of delivered ones). */
interface Outcomes {
  failed: number;
  rejected: number;
  expired: number;
  bounced: number;
  blocked: number;
  /** Sent, never heard of again. */
  unconfirmed: number;
  spamReported: number;
}

/** An average campaign: text message failures ~1.3 %, bounces ~1 %, blocks ~0.4 %, spam complaints ~0.04 %. */
const TYPICAL: Readonly<Outcomes> = {
  failed: 0.006,
  rejected: 0.004,
  expired: 0.003,
  bounced: 0.01,
  blocked: 0.004,
  unconfirmed: 0.01,
  spamReported: 0.0004,
};

function outcomesOf(campaign: Campaign | null, incident: IncidentKind | null, channel: Channel): Outcomes {
  const quality = campaign?.quality ?? 1;
  const scaled: Outcomes = {
    ...TYPICAL,
    failed: TYPICAL.failed * quality,
    rejected: TYPICAL.rejected * quality,
    expired: TYPICAL.expired * quality,
    bounced: TYPICAL.bounced * quality,
    blocked: TYPICAL.blocked * quality,
    spamReported: TYPICAL.spamReported * quality,
  };
  if (incident === 'bounces') return { ...scaled, bounced: 0.3 };
  if (incident === 'spam') return { ...scaled, spamReported: 0.05 };
  if (incident === 'sms-carrier' && channel === 'sms') return { ...scaled, rejected: 0.3 };
  return scaled;
}

/** The statuses one message goes through, in order. */
function messageSteps(random: SeededRandom, channel: Channel, outcomes: Outcomes): Step[] {
  const messageId = `m-${random.uuid()}`;
  const step = (status: DeliveryStatus, reason: string | null = null): Step => ({ kind: 'delivery', messageId, channel, status, reason });
  const roll = random.next();
  let line = outcomes.failed;
  if (roll < line) return [step('failed', channel === 'sms' ? 'invalid phone number' : 'invalid email address')];
  line += outcomes.rejected;
  if (roll < line) return [step('rejected', channel === 'sms' ? 'carrier refused the message' : 'recipient is on the suppression list')];
  line += outcomes.expired;
  if (roll < line) return [step('expired', 'not sent within its send window')];
  if (channel === 'sms') return [step('sent')];
  const after = random.next();
  if (after < outcomes.bounced) return [step('sent'), step('bounced', 'mailbox does not exist')];
  if (after < outcomes.bounced + outcomes.blocked) return [step('sent'), step('blocked', 'blocked by a spam filter')];
  if (after < 1 - outcomes.unconfirmed)
    return random.chance(outcomes.spamReported)
      ? [step('sent'), step('delivered'), step('spam_reported')]
      : [step('sent'), step('delivered')];
  return [step('sent')];
}

function planJourney(
  random: SeededRandom,
  tenant: Tenant,
  customers: number,
  incidentOn: Campaign | null,
  incident: IncidentKind | null,
): Journey {
  const customerId = `c-${String(random.below(customers) + 1).padStart(6, '0')}`;
  const channel = (): Channel => (random.chance(0.6) ? 'email' : 'sms');
  if (random.chance(0.1)) {
    const only = channel();
    return {
      tenantId: tenant.tenantId,
      customerId,
      campaign: null,
      steps: messageSteps(random, only, outcomesOf(null, null, only)),
      position: 0,
    };
  }
  const campaign = random.pick(tenant.campaigns);
  const hit = campaign === incidentOn ? incident : null;
  const steps: Step[] = [{ kind: 'assignment', action: 'entered' }];
  for (let messages = 1 + random.below(4); messages > 0; messages--) {
    const each = channel();
    steps.push(...messageSteps(random, each, outcomesOf(campaign, hit, each)));
  }
  if (random.chance(0.85)) steps.push({ kind: 'assignment', action: 'exited' });
  return { tenantId: tenant.tenantId, customerId, campaign, steps, position: 0 };
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const settings = { ...SIMULATOR_DEFAULTS, ...options };
  for (const [name, min] of [
    ['tenants', 1],
    ['campaigns', 1],
    ['customers', 1],
    ['spreadMs', 0],
  ] as const) {
    const value: number = settings[name];
    if (!Number.isInteger(value) || value < min) throw new RangeError(`simulator ${name} must be a whole number ≥ ${min}, got ${value}`);
  }
  const incident = options.incident ?? null;
  if (incident && !INCIDENT_KINDS.includes(incident.kind))
    throw new RangeError(`simulator incident must be one of ${INCIDENT_KINDS.join(', ')}, got ${String(incident.kind)}`);
  const random = createSeededRandom(settings.seed);
  const tenants = buildTenants(random, settings.tenants, settings.campaigns);
  const incidentOn = incident ? ((tenants[0] as Tenant).campaigns[0] as Campaign) : null;
  let emitted = 0;
  const active: Journey[] = [];
  const { clock, startMs, spreadMs } = settings;
  const occurredAt = clock ? () => new Date(clock()).toISOString() : () => new Date(startMs + random.below(spreadMs + 1)).toISOString();

  /** Starts a journey now and then, otherwise moves a random one on. */
  function nextJourneyIndex(): number {
    if (active.length === 0 || (active.length < ACTIVE_JOURNEYS && random.chance(0.3))) {
      const hit = incident && emitted >= (incident.afterEvents ?? 0) ? incident.kind : null;
      return active.push(planJourney(random, random.pick(tenants), settings.customers, incidentOn, hit)) - 1;
    }
    return random.below(active.length);
  }

  function next(): SendingEvent {
    const index = nextJourneyIndex();
    emitted++;
    const journey = active[index] as Journey;
    const step = journey.steps[journey.position++] as Step;
    if (journey.position === journey.steps.length) {
      active[index] = active[active.length - 1] as Journey;
      active.pop();
    }
    const { tenantId, customerId, campaign } = journey;
    const eventId = random.uuid();
    if (step.kind === 'assignment') {
      const { playbookId, playbookName, campaignId, campaignName } = campaign as Campaign;
      return {
        type: 'assignment',
        eventId,
        tenantId,
        occurredAt: occurredAt(),
        customerId,
        playbookId,
        playbookName,
        campaignId,
        campaignName,
        action: step.action,
      };
    }
    return {
      type: 'delivery',
      eventId,
      tenantId,
      occurredAt: occurredAt(),
      customerId,
      messageId: step.messageId,
      channel: step.channel,
      status: step.status,
      playbookId: campaign?.playbookId ?? null,
      campaignId: campaign?.campaignId ?? null,
      reason: step.reason,
    };
  }

  return {
    next,
    take: (count) => Array.from({ length: count }, () => next()),
  };
}
