import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestClickHouse } from '../support/clickhouse.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import {
  InvalidIntervalError,
  MetricsQueryError,
  TooManyBucketsError,
  UnknownMetricError,
  UnknownTimeZoneError,
} from '../../services/reporting/errors.js';
import {
  formatOffset,
  queryTimeseries,
  TIMESERIES_METRICS,
  type TimeseriesPoint,
  type TimeseriesQuery,
} from '../../services/reporting/timeseries-query.js';
import {
  CAMPAIGNS,
  generateEvents,
  insertAssignments,
  insertDeliveries,
  LocalTime,
  matches,
  metricPredicate,
  pick,
  PLAYBOOKS,
  type GeneratedAssignment,
  type GeneratedDelivery,
} from '../../fixtures/metric-scenarios.js';
import { random } from '../../fixtures/events.js';

const TENANTS = ['t-a', 't-b'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Two windows of events around the 2026 US DST changes (2026-03-08 and 2026-11-01). */
const WINDOWS = [
  { startMs: Date.parse('2026-03-04T00:00:00.000Z'), endMs: Date.parse('2026-03-12T00:00:00.000Z') },
  { startMs: Date.parse('2026-10-28T00:00:00.000Z'), endMs: Date.parse('2026-11-05T00:00:00.000Z') },
];
const ZONES = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/St_Johns', 'Australia/Adelaide', 'Europe/London'];

let handle: ClickHouseHandle;
let client: ClickHouseClient;
const assignments: GeneratedAssignment[] = [];
const deliveries: GeneratedDelivery[] = [];
const local = new Map(ZONES.map((tz) => [tz, new LocalTime(tz)]));

beforeAll(async () => {
  ({ handle } = await openTestClickHouse('timeseries'));
  client = handle.client;
  await applyMigrations(client, createLogger('silent'));
  for (const [index, window] of WINDOWS.entries()) {
    // Events on the local midnights and DST instants themselves, and a millisecond before them.
    const special = [
      '2026-03-08T05:00:00.000Z', // New York midnight, the day of the change
      '2026-03-08T07:00:00.000Z', // 02:00 EST → 03:00 EDT
      '2026-03-09T04:00:00.000Z', // New York midnight after the change
      '2026-03-08T18:30:00.000Z', // Kolkata midnight
      '2026-03-08T18:15:00.000Z', // Kathmandu midnight
      '2026-11-01T04:00:00.000Z', // New York midnight, the day of the change
      '2026-11-01T05:00:00.000Z', // 01:00 EDT, first time
      '2026-11-01T06:00:00.000Z', // 01:00 EST, second time (02:00 EDT)
      '2026-11-02T05:00:00.000Z', // New York midnight after the change
    ]
      .map(Date.parse)
      .filter((atMs) => atMs >= window.startMs && atMs < window.endMs)
      .flatMap((atMs) => [atMs, atMs - 1]);
    const events = generateEvents({
      seed: 1000 + index,
      tenants: TENANTS,
      ...window,
      assignments: 8_000,
      deliveries: 12_000,
      renameAtMs: window.startMs,
      specialInstants: special,
    });
    await insertAssignments(client, events.assignments, assignments.length);
    await insertDeliveries(client, events.deliveries, deliveries.length);
    assignments.push(...events.assignments);
    deliveries.push(...events.deliveries);
  }
});

afterAll(async () => {
  await handle?.close();
});

/** The rates, written out again (not imported): channel, numerator statuses, denominator statuses. */
const FAILED = ['failed', 'rejected', 'expired'];
const ATTEMPTED = ['sent', 'failed', 'rejected', 'expired'];
const RATES: Record<string, [string, string[], string[]]> = {
  'email.deliveryRate': ['email', ['delivered'], ['sent']],
  'email.bounceRate': ['email', ['bounced'], ['sent']],
  'email.blockRate': ['email', ['blocked'], ['sent']],
  'email.spamComplaintRate': ['email', ['spam_reported'], ['delivered']],
  'email.sendFailureRate': ['email', FAILED, ATTEMPTED],
  'sms.failureRate': ['sms', FAILED, ATTEMPTED],
};

function bruteRateSeries(q: TimeseriesQuery): TimeseriesPoint[] {
  const time = local.get(q.tz)!;
  const [channel, numerator, denominator] = RATES[q.metric]!;
  const starts = time.bucketStarts(q.fromMs, q.toMs, q.interval);
  const parts = new Map(starts.map((start) => [start, { n: 0, d: 0 }]));
  for (const event of deliveries) {
    if (event.channel !== channel || !matches(event, q.tenantId, q.fromMs, q.toMs, { playbookId: q.playbookId, campaignId: q.campaignId }))
      continue;
    const entry = parts.get(time.bucketStart(event.atMs, q.interval))!;
    if (numerator.includes(event.status)) entry.n += 1;
    if (denominator.includes(event.status)) entry.d += 1;
  }
  return starts.map((start) => {
    const { n, d } = parts.get(start)!;
    return { start: time.iso(start), value: d === 0 ? null : n / d, numerator: n, denominator: d };
  });
}

function bruteTimeseries(q: TimeseriesQuery): TimeseriesPoint[] {
  if (q.metric in RATES) return bruteRateSeries(q);
  const time = local.get(q.tz)!;
  const starts = time.bucketStarts(q.fromMs, q.toMs, q.interval);
  const values = new Map(starts.map((start) => [start, 0]));
  const predicate = metricPredicate(q.metric);
  const filters = { playbookId: q.playbookId, campaignId: q.campaignId };
  const count = (event: GeneratedAssignment | GeneratedDelivery) => {
    const start = time.bucketStart(event.atMs, q.interval);
    expect(values.has(start), `bucket ${new Date(start).toISOString()} of ${new Date(event.atMs).toISOString()}`).toBe(true);
    values.set(start, values.get(start)! + 1);
  };
  if (predicate.assignment) {
    for (const event of assignments) if (matches(event, q.tenantId, q.fromMs, q.toMs, filters) && predicate.assignment(event)) count(event);
  } else {
    for (const event of deliveries) if (matches(event, q.tenantId, q.fromMs, q.toMs, filters) && predicate.delivery!(event)) count(event);
  }
  return starts.map((start) => ({ start: time.iso(start), value: values.get(start)! }));
}

function label(q: TimeseriesQuery): string {
  return JSON.stringify({ ...q, from: new Date(q.fromMs).toISOString(), to: new Date(q.toMs).toISOString() });
}

async function expectBruteForce(q: TimeseriesQuery): Promise<TimeseriesPoint[]> {
  const points = await queryTimeseries(client, q);
  expect(points, label(q)).toEqual(bruteTimeseries(q));
  return points;
}

describe('day buckets across DST changes and odd offsets', () => {
  const ranges = [
    // Random millisecond edges around 2026-03-08 and 2026-11-01.
    { fromMs: Date.parse('2026-03-05T13:47:12.345Z'), toMs: Date.parse('2026-03-11T08:02:59.871Z') },
    { fromMs: Date.parse('2026-10-29T02:13:00.007Z'), toMs: Date.parse('2026-11-04T21:59:59.999Z') },
    // Exactly on New York midnights.
    { fromMs: Date.parse('2026-03-08T05:00:00.000Z'), toMs: Date.parse('2026-03-09T04:00:00.000Z') },
    { fromMs: Date.parse('2026-11-01T04:00:00.000Z'), toMs: Date.parse('2026-11-02T04:59:59.999Z') },
  ];
  for (const tz of ['Asia/Kolkata', 'Asia/Kathmandu', 'America/New_York', 'America/St_Johns']) {
    it(`equals brute force in ${tz}`, async () => {
      for (const range of ranges) {
        for (const metric of ['entries', 'exits', 'sms.sent', 'email.spamReported']) {
          await expectBruteForce({ tenantId: 't-a', metric, interval: 'day', tz, ...range });
        }
      }
    });
  }

  it('has a 23-hour and a 25-hour day in New York', async () => {
    const march = await expectBruteForce({
      tenantId: 't-a',
      metric: 'entries',
      interval: 'day',
      tz: 'America/New_York',
      fromMs: Date.parse('2026-03-07T12:00:00.000Z'),
      toMs: Date.parse('2026-03-09T12:00:00.000Z'),
    });
    expect(march.map((point) => point.start)).toEqual([
      '2026-03-07T00:00:00-05:00',
      '2026-03-08T00:00:00-05:00',
      '2026-03-09T00:00:00-04:00',
    ]);
    const november = await expectBruteForce({
      tenantId: 't-b',
      metric: 'email.sent',
      interval: 'day',
      tz: 'America/New_York',
      fromMs: Date.parse('2026-11-01T04:00:00.000Z'),
      toMs: Date.parse('2026-11-02T05:00:00.000Z'),
    });
    expect(november.map((point) => point.start)).toEqual(['2026-11-01T00:00:00-04:00', '2026-11-02T00:00:00-05:00']);
    // 25 hours of events land in the first day.
    const dayOne = deliveries.filter(
      (e) =>
        e.tenantId === 't-b' &&
        e.channel === 'email' &&
        e.status === 'sent' &&
        e.atMs >= Date.parse('2026-11-01T04:00:00.000Z') &&
        e.atMs < Date.parse('2026-11-02T05:00:00.000Z'),
    ).length;
    expect(november[0]!.value).toBe(dayOne);
  });

  it('starts days at the local midnight of +05:30 and +05:45 zones', async () => {
    const range = { fromMs: Date.parse('2026-03-08T00:00:00.000Z'), toMs: Date.parse('2026-03-09T00:00:00.000Z') };
    const kolkata = await expectBruteForce({ tenantId: 't-a', metric: 'entries', interval: 'day', tz: 'Asia/Kolkata', ...range });
    expect(kolkata.map((point) => point.start)).toEqual(['2026-03-08T00:00:00+05:30', '2026-03-09T00:00:00+05:30']);
    const kathmandu = await expectBruteForce({ tenantId: 't-a', metric: 'entries', interval: 'day', tz: 'Asia/Kathmandu', ...range });
    expect(kathmandu.map((point) => point.start)).toEqual(['2026-03-08T00:00:00+05:45', '2026-03-09T00:00:00+05:45']);
  });
});

describe('hour buckets across DST changes', () => {
  it('skips the missing hour in March and repeats 01:00 in November (New York)', async () => {
    const march = await expectBruteForce({
      tenantId: 't-a',
      metric: 'exits',
      interval: 'hour',
      tz: 'America/New_York',
      fromMs: Date.parse('2026-03-08T05:30:00.250Z'),
      toMs: Date.parse('2026-03-08T08:10:00.000Z'),
    });
    expect(march.map((point) => point.start)).toEqual([
      '2026-03-08T00:00:00-05:00',
      '2026-03-08T01:00:00-05:00',
      '2026-03-08T03:00:00-04:00',
      '2026-03-08T04:00:00-04:00',
    ]);
    const november = await expectBruteForce({
      tenantId: 't-a',
      metric: 'sms.failed',
      interval: 'hour',
      tz: 'America/New_York',
      fromMs: Date.parse('2026-11-01T04:00:00.000Z'),
      toMs: Date.parse('2026-11-01T07:59:59.999Z'),
    });
    expect(november.map((point) => point.start)).toEqual([
      '2026-11-01T00:00:00-04:00',
      '2026-11-01T01:00:00-04:00',
      '2026-11-01T01:00:00-05:00',
      '2026-11-01T02:00:00-05:00',
    ]);
  });

  it('equals brute force for whole DST days by the hour in several zones', async () => {
    for (const tz of ['America/New_York', 'America/St_Johns', 'Asia/Kathmandu', 'Asia/Kolkata']) {
      await expectBruteForce({
        tenantId: 't-b',
        metric: 'email.delivered',
        interval: 'hour',
        tz,
        fromMs: Date.parse('2026-03-07T22:17:31.001Z'),
        toMs: Date.parse('2026-03-09T03:44:12.999Z'),
      });
      await expectBruteForce({
        tenantId: 't-a',
        metric: 'entries',
        interval: 'hour',
        tz,
        fromMs: Date.parse('2026-10-31T20:00:00.000Z'),
        toMs: Date.parse('2026-11-01T11:00:00.000Z'),
        playbookId: 'pb-2',
      });
    }
  });
});

describe('random ranges', () => {
  it('equals brute force for 80 random metrics, zones, intervals, filters and millisecond edges', async () => {
    const next = random(42);
    for (let i = 0; i < 80; i++) {
      const window = pick(next, WINDOWS);
      const span = window.endMs - window.startMs;
      let fromMs = window.startMs - HOUR + Math.floor(next() * (span + 2 * HOUR));
      let toMs = next() < 0.3 ? fromMs + Math.floor(next() * 2 * HOUR) : window.startMs - HOUR + Math.floor(next() * (span + 2 * HOUR));
      if (toMs < fromMs) [fromMs, toMs] = [toMs, fromMs];
      const interval = toMs - fromMs > 3 * DAY || next() < 0.5 ? 'day' : 'hour';
      const filter = next();
      await expectBruteForce({
        tenantId: pick(next, TENANTS),
        metric: pick(next, TIMESERIES_METRICS),
        interval,
        tz: pick(next, ZONES),
        fromMs,
        toMs,
        playbookId: filter < 0.3 ? pick(next, PLAYBOOKS) : undefined,
        campaignId: filter > 0.8 ? pick(next, CAMPAIGNS) : undefined,
      });
    }
  });
});

describe('arguments', () => {
  const ok: TimeseriesQuery = {
    tenantId: 't-a',
    metric: 'entries',
    interval: 'day',
    tz: 'UTC',
    fromMs: WINDOWS[0]!.startMs,
    toMs: WINDOWS[0]!.endMs,
  };

  it('knows the metrics of the contract', () => {
    expect(TIMESERIES_METRICS).toEqual([
      'entries',
      'exits',
      'sms.sent',
      'sms.failed',
      'sms.rejected',
      'sms.expired',
      'email.sent',
      'email.failed',
      'email.rejected',
      'email.expired',
      'email.delivered',
      'email.bounced',
      'email.blocked',
      'email.spamReported',
      ...Object.keys(RATES),
    ]);
  });

  it('rejects unknown metrics, zones, intervals and too many buckets with typed errors', async () => {
    for (const metric of ['sms.delivered', 'email.spam_reported', 'entered', '']) {
      await expect(queryTimeseries(client, { ...ok, metric })).rejects.toBeInstanceOf(UnknownMetricError);
    }
    for (const tz of ['Mars/Olympus', 'utc ', "UTC') --", '']) {
      await expect(queryTimeseries(client, { ...ok, tz })).rejects.toBeInstanceOf(UnknownTimeZoneError);
    }
    await expect(queryTimeseries(client, { ...ok, interval: 'week' as 'day' })).rejects.toBeInstanceOf(InvalidIntervalError);
    await expect(
      queryTimeseries(client, {
        ...ok,
        interval: 'hour',
        fromMs: Date.parse('2025-01-01T00:00:00Z'),
        toMs: Date.parse('2026-12-31T00:00:00Z'),
      }),
    ).rejects.toBeInstanceOf(TooManyBucketsError);
    const error = await queryTimeseries(client, { ...ok, tz: 'Nowhere/Land' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricsQueryError);
    expect(error).toMatchObject({ code: 'METRICS_UNKNOWN_TIME_ZONE', kind: 'invalid' });
  });

  it('answers a whole year by the day within the limit, zeros included', async () => {
    const points = await queryTimeseries(client, {
      ...ok,
      tz: 'Asia/Kathmandu',
      fromMs: Date.parse('2026-01-01T00:00:00.000Z'),
      toMs: Date.parse('2026-12-31T23:59:59.999Z'),
    });
    expect(points).toHaveLength(366);
    expect(points.reduce((sum, point) => sum + (point.value ?? 0), 0)).toBe(
      assignments.filter((e) => e.tenantId === 't-a' && e.action === 'entered').length,
    );
  });

  it('lists every bucket, zeros included, up to the one holding to', async () => {
    const points = await expectBruteForce({
      ...ok,
      tenantId: 't-nobody',
      fromMs: Date.parse('2026-03-04T00:15:00.000Z'),
      toMs: Date.parse('2026-03-06T00:10:00.000Z'),
    });
    expect(points).toEqual([
      { start: '2026-03-04T00:00:00+00:00', value: 0 },
      { start: '2026-03-05T00:00:00+00:00', value: 0 },
      { start: '2026-03-06T00:00:00+00:00', value: 0 },
    ]);
    const hours = await expectBruteForce({
      ...ok,
      tenantId: 't-nobody',
      interval: 'hour',
      tz: 'Asia/Kathmandu',
      fromMs: Date.parse('2026-03-04T00:14:59.999Z'),
      toMs: Date.parse('2026-03-04T01:15:00.000Z'),
    });
    expect(hours.map((point) => point.start)).toEqual([
      '2026-03-04T05:00:00+05:45',
      '2026-03-04T06:00:00+05:45',
      '2026-03-04T07:00:00+05:45',
    ]);
    const single = await expectBruteForce({
      ...ok,
      tenantId: 't-nobody',
      interval: 'hour',
      fromMs: ok.fromMs + 1234,
      toMs: ok.fromMs + 1234,
    });
    expect(single).toEqual([{ start: '2026-03-04T00:00:00+00:00', value: 0 }]);
  });

  it('formats offsets', () => {
    expect([0, 19_800, 20_700, -18_000, -12_600].map(formatOffset)).toEqual(['+00:00', '+05:30', '+05:45', '-05:00', '-03:30']);
  });
});
