import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestClickHouse } from '../support/clickhouse.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { queryCampaigns, type CampaignRow } from '../../services/reporting/campaigns-query.js';
import { InvalidArgumentError, InvalidRangeError, MetricsQueryError } from '../../services/reporting/errors.js';
import { queryOutreach, type OutreachCounts } from '../../services/reporting/outreach-query.js';
import { statusKey } from '../../services/events/types.js';
import { DAY_MS, splitRange, ROLLUP_BUCKET_MS, type MetricsRange } from '../../services/reporting/range.js';
import {
  CAMPAIGNS,
  generateEvents,
  insertAssignments,
  insertDeliveries,
  matches,
  pick,
  PLAYBOOKS,
  type Filters,
  type GeneratedAssignment,
  type GeneratedDelivery,
} from '../../fixtures/metric-scenarios.js';
import { random } from '../../fixtures/events.js';

const TENANTS = ['t-a', 't-b', 't-c'];
const START = Date.parse('2026-03-01T00:00:00.000Z');
const END = Date.parse('2026-03-11T00:00:00.000Z');
const RENAME_AT = Date.parse('2026-03-06T00:00:00.000Z');
const MINUTE = 60_000;

/** Bucket edges, one millisecond either side, and a few odd instants: events sit exactly there. */
const SPECIAL = [
  Date.parse('2026-03-02T03:00:00.000Z'),
  Date.parse('2026-03-02T03:10:00.000Z'),
  Date.parse('2026-03-02T03:15:00.000Z'),
  Date.parse('2026-03-02T03:14:59.999Z'),
  Date.parse('2026-03-02T03:15:00.001Z'),
  Date.parse('2026-03-04T12:00:00.000Z'),
  Date.parse('2026-03-04T11:59:59.999Z'),
  Date.parse('2026-03-07T23:45:00.000Z'),
  Date.parse('2026-03-08T00:00:00.000Z'),
  Date.parse('2026-03-09T17:22:13.457Z'),
];

let handle: ClickHouseHandle;
let client: ClickHouseClient;
let assignments: GeneratedAssignment[];
let deliveries: GeneratedDelivery[];

beforeAll(async () => {
  ({ handle } = await openTestClickHouse('range-metrics'));
  client = handle.client;
  await applyMigrations(client, createLogger('silent'));
  ({ assignments, deliveries } = generateEvents({
    seed: 20260301,
    tenants: TENANTS,
    startMs: START,
    endMs: END,
    assignments: 24_000,
    deliveries: 24_000,
    renameAtMs: RENAME_AT,
    specialInstants: SPECIAL,
  }));
  await insertAssignments(client, assignments);
  await insertDeliveries(client, deliveries);
});

afterAll(async () => {
  await handle?.close();
});

function bruteCampaigns(range: MetricsRange): CampaignRow[] {
  const filters: Filters = { playbookId: range.playbookId, campaignId: range.campaignId };
  const rows = new Map<string, CampaignRow>();
  // Names: the latest by event time over all events of the tenant, in range or not.
  const latest = new Map<string, GeneratedAssignment>();
  for (const event of assignments) {
    if (event.tenantId !== range.tenantId) continue;
    const key = `${event.playbookId}\u0000${event.campaignId}`;
    const seen = latest.get(key);
    if (!seen || event.atMs > seen.atMs) latest.set(key, event);
    if (!matches(event, range.tenantId, range.fromMs, range.toMs, filters)) continue;
    let row = rows.get(key);
    if (!row) {
      row = { playbookId: event.playbookId, playbookName: '', campaignId: event.campaignId, campaignName: '', entries: 0, exits: 0 };
      rows.set(key, row);
    }
    if (event.action === 'entered') row.entries += 1;
    else row.exits += 1;
  }
  for (const [key, row] of rows) {
    row.playbookName = latest.get(key)!.playbookName;
    row.campaignName = latest.get(key)!.campaignName;
  }
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows.values()].sort(
    (a, b) =>
      compare(a.playbookName, b.playbookName) ||
      compare(a.campaignName, b.campaignName) ||
      compare(a.playbookId, b.playbookId) ||
      compare(a.campaignId, b.campaignId),
  );
}

function bruteOutreach(range: MetricsRange): OutreachCounts {
  const counts: OutreachCounts = {
    sms: { sent: 0, failed: 0, rejected: 0, expired: 0 },
    email: { sent: 0, failed: 0, rejected: 0, expired: 0, delivered: 0, bounced: 0, blocked: 0, spamReported: 0 },
  };
  const filters: Filters = { playbookId: range.playbookId, campaignId: range.campaignId };
  for (const event of deliveries) {
    if (!matches(event, range.tenantId, range.fromMs, range.toMs, filters)) continue;
    (counts[event.channel] as unknown as Record<string, number>)[statusKey(event.status)]! += 1;
  }
  return counts;
}

/** Random ranges with millisecond edges; some edges on events, on bucket edges or a millisecond off them. */
function randomRanges(count: number, seed: number): MetricsRange[] {
  const next = random(seed);
  const instant = (): number => {
    const kind = next();
    if (kind < 0.15) return pick(next, SPECIAL);
    if (kind < 0.3) return pick(next, assignments).atMs;
    if (kind < 0.45) return pick(next, deliveries).atMs;
    if (kind < 0.65) {
      const edge = START + Math.floor((next() * (END - START)) / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS;
      return edge + pick(next, [-1, 0, 1]);
    }
    return START - 3_600_000 + Math.floor(next() * (END - START + 7_200_000));
  };
  const ranges: MetricsRange[] = [];
  for (let i = 0; i < count; i++) {
    let fromMs = instant();
    let toMs: number;
    const length = next();
    if (length < 0.25)
      toMs = fromMs + Math.floor(next() * 20 * MINUTE); // within or across one bucket
    else if (length < 0.35)
      toMs = fromMs; // a single millisecond
    else if (length < 0.6) toMs = fromMs + Math.floor(next() * 6 * 3_600_000);
    else toMs = instant();
    if (toMs < fromMs) [fromMs, toMs] = [toMs, fromMs];
    const filter = next();
    ranges.push({
      tenantId: pick(next, TENANTS),
      fromMs,
      toMs,
      playbookId: filter < 0.5 ? undefined : pick(next, [...PLAYBOOKS, 'pb-none']),
      campaignId: filter < 0.3 || (filter > 0.6 && filter < 0.8) ? pick(next, CAMPAIGNS) : undefined,
    });
  }
  return ranges;
}

describe('splitRange', () => {
  const at = (iso: string) => Date.parse(iso);
  const day = { ms: DAY_MS, table: 'd' };
  const quarter = { ms: ROLLUP_BUCKET_MS, table: 'q' };

  it('takes whole buckets from the rollups and the edges from raw events', () => {
    expect(splitRange(at('2026-03-02T03:00:00.000Z'), at('2026-03-02T03:10:00.000Z'), [day, quarter])).toEqual({
      rollups: [],
      raw: [{ fromMs: at('2026-03-02T03:00:00.000Z'), toMs: at('2026-03-02T03:10:00.000Z') }],
    });
    expect(splitRange(at('2026-03-02T03:00:00.000Z'), at('2026-03-02T03:14:59.999Z'), [day, quarter])).toEqual({
      rollups: [{ grain: quarter, fromMs: at('2026-03-02T03:00:00.000Z'), toMs: at('2026-03-02T03:15:00.000Z') }],
      raw: [],
    });
    expect(splitRange(at('2026-03-02T03:00:00.001Z'), at('2026-03-02T04:15:00.000Z'), [day, quarter])).toEqual({
      rollups: [{ grain: quarter, fromMs: at('2026-03-02T03:15:00.000Z'), toMs: at('2026-03-02T04:15:00.000Z') }],
      raw: [
        { fromMs: at('2026-03-02T03:00:00.001Z'), toMs: at('2026-03-02T03:14:59.999Z') },
        { fromMs: at('2026-03-02T04:15:00.000Z'), toMs: at('2026-03-02T04:15:00.000Z') },
      ],
    });
  });

  it('uses whole days, then whole 15 minutes, then raw events at each edge', () => {
    expect(splitRange(at('2026-03-02T22:50:00.500Z'), at('2026-03-05T00:20:00.000Z'), [day, quarter])).toEqual({
      rollups: [
        { grain: day, fromMs: at('2026-03-03T00:00:00.000Z'), toMs: at('2026-03-05T00:00:00.000Z') },
        { grain: quarter, fromMs: at('2026-03-02T23:00:00.000Z'), toMs: at('2026-03-03T00:00:00.000Z') },
        { grain: quarter, fromMs: at('2026-03-05T00:00:00.000Z'), toMs: at('2026-03-05T00:15:00.000Z') },
      ],
      raw: [
        { fromMs: at('2026-03-02T22:50:00.500Z'), toMs: at('2026-03-02T22:59:59.999Z') },
        { fromMs: at('2026-03-05T00:15:00.000Z'), toMs: at('2026-03-05T00:20:00.000Z') },
      ],
    });
    expect(splitRange(at('2026-03-03T00:00:00.000Z'), at('2026-03-03T23:59:59.999Z'), [day, quarter])).toEqual({
      rollups: [{ grain: day, fromMs: at('2026-03-03T00:00:00.000Z'), toMs: at('2026-03-04T00:00:00.000Z') }],
      raw: [],
    });
  });
});

describe('exact ranges', () => {
  it('counts an event at from and at to, never one outside (03:15 is not in 03:00-03:10)', async () => {
    const range = { tenantId: 't-fixed', fromMs: Date.parse('2026-03-02T03:00:00.000Z'), toMs: Date.parse('2026-03-02T03:10:00.000Z') };
    const base = { tenantId: 't-fixed', playbookId: 'pb-1', playbookName: 'P', campaignId: 'cm-1', campaignName: 'C' };
    const fixed: GeneratedAssignment[] = [
      { ...base, atMs: Date.parse('2026-03-02T02:59:59.999Z'), action: 'entered' },
      { ...base, atMs: Date.parse('2026-03-02T03:00:00.000Z'), action: 'entered' },
      { ...base, atMs: Date.parse('2026-03-02T03:05:00.000Z'), action: 'exited' },
      { ...base, atMs: Date.parse('2026-03-02T03:10:00.000Z'), action: 'entered' },
      { ...base, atMs: Date.parse('2026-03-02T03:10:00.001Z'), action: 'entered' },
      { ...base, atMs: Date.parse('2026-03-02T03:15:00.000Z'), action: 'entered' },
    ];
    await insertAssignments(client, fixed, 1_000_000);
    await insertDeliveries(
      client,
      fixed.map((event) => ({
        tenantId: 't-fixed',
        atMs: event.atMs,
        channel: 'email',
        status: 'spam_reported',
        playbookId: '',
        campaignId: '',
      })),
      1_000_000,
    );
    expect(await queryCampaigns(client, range)).toEqual([
      { playbookId: 'pb-1', playbookName: 'P', campaignId: 'cm-1', campaignName: 'C', entries: 2, exits: 1 },
    ]);
    expect((await queryOutreach(client, range)).email.spamReported).toBe(3);
    // The hour the replaced system would have counted: 03:00-03:59:59.999 holds all but the first.
    const hour = { ...range, toMs: Date.parse('2026-03-02T03:59:59.999Z') };
    expect(await queryCampaigns(client, hour)).toEqual([
      { playbookId: 'pb-1', playbookName: 'P', campaignId: 'cm-1', campaignName: 'C', entries: 4, exits: 1 },
    ]);
    expect((await queryOutreach(client, hour)).email.spamReported).toBe(5);
  });

  it('equals a brute-force count over the generated events for 240 random ranges and filters', async () => {
    const ranges = randomRanges(240, 7);
    let nonEmpty = 0;
    for (const range of ranges) {
      const label = JSON.stringify({ ...range, from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString() });
      const expectedCampaigns = bruteCampaigns(range);
      expect(await queryCampaigns(client, range), label).toEqual(expectedCampaigns);
      expect(await queryOutreach(client, range), label).toEqual(bruteOutreach(range));
      if (expectedCampaigns.length > 0) nonEmpty += 1;
    }
    // The ranges exercise real data, not only empty answers.
    expect(nonEmpty).toBeGreaterThan(100);
  });

  it('answers the whole data set, and a range of whole buckets only, exactly', async () => {
    for (const range of [
      { tenantId: 't-a', fromMs: START - 1, toMs: END + 1 },
      { tenantId: 't-b', fromMs: START, toMs: END - 1 },
      { tenantId: 't-c', fromMs: Date.parse('2026-03-04T12:00:00.000Z'), toMs: Date.parse('2026-03-04T12:59:59.999Z'), playbookId: 'pb-3' },
    ]) {
      expect(await queryCampaigns(client, range)).toEqual(bruteCampaigns(range));
      expect(await queryOutreach(client, range)).toEqual(bruteOutreach(range));
    }
  });

  it('reports the latest name by event time', async () => {
    const rows = await queryCampaigns(client, { tenantId: 't-a', fromMs: START, toMs: RENAME_AT - 1 });
    // The range ends before the rename, the names are those after it.
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.campaignName.endsWith('v2'))).toBe(true);
    expect(rows[0]!.playbookName).toBe('Alpha');
  });
});

describe('tenant isolation', () => {
  it('never counts another tenant’s rows', async () => {
    const all = { fromMs: START - 1, toMs: END + 1 };
    const empty = {
      sms: { sent: 0, failed: 0, rejected: 0, expired: 0 },
      email: { sent: 0, failed: 0, rejected: 0, expired: 0, delivered: 0, bounced: 0, blocked: 0, spamReported: 0 },
    };
    for (const tenantId of ['t-nobody', 't', 't-a ', 'T-A']) {
      expect(await queryCampaigns(client, { tenantId, ...all })).toEqual([]);
      expect(await queryOutreach(client, { tenantId, ...all })).toEqual(empty);
    }
    const a = await queryCampaigns(client, { tenantId: 't-a', ...all });
    const b = await queryCampaigns(client, { tenantId: 't-b', ...all });
    const total = (rows: CampaignRow[]) => rows.reduce((sum, row) => sum + row.entries + row.exits, 0);
    expect(total(a)).toBe(assignments.filter((event) => event.tenantId === 't-a').length);
    expect(total(b)).toBe(assignments.filter((event) => event.tenantId === 't-b').length);
  });
});

describe('arguments', () => {
  it('rejects bad ranges and tenants with typed errors', async () => {
    const ok = { tenantId: 't-a', fromMs: START, toMs: END };
    await expect(queryCampaigns(client, { ...ok, fromMs: END, toMs: START })).rejects.toBeInstanceOf(InvalidRangeError);
    await expect(queryOutreach(client, { ...ok, fromMs: 1.5 })).rejects.toBeInstanceOf(InvalidRangeError);
    await expect(queryOutreach(client, { ...ok, fromMs: Number.NaN })).rejects.toBeInstanceOf(InvalidRangeError);
    await expect(queryOutreach(client, { ...ok, fromMs: -1 })).rejects.toBeInstanceOf(InvalidRangeError);
    await expect(queryCampaigns(client, { ...ok, tenantId: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
    const error = await queryCampaigns(client, { ...ok, fromMs: END, toMs: START }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricsQueryError);
    expect(error).toMatchObject({ code: 'METRICS_INVALID_RANGE', kind: 'invalid' });
  });

  it('treats filter values as data, never as SQL', async () => {
    const rows = await queryCampaigns(client, { tenantId: 't-a', fromMs: START, toMs: END, playbookId: "pb-1' OR 1=1 --" });
    expect(rows).toEqual([]);
  });
});
