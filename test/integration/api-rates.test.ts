import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusKey, type DeliveryStatus } from '../../services/events/types.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import {
  CAMPAIGNS,
  generateEvents,
  insertAssignments,
  insertDeliveries,
  pick,
  PLAYBOOKS,
  type GeneratedAssignment,
  type GeneratedDelivery,
} from '../../fixtures/metric-scenarios.js';
import { random } from '../../fixtures/events.js';
import { parseCsv } from '../support/csv.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

/**
 * Rates, the previous period and outreach per campaign over HTTP, against brute force over the
 * generated events: every numerator, denominator, value and health, for random ranges with
 * millisecond edges. The rate definitions are written out here again on purpose (not imported),
 * so a changed definition fails the test.
 */

const TENANTS = ['t-a', 't-b'];
const START = Date.parse('2026-03-01T00:00:00.000Z');
const END = Date.parse('2026-03-08T00:00:00.000Z');
const RENAME_AT = Date.parse('2026-03-05T00:00:00.000Z');
const MINUTE = 60_000;
const MIN_VOLUME = 20;

type Counts = Record<string, number>;
const FAILED = ['failed', 'rejected', 'expired'];
const ATTEMPTED = ['sent', 'failed', 'rejected', 'expired'];
/** channel, key, numerator statuses, denominator statuses, warning and critical as fractions n/d ≥ w ⇔ n × 1e6 ≥ d × ppm. */
const RATES: Array<[string, string, string[], string[], [number, number] | null]> = [
  ['email', 'deliveryRate', ['delivered'], ['sent'], null],
  ['email', 'bounceRate', ['bounced'], ['sent'], [20_000, 50_000]],
  ['email', 'blockRate', ['blocked'], ['sent'], [20_000, 50_000]],
  ['email', 'spamComplaintRate', ['spam_reported'], ['delivered'], [1_000, 3_000]],
  ['email', 'sendFailureRate', FAILED, ATTEMPTED, [20_000, 50_000]],
  ['sms', 'failureRate', FAILED, ATTEMPTED, [20_000, 50_000]],
];

let handle: ClickHouseHandle;
let app: FastifyInstance;
let assignments: GeneratedAssignment[];
let deliveries: GeneratedDelivery[];

beforeAll(async () => {
  const opened = await openTestClickHouse('api-rates');
  handle = opened.handle;
  await applyMigrations(handle.client, createLogger('silent'));
  ({ assignments, deliveries } = generateEvents({
    seed: 20261128,
    tenants: TENANTS,
    startMs: START,
    endMs: END,
    assignments: 6_000,
    deliveries: 30_000,
    renameAtMs: RENAME_AT,
    specialInstants: [Date.parse('2026-03-03T00:00:00.000Z'), Date.parse('2026-03-03T00:14:59.999Z')],
  }));
  // Messages with a playbook but no campaign: a row of their own.
  for (let i = 0; i < 40; i++)
    deliveries.push({
      tenantId: 't-a',
      atMs: START + i * 3_600_000 + 17,
      channel: 'email',
      status: 'sent',
      playbookId: 'pb-2',
      campaignId: '',
    });
  await insertAssignments(handle.client, assignments);
  await insertDeliveries(handle.client, deliveries);
  // RATE_MINIMUM_VOLUME as configured reaches the answers.
  app = await buildTestApp({ ...opened.config, api: { ...opened.config.api, rateMinimumVolume: MIN_VOLUME } }, handle.client);
});

afterAll(async () => {
  await app?.close();
  await handle?.close();
});

interface Range {
  tenantId: string;
  fromMs: number;
  toMs: number;
  playbookId?: string;
  campaignId?: string;
}

function inRange(d: GeneratedDelivery, range: Range): boolean {
  return (
    d.tenantId === range.tenantId &&
    d.atMs >= range.fromMs &&
    d.atMs <= range.toMs &&
    (range.playbookId === undefined || d.playbookId === range.playbookId) &&
    (range.campaignId === undefined || d.campaignId === range.campaignId)
  );
}

function bruteCounts(items: GeneratedDelivery[]): { sms: Counts; email: Counts } {
  const counts = {
    sms: { sent: 0, failed: 0, rejected: 0, expired: 0 } as Counts,
    email: { sent: 0, failed: 0, rejected: 0, expired: 0, delivered: 0, bounced: 0, blocked: 0, spamReported: 0 } as Counts,
  };
  for (const d of items) counts[d.channel][statusKey(d.status)]! += 1;
  return counts;
}

function bruteRates(counts: { sms: Counts; email: Counts }) {
  const out: Record<string, Record<string, unknown>> = { sms: {}, email: {} };
  for (const [channel, key, numerator, denominator, lines] of RATES) {
    const byStatus = counts[channel as 'sms' | 'email'];
    const n = numerator.reduce((sum, s) => sum + (byStatus[statusKey(s)] ?? 0), 0);
    const d = denominator.reduce((sum, s) => sum + (byStatus[statusKey(s)] ?? 0), 0);
    let health: string | null = null;
    if (lines)
      health = d < MIN_VOLUME ? 'insufficient_volume' : n * 1e6 >= d * lines[1] ? 'critical' : n * 1e6 >= d * lines[0] ? 'warning' : 'ok';
    out[channel]![key] = { numerator: n, denominator: d, value: d === 0 ? null : n / d, health };
  }
  return out;
}

function previousOf(range: Range): Range {
  const length = range.toMs - range.fromMs + 1;
  return { ...range, fromMs: range.fromMs - length, toMs: range.fromMs - 1 };
}

function latestNames(tenantId: string): Map<string, { playbookName: string; campaignName: string }> {
  const latest = new Map<string, GeneratedAssignment>();
  for (const a of assignments) {
    if (a.tenantId !== tenantId) continue;
    const key = `${a.playbookId}\u0000${a.campaignId}`;
    const seen = latest.get(key);
    if (!seen || a.atMs > seen.atMs) latest.set(key, a);
  }
  return latest;
}

function bruteOutreachCampaigns(range: Range) {
  const groups = new Map<string, GeneratedDelivery[]>();
  for (const d of deliveries) {
    if (!inRange(d, range)) continue;
    const key = `${d.playbookId}\u0000${d.campaignId}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const names = latestNames(range.tenantId);
  const rows = [...groups.entries()].map(([key, items]) => {
    const [playbookId, campaignId] = key.split('\u0000') as [string, string];
    const counts = bruteCounts(items);
    return {
      playbookId: playbookId === '' ? null : playbookId,
      playbookName: names.get(key)?.playbookName ?? '',
      campaignId: campaignId === '' ? null : campaignId,
      campaignName: names.get(key)?.campaignName ?? '',
      ...counts,
      rates: bruteRates(counts),
    };
  });
  const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return rows.sort(
    (a, b) =>
      Number(a.campaignId === null) - Number(b.campaignId === null) ||
      Number(a.playbookId === null) - Number(b.playbookId === null) ||
      text(a.playbookName, b.playbookName) ||
      text(a.campaignName, b.campaignName) ||
      text(a.playbookId ?? '', b.playbookId ?? '') ||
      text(a.campaignId ?? '', b.campaignId ?? ''),
  );
}

function randomRanges(count: number, seed: number): Range[] {
  const next = random(seed);
  const instant = () => {
    const kind = next();
    if (kind < 0.3) return pick(next, deliveries).atMs + pick(next, [-1, 0, 1]);
    if (kind < 0.5) return START + Math.floor((next() * (END - START)) / (15 * MINUTE)) * 15 * MINUTE + pick(next, [-1, 0, 1]);
    return START + Math.floor(next() * (END - START));
  };
  return Array.from({ length: count }, () => {
    let fromMs = instant();
    let toMs = next() < 0.4 ? fromMs + Math.floor(next() * 30 * 3_600_000) : instant();
    if (toMs < fromMs) [fromMs, toMs] = [toMs, fromMs];
    const filter = next();
    return {
      tenantId: pick(next, TENANTS),
      fromMs,
      toMs,
      playbookId: filter < 0.7 ? undefined : pick(next, PLAYBOOKS),
      campaignId: filter < 0.85 ? undefined : pick(next, CAMPAIGNS),
    };
  });
}

function url(path: string, range: Range, extra = ''): string {
  const params = new URLSearchParams({ from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString() });
  if (range.playbookId) params.set('playbookId', range.playbookId);
  if (range.campaignId) params.set('campaignId', range.campaignId);
  return `${path}?${params.toString()}${extra}`;
}

async function get(path: string, tenantId: string): Promise<Record<string, unknown>> {
  const response = await app.inject({ method: 'GET', url: path, headers: bearer(tenantId) });
  expect(response.statusCode, `${path}: ${response.body}`).toBe(200);
  return response.json<Record<string, unknown>>();
}

/** The judged rates of an answer without their (constant) threshold objects. */
function stripThresholds(rates: unknown): unknown {
  return JSON.parse(JSON.stringify(rates, (key, value: unknown) => (key === 'threshold' ? undefined : value)));
}

describe('rates, previous period and outreach per campaign (brute force)', () => {
  it('every rate’s numerator, denominator, value and health equal brute force, with the previous period, for 60 random ranges', async () => {
    let judged = 0;
    for (const range of randomRanges(60, 11)) {
      const label = JSON.stringify({ ...range, from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString() });
      const body = await get(url('/v1/metrics/rates', range, '&compare=previous'), range.tenantId);
      const now = bruteRates(bruteCounts(deliveries.filter((d) => inRange(d, range))));
      const before = previousOf(range);
      const then = bruteRates(bruteCounts(deliveries.filter((d) => inRange(d, before))));
      expect(stripThresholds({ sms: body.sms, email: body.email }), label).toEqual(now);
      const previous = body.previous as Record<string, unknown>;
      expect(previous.from).toBe(new Date(before.fromMs).toISOString());
      expect(previous.to).toBe(new Date(before.toMs).toISOString());
      expect(stripThresholds({ sms: previous.sms, email: previous.email }), label).toEqual(then);
      const change = body.change as Record<string, Record<string, { absolute: number | null; relative: number | null }>>;
      for (const [channel, key] of RATES) {
        const a = (now[channel]![key] as { value: number | null }).value;
        const b = (then[channel]![key] as { value: number | null }).value;
        expect(change[channel]![key], label).toEqual({
          absolute: a === null || b === null ? null : a - b,
          relative: a === null || b === null || b === 0 ? null : (a - b) / b,
        });
        if ((now[channel]![key] as { health: string | null }).health !== 'insufficient_volume') judged += 1;
      }
    }
    expect(judged).toBeGreaterThan(50);
  });

  it('outreach per campaign equals brute force (names, counts, rates; the no-campaign rows last) for 40 random ranges', async () => {
    let rows = 0;
    for (const range of randomRanges(40, 12)) {
      const label = JSON.stringify({ ...range, from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString() });
      const body = await get(url('/v1/metrics/outreach/campaigns', range), range.tenantId);
      const expected = bruteOutreachCampaigns(range);
      expect(stripThresholds(body.rows), label).toEqual(expected);
      rows += expected.length;
    }
    expect(rows).toBeGreaterThan(200);
    const whole = await get(url('/v1/metrics/outreach/campaigns', { tenantId: 't-a', fromMs: START, toMs: END }), 't-a');
    const all = whole.rows as Array<{ playbookId: string | null; campaignId: string | null }>;
    expect(all.at(-1)).toMatchObject({ playbookId: null, campaignId: null });
    expect(all.at(-2)).toMatchObject({ playbookId: 'pb-2', campaignId: null });
  });

  it('compare=previous lines up rows of both periods and the outreach counts', async () => {
    for (const range of randomRanges(20, 13)) {
      const before = previousOf(range);
      const outreach = await get(url('/v1/metrics/outreach', range, '&compare=previous'), range.tenantId);
      const now = bruteCounts(deliveries.filter((d) => inRange(d, range)));
      const then = bruteCounts(deliveries.filter((d) => inRange(d, before)));
      expect((outreach.previous as Record<string, unknown>).email).toEqual(then.email);
      const change = outreach.change as Record<string, Record<string, unknown>>;
      expect(change.email!.bounced).toEqual({
        absolute: now.email.bounced! - then.email.bounced!,
        relative: then.email.bounced === 0 ? null : (now.email.bounced! - then.email.bounced!) / then.email.bounced!,
      });

      const byCampaign = await get(url('/v1/metrics/outreach/campaigns', range, '&compare=previous'), range.tenantId);
      const current = bruteOutreachCampaigns(range);
      const previous = bruteOutreachCampaigns(before);
      const keys = new Set([...current, ...previous].map((row) => `${row.playbookId}/${row.campaignId}`));
      const answered = byCampaign.rows as Array<Record<string, unknown>>;
      expect(answered).toHaveLength(keys.size);
      for (const row of answered) {
        const key = `${String(row.playbookId)}/${String(row.campaignId)}`;
        const was = previous.find((p) => `${p.playbookId}/${p.campaignId}` === key);
        const is = current.find((p) => `${p.playbookId}/${p.campaignId}` === key);
        expect((row.previous as Record<string, unknown>).email).toEqual(was?.email ?? bruteCounts([]).email);
        expect(row.email).toEqual(is?.email ?? bruteCounts([]).email);
      }

      const campaigns = await get(url('/v1/metrics/campaigns', range, '&compare=previous'), range.tenantId);
      for (const row of campaigns.rows as Array<Record<string, unknown>>) {
        const count = (r: Range, action: string) =>
          assignments.filter(
            (a) =>
              a.tenantId === r.tenantId &&
              a.atMs >= r.fromMs &&
              a.atMs <= r.toMs &&
              a.playbookId === row.playbookId &&
              a.campaignId === row.campaignId &&
              a.action === action,
          ).length;
        expect(row.previous).toEqual({ entries: count(before, 'entered'), exits: count(before, 'exited') });
        expect(row.entries).toBe(count(range, 'entered'));
      }
    }
  });

  it('a rate as a time series gives each local bucket its numerator and denominator, with the previous period', async () => {
    const range = { tenantId: 't-a', fromMs: Date.parse('2026-03-03T05:07:00.123Z'), toMs: Date.parse('2026-03-04T19:44:59.999Z') };
    const tz = 'Asia/Kolkata';
    const body = await get(url('/v1/metrics/timeseries', range, `&metric=email.bounceRate&interval=hour&tz=${tz}&compare=previous`), 't-a');
    const points = body.points as Array<{ start: string; value: number | null; numerator: number; denominator: number; change: unknown }>;
    const bucket = (ms: number) => Math.floor((ms + 5.5 * 3_600_000) / 3_600_000);
    const brute = (r: Range) => {
      const byHour = new Map<number, { n: number; d: number }>();
      for (const d of deliveries) {
        if (!inRange(d, r) || d.channel !== 'email') continue;
        const entry = byHour.get(bucket(d.atMs)) ?? { n: 0, d: 0 };
        if (d.status === 'bounced') entry.n += 1;
        if (d.status === 'sent') entry.d += 1;
        byHour.set(bucket(d.atMs), entry);
      }
      return byHour;
    };
    const expected = brute(range);
    expect(points).toHaveLength(bucket(range.toMs) - bucket(range.fromMs) + 1);
    for (const point of points) {
      const hour = bucket(Date.parse(point.start));
      const { n, d } = expected.get(hour) ?? { n: 0, d: 0 };
      expect(point, point.start).toMatchObject({ numerator: n, denominator: d, value: d === 0 ? null : n / d });
    }
    const previous = (body.previous as { points: Array<{ numerator: number; denominator: number }> }).points;
    const totalBefore = [...brute(previousOf(range)).values()].reduce((sum, e) => sum + e.d, 0);
    expect(previous.reduce((sum, p) => sum + p.denominator, 0)).toBe(totalBefore);
    expect(points[0]!.change).toEqual(
      previous[0]!.denominator === 0 || points[0]!.denominator === 0 ? { absolute: null, relative: null } : expect.any(Object),
    );
  });

  it('exports outreach per campaign as CSV with the same figures', async () => {
    const range = { tenantId: 't-b', fromMs: START + 1234, toMs: END - 999 };
    const response = await app.inject({ method: 'GET', url: url('/v1/exports/outreach-campaigns.csv', range), headers: bearer('t-b') });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="outreach-campaigns_/);
    const [header, ...records] = parseCsv(response.body);
    expect(header!.slice(0, 6)).toEqual(['playbookId', 'playbookName', 'campaignId', 'campaignName', 'sms_sent', 'sms_failed']);
    expect(header).toContain('email.spamComplaintRate');
    const expected = bruteOutreachCampaigns(range);
    expect(records).toHaveLength(expected.length);
    for (const [index, row] of expected.entries()) {
      const record = Object.fromEntries(header!.map((name, i) => [name, records[index]![i]]));
      expect(record.playbookId).toBe(row.playbookId ?? '');
      expect(Number(record.email_bounced)).toBe(row.email.bounced);
      expect(Number(record.sms_expired)).toBe(row.sms.expired);
      const bounce = row.rates.email!.bounceRate as { value: number | null };
      expect(record['email.bounceRate']).toBe(bounce.value === null ? '' : String(bounce.value));
    }
  });
});

describe('thresholds over HTTP', () => {
  const at = Date.parse('2026-06-01T12:00:00.000Z');
  const add = async (tenantId: string, status: DeliveryStatus, count: number, offset: number) =>
    insertDeliveries(
      handle.client,
      Array.from({ length: count }, (_, i) => ({
        tenantId,
        atMs: at + i,
        channel: 'email' as const,
        status,
        playbookId: '',
        campaignId: '',
      })),
      offset,
    );

  it('is critical at exactly 0.3 % spam complaints, warning just below, and judged only from the minimum volume', async () => {
    await add('t-spam-3', 'delivered', 1000, 5_000_000);
    await add('t-spam-3', 'spam_reported', 3, 5_100_000);
    await add('t-spam-2', 'delivered', 1000, 5_200_000);
    await add('t-spam-2', 'spam_reported', 2, 5_300_000);
    await add('t-low', 'delivered', MIN_VOLUME - 1, 5_400_000);
    await add('t-low', 'spam_reported', 5, 5_500_000);
    await add('t-at-min', 'sent', MIN_VOLUME, 5_600_000);
    await add('t-at-min', 'bounced', 1, 5_700_000);
    const range = { fromMs: at, toMs: at + 999_999 };
    const spam = async (tenantId: string) =>
      ((await get(url('/v1/metrics/rates', { tenantId, ...range }), tenantId)).email as Record<string, Record<string, unknown>>)
        .spamComplaintRate!;
    expect(await spam('t-spam-3')).toMatchObject({ numerator: 3, denominator: 1000, health: 'critical' });
    expect(await spam('t-spam-2')).toMatchObject({ numerator: 2, denominator: 1000, health: 'warning' });
    const low = await spam('t-low');
    expect(low).toMatchObject({ numerator: 5, denominator: MIN_VOLUME - 1, health: 'insufficient_volume' });
    expect(low.threshold).toMatchObject({
      warning: 0.001,
      critical: 0.003,
      minimumVolume: MIN_VOLUME,
      source: expect.stringMatching(/Gmail/),
    });
    const bounce = ((await get(url('/v1/metrics/rates', { tenantId: 't-at-min', ...range }), 't-at-min')).email as Record<string, unknown>)
      .bounceRate;
    // 1 of 20 = 5 %: critical, judged at exactly the minimum volume.
    expect(bounce).toMatchObject({ numerator: 1, denominator: MIN_VOLUME, value: 0.05, health: 'critical' });
  });
});

describe('bad input and freshness', () => {
  const ok = 'from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z';
  it('answers 400 naming the accepted values', async () => {
    for (const [path, problem] of [
      [`/v1/metrics/rates?${ok}&compare=yesterday`, /compare: "yesterday" is not one of previous/],
      [`/v1/metrics/outreach?${ok}&compare=yesterday`, /compare: "yesterday" is not one of previous/],
      [
        `/v1/metrics/timeseries?${ok}&interval=hour&metric=email.openRate`,
        /unknown metric "email.openRate"; expected one of .*email\.bounceRate/,
      ],
      [`/v1/metrics/outreach/campaigns?${ok}&channel=sms`, /channel/],
      [
        `/v1/metrics/rates?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z&compare=previous`,
        /previous period would start at 1999-12-30T23:59:59.999Z, which is outside the supported range/,
      ],
    ] as const) {
      const response = await app.inject({ method: 'GET', url: path, headers: bearer('t-a') });
      expect(response.statusCode, path).toBe(400);
      expect(response.json(), path).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.stringMatching(problem) } });
    }
  });

  it('every metrics answer says how fresh it is; with no ingest ever reporting, no_consumer', async () => {
    const range = { tenantId: 't-a', fromMs: START, toMs: END };
    for (const path of ['/v1/metrics/rates', '/v1/metrics/outreach', '/v1/metrics/campaigns', '/v1/metrics/outreach/campaigns']) {
      const body = await get(url(path, range), 't-a');
      expect(body.freshness, path).toEqual({
        countedThrough: null,
        lagEvents: 0,
        lagSeconds: null,
        state: 'no_consumer',
        reportedAt: null,
        scope: 'deployment',
      });
    }
    const series = await get(url('/v1/metrics/timeseries', range, '&metric=entries&interval=day'), 't-a');
    expect(series.freshness).toMatchObject({ state: 'no_consumer' });
  });
});
