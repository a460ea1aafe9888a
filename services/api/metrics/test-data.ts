import { DELIVERY_STATUSES, SMS_STATUSES, type AssignmentAction, type Channel, type DeliveryStatus } from '../../events/types.js';
import type { ClickHouseClient } from '../../platform/clickhouse.js';
import { dateTime64Param } from './range.js';
import { createSeededRandom } from '../../producer/seeded-random.js';

/**
 * Generated events for the metric tests, written straight into the raw tables (the views fill
 * the rollups), and brute-force answers computed over the same events in TypeScript.
 */

export interface GeneratedAssignment {
  tenantId: string;
  atMs: number;
  playbookId: string;
  playbookName: string;
  campaignId: string;
  campaignName: string;
  action: AssignmentAction;
}

export interface GeneratedDelivery {
  tenantId: string;
  atMs: number;
  channel: Channel;
  status: DeliveryStatus;
  /** '' = none. */
  playbookId: string;
  campaignId: string;
}

export interface Filters {
  playbookId?: string;
  campaignId?: string;
}

/** Seeded numbers in [0, 1), so a failure can be replayed. */
export function random(seed: number): () => number {
  const source = createSeededRandom(seed);
  return () => source.next();
}

export function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

export const PLAYBOOKS = ['pb-1', 'pb-2', 'pb-3'];
/** The same campaign ids under several playbooks: a campaign is a (playbook, campaign) pair. */
export const CAMPAIGNS = ['cm-1', 'cm-2', 'cm-3', 'cm-4'];

/**
 * Names change once, at `renameAtMs`: before it "… v1", from it on "… v2"; playbook pb-3 is
 * renamed so that its sort position moves ("Zeta" → "Alpha").
 */
export function namesAt(playbookId: string, campaignId: string, atMs: number, renameAtMs: number) {
  const version = atMs < renameAtMs ? 1 : 2;
  const playbookName = playbookId === 'pb-3' ? (version === 1 ? 'Zeta' : 'Alpha') : `Playbook ${playbookId.slice(3)}`;
  return { playbookName, campaignName: `Campaign ${campaignId.slice(3)} v${version}` };
}

export interface GenerateOptions {
  seed: number;
  tenants: readonly string[];
  startMs: number;
  endMs: number;
  assignments: number;
  deliveries: number;
  renameAtMs: number;
  /** Instants that also get events of every tenant (exact range edges, bucket edges). */
  specialInstants?: readonly number[];
}

export function generateEvents(options: GenerateOptions): { assignments: GeneratedAssignment[]; deliveries: GeneratedDelivery[] } {
  const next = random(options.seed);
  const span = options.endMs - options.startMs;
  const tenantWeights = options.tenants.map((_, index) => 1 / (index + 1));
  const total = tenantWeights.reduce((a, b) => a + b, 0);
  const tenant = () => {
    let r = next() * total;
    for (const [index, weight] of tenantWeights.entries()) {
      r -= weight;
      if (r <= 0) return options.tenants[index]!;
    }
    return options.tenants[options.tenants.length - 1]!;
  };
  const instants: number[] = [];
  for (let i = 0; i < options.assignments + options.deliveries; i++) instants.push(options.startMs + Math.floor(next() * span));
  const special = options.specialInstants ?? [];

  const assignments: GeneratedAssignment[] = [];
  const makeAssignment = (tenantId: string, atMs: number) => {
    const playbookId = pick(next, PLAYBOOKS);
    const campaignId = pick(next, CAMPAIGNS);
    assignments.push({
      tenantId,
      atMs,
      playbookId,
      campaignId,
      ...namesAt(playbookId, campaignId, atMs, options.renameAtMs),
      action: next() < 0.6 ? 'entered' : 'exited',
    });
  };
  for (let i = 0; i < options.assignments; i++) makeAssignment(tenant(), instants[i]!);

  const deliveries: GeneratedDelivery[] = [];
  const makeDelivery = (tenantId: string, atMs: number) => {
    const channel: Channel = next() < 0.4 ? 'sms' : 'email';
    const attributed = next() < 0.8;
    deliveries.push({
      tenantId,
      atMs,
      channel,
      status: pick(next, channel === 'sms' ? SMS_STATUSES : DELIVERY_STATUSES),
      playbookId: attributed ? pick(next, PLAYBOOKS) : '',
      campaignId: attributed ? pick(next, CAMPAIGNS) : '',
    });
  };
  for (let i = 0; i < options.deliveries; i++) makeDelivery(tenant(), instants[options.assignments + i]!);

  for (const atMs of special) {
    for (const tenantId of options.tenants) {
      makeAssignment(tenantId, atMs);
      makeDelivery(tenantId, atMs);
    }
  }
  return { assignments, deliveries };
}

async function insertChunks(client: ClickHouseClient, table: string, rows: object[]): Promise<void> {
  const chunk = 20_000;
  for (let i = 0; i < rows.length; i += chunk) {
    await client.insert({ table, values: rows.slice(i, i + chunk), format: 'JSONEachRow' });
  }
}

export async function insertAssignments(client: ClickHouseClient, events: readonly GeneratedAssignment[], offset = 0): Promise<void> {
  await insertChunks(
    client,
    'assignment_events',
    events.map((event, index) => ({
      tenant_id: event.tenantId,
      occurred_at: dateTime64Param(event.atMs),
      event_id: `a-${offset + index}`,
      customer_id: `c-${index % 997}`,
      playbook_id: event.playbookId,
      playbook_name: event.playbookName,
      campaign_id: event.campaignId,
      campaign_name: event.campaignName,
      action: event.action,
      kafka_partition: index % 6,
      kafka_offset: offset + index,
    })),
  );
}

export async function insertDeliveries(client: ClickHouseClient, events: readonly GeneratedDelivery[], offset = 0): Promise<void> {
  await insertChunks(
    client,
    'delivery_events',
    events.map((event, index) => ({
      tenant_id: event.tenantId,
      occurred_at: dateTime64Param(event.atMs),
      event_id: `d-${offset + index}`,
      customer_id: `c-${index % 997}`,
      message_id: `m-${offset + index}`,
      channel: event.channel,
      status: event.status,
      playbook_id: event.playbookId,
      campaign_id: event.campaignId,
      reason: event.status === 'failed' ? 'invalid number' : null,
      kafka_partition: index % 6,
      kafka_offset: offset + index,
    })),
  );
}

export function matches(
  event: { tenantId: string; atMs: number; playbookId: string; campaignId: string },
  tenantId: string,
  fromMs: number,
  toMs: number,
  filters: Filters,
): boolean {
  return (
    event.tenantId === tenantId &&
    event.atMs >= fromMs &&
    event.atMs <= toMs &&
    (filters.playbookId === undefined || event.playbookId === filters.playbookId) &&
    (filters.campaignId === undefined || event.campaignId === filters.campaignId)
  );
}

/** The metric a time series test counts, as a predicate over generated events. */
export function metricPredicate(metric: string): {
  assignment?: (event: GeneratedAssignment) => boolean;
  delivery?: (event: GeneratedDelivery) => boolean;
} {
  if (metric === 'entries') return { assignment: (event) => event.action === 'entered' };
  if (metric === 'exits') return { assignment: (event) => event.action === 'exited' };
  const [channel, key] = metric.split('.');
  const status = key!.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  return { delivery: (event) => event.channel === channel && event.status === status };
}

/** Local time arithmetic from Intl only (an implementation independent of the engine's). */
export class LocalTime {
  private readonly format: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();

  constructor(readonly tz: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  /** Offset from UTC at an instant, in milliseconds. */
  offsetMs(atMs: number): number {
    const second = Math.floor(atMs / 1000) * 1000;
    const cached = this.offsets.get(second);
    if (cached !== undefined) return cached;
    const parts = Object.fromEntries(this.format.formatToParts(new Date(second)).map((part) => [part.type, part.value]));
    const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    const offset = wall - second;
    this.offsets.set(second, offset);
    return offset;
  }

  /** Start of the local hour or day holding the instant. */
  bucketStart(atMs: number, interval: 'hour' | 'day'): number {
    const wall = atMs + this.offsetMs(atMs);
    if (interval === 'hour') return atMs - (wall - Math.floor(wall / 3_600_000) * 3_600_000);
    const midnight = Math.floor(wall / 86_400_000) * 86_400_000;
    let guess = midnight - this.offsetMs(atMs);
    guess = midnight - this.offsetMs(guess);
    return guess;
  }

  /** Every bucket start from the one holding `fromMs` to the one holding `toMs`. */
  bucketStarts(fromMs: number, toMs: number, interval: 'hour' | 'day'): number[] {
    const starts = [this.bucketStart(fromMs, interval)];
    const last = this.bucketStart(toMs, interval);
    // An hour is 60 minutes and a day 23 to 25 hours long in these zones.
    const step = interval === 'hour' ? 3_600_000 : 26 * 3_600_000;
    while (starts[starts.length - 1]! < last) starts.push(this.bucketStart(starts[starts.length - 1]! + step, interval));
    return starts;
  }

  iso(atMs: number): string {
    const offset = this.offsetMs(atMs);
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset) / 60_000;
    const hhmm = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return `${new Date(atMs + offset).toISOString().slice(0, 19)}${sign}${hhmm}`;
  }
}
