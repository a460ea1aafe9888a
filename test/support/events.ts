import type { AssignmentEvent, DeliveryEvent, SendingEvent } from '../../services/events/types.js';
import { SMS_STATUSES, DELIVERY_STATUSES } from '../../services/events/types.js';
import { createSeededRandom } from '../../services/producer/seeded-random.js';

/** Seeded numbers in [0, 1), so a failing test can be repeated exactly. */
export function random(seed: number): () => number {
  const source = createSeededRandom(seed);
  return () => source.next();
}

export interface GenerateOptions {
  seed: number;
  count: number;
  tenants?: number;
  playbooks?: number;
  campaignsPerPlaybook?: number;
  startMs: number;
  spanMs: number;
  idPrefix?: string;
}

/** Valid events with random (unordered) times in [startMs, startMs + spanMs), about half assignments. */
export function generateEvents(options: GenerateOptions): SendingEvent[] {
  const next = random(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const tenants = Array.from({ length: options.tenants ?? 3 }, (_, i) => `tenant-${i}`);
  const playbooks = options.playbooks ?? 3;
  const campaigns = options.campaignsPerPlaybook ?? 3;
  const events: SendingEvent[] = [];
  for (let i = 0; i < options.count; i += 1) {
    const tenantId = pick(tenants);
    const occurredAt = new Date(options.startMs + Math.floor(next() * options.spanMs)).toISOString();
    const customerId = `c-${Math.floor(next() * 5000)}`;
    const p = Math.floor(next() * playbooks);
    const c = Math.floor(next() * campaigns);
    const eventId = `${options.idPrefix ?? 'e'}-${options.seed}-${i}`;
    if (next() < 0.5) {
      const event: AssignmentEvent = {
        type: 'assignment', eventId, tenantId, occurredAt, customerId,
        playbookId: `pb-${p}`, playbookName: `Playbook ${p}`, campaignId: `cm-${p}-${c}`, campaignName: `Campaign ${p}.${c}, "quoted"`,
        action: next() < 0.6 ? 'entered' : 'exited',
      };
      events.push(event);
    } else {
      const channel = next() < 0.4 ? 'sms' : 'email';
      const event: DeliveryEvent = {
        type: 'delivery', eventId, tenantId, occurredAt, customerId, messageId: `m-${i}`, channel,
        status: channel === 'sms' ? pick(SMS_STATUSES) : pick(DELIVERY_STATUSES),
        playbookId: next() < 0.9 ? `pb-${p}` : null,
        campaignId: next() < 0.9 ? `cm-${p}-${c}` : null,
        reason: next() < 0.2 ? 'provider said, "no"' : null,
      };
      events.push(event);
    }
  }
  return events;
}

export type Truth = Map<string, number>;

function hourOf(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 13)}:00:00`;
}

/** The counts every hourly aggregate must hold, computed from distinct events. */
export function groundTruth(events: SendingEvent[]): Truth {
  const truth: Truth = new Map();
  const add = (key: string) => truth.set(key, (truth.get(key) ?? 0) + 1);
  const seen = new Set<string>();
  for (const event of events) {
    if (seen.has(event.eventId)) continue;
    seen.add(event.eventId);
    if (event.type === 'assignment') add(`A|${event.tenantId}|${hourOf(event.occurredAt)}|${event.playbookId}|${event.campaignId}|${event.action}`);
    else add(`D|${event.tenantId}|${hourOf(event.occurredAt)}|${event.channel}|${event.status}|${event.playbookId ?? ''}|${event.campaignId ?? ''}`);
  }
  return truth;
}

/** The same keys read from the rollups in ClickHouse, summed per hour. */
export const AGGREGATES_BY_HOUR_SQL = `
  SELECT concat('A|', tenant_id, '|', toString(toStartOfHour(bucket)), '|', playbook_id, '|', campaign_id, '|entered') AS key, sum(entries) AS n
  FROM assignment_counts_15m GROUP BY key HAVING n > 0
  UNION ALL
  SELECT concat('A|', tenant_id, '|', toString(toStartOfHour(bucket)), '|', playbook_id, '|', campaign_id, '|exited') AS key, sum(exits) AS n
  FROM assignment_counts_15m GROUP BY key HAVING n > 0
  UNION ALL
  SELECT concat('D|', tenant_id, '|', toString(toStartOfHour(bucket)), '|', toString(channel), '|', toString(status), '|', playbook_id, '|', campaign_id) AS key, sum(events) AS n
  FROM delivery_counts_15m GROUP BY key HAVING n > 0`;

export function diffTruth(expected: Truth, actual: Truth): string[] {
  const problems: string[] = [];
  for (const [key, n] of expected) if (actual.get(key) !== n) problems.push(`${key}: expected ${n}, got ${actual.get(key) ?? 0}`);
  for (const [key, n] of actual) if (!expected.has(key)) problems.push(`${key}: expected nothing, got ${n}`);
  return problems;
}

export function shuffle<T>(items: T[], seed: number): T[] {
  const next = random(seed);
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
