import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { statusKey, type SendingEvent } from '../../services/events/types.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { AnswerCache, TenantDataVersions } from '../../services/reporting/answer-cache.js';
import { DownloadService } from '../../services/downloads/index.js';
import { bearer, buildTestApp } from '../support/api.js';
import { ownDownloadTopic } from '../support/downloads.js';
import { waitFor } from '../support/wait-for.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { generateEvents } from '../../fixtures/events.js';

/**
 * RAW_RETENTION_DAYS=2 over events of the last 5 days: the raw rows before the cut-off are gone
 * (the TTL, forced by a merge), the rollups keep them, and every metrics answer with an edge
 * before the cut-off says `precision: 15m` and equals brute force over the range it says it
 * counts; answers after the cut-off are exact to the millisecond as asked.
 */

const DAY = 86_400_000;
const QUARTER = 15 * 60_000;
const MINUTE = 60_000;
const DAYS = 2;
const TENANT = 'tenant-0';
const logger = createLogger('silent');
const iso = (ms: number) => new Date(ms).toISOString();

/** A 15-minute boundary a little before the test starts: every range below is placed from it. */
const BASE = Math.floor(Date.now() / QUARTER) * QUARTER;

let handle: ClickHouseHandle;
let config: Config;
let client: ClickHouseClient;
let app: FastifyInstance;
let events: SendingEvent[];

function assignment(id: string, atMs: number): SendingEvent {
  return {
    type: 'assignment',
    eventId: id,
    tenantId: TENANT,
    occurredAt: iso(atMs),
    customerId: 'c-x',
    playbookId: 'pb-0',
    playbookName: 'Playbook 0',
    campaignId: 'cm-0-0',
    campaignName: 'Campaign 0.0, "quoted"',
    action: 'entered',
  };
}

function delivery(id: string, atMs: number): SendingEvent {
  return {
    type: 'delivery',
    eventId: id,
    tenantId: TENANT,
    occurredAt: iso(atMs),
    customerId: 'c-x',
    messageId: `m-${id}`,
    channel: 'email',
    status: 'bounced',
    playbookId: 'pb-0',
    campaignId: 'cm-0-0',
    reason: null,
  };
}

const inRange = (e: SendingEvent, fromMs: number, toMs: number) => {
  const t = Date.parse(e.occurredAt);
  return e.tenantId === TENANT && t >= fromMs && t <= toMs;
};

function bruteCampaigns(fromMs: number, toMs: number): Map<string, { entries: number; exits: number }> {
  const rows = new Map<string, { entries: number; exits: number }>();
  for (const e of events) {
    if (e.type !== 'assignment' || !inRange(e, fromMs, toMs)) continue;
    const key = `${e.playbookId}/${e.campaignId}`;
    const row = rows.get(key) ?? { entries: 0, exits: 0 };
    if (e.action === 'entered') row.entries += 1;
    else row.exits += 1;
    rows.set(key, row);
  }
  return rows;
}

function bruteOutreach(fromMs: number, toMs: number) {
  const counts = {
    sms: { sent: 0, failed: 0, rejected: 0, expired: 0 } as Record<string, number>,
    email: { sent: 0, failed: 0, rejected: 0, expired: 0, delivered: 0, bounced: 0, blocked: 0, spamReported: 0 } as Record<string, number>,
  };
  for (const e of events) {
    if (e.type !== 'delivery' || !inRange(e, fromMs, toMs)) continue;
    counts[e.channel][statusKey(e.status)]! += 1;
  }
  return counts;
}

const entriesOf = (fromMs: number, toMs: number) => [...bruteCampaigns(fromMs, toMs).values()].reduce((n, row) => n + row.entries, 0);

beforeAll(async () => {
  ({ handle, config } = await openTestClickHouse('retention-precision'));
  client = handle.client;
  await applyMigrations(client, logger, { rawRetentionDays: DAYS });
  events = generateEvents({ seed: 31, count: 30_000, startMs: BASE - 5 * DAY, spanMs: 5 * DAY - MINUTE, tenants: 2 });
  // Events just outside the asked edges, inside their 15-minute buckets: a widened edge counts them.
  events.push(
    assignment('before-from', BASE - 4 * DAY + 1 * MINUTE),
    delivery('before-from-d', BASE - 4 * DAY + 2 * MINUTE),
    assignment('after-to', BASE - 3 * DAY + 25 * MINUTE),
    assignment('before-moving-from', BASE - 2 * DAY + 3 * 60 * MINUTE + 3 * MINUTE),
  );
  await insertEvents(client, events);
  // The TTL drops expired rows at merges: force one.
  for (const table of ['assignment_events', 'delivery_events']) await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  app = await buildTestApp({ ...config, rawRetentionDays: DAYS }, client);
});

afterAll(async () => {
  await app?.close();
  await handle?.close();
});

afterEach(() => {
  vi.useRealTimers();
});

const get = async (url: string) => {
  const response = await app.inject({ method: 'GET', url, headers: bearer(TENANT) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as Record<string, unknown> & { precision: unknown };
};
const query = (fromMs: number, toMs: number) => `from=${iso(fromMs)}&to=${iso(toMs)}`;
const campaignsMap = (body: Record<string, unknown>) =>
  new Map(
    (body.rows as { playbookId: string; campaignId: string; entries: number; exits: number }[]).map((r) => [
      `${r.playbookId}/${r.campaignId}`,
      { entries: r.entries, exits: r.exits },
    ]),
  );

describe('RAW_RETENTION_DAYS', () => {
  it('sets the TTL on the raw tables; the rows before the cut-off are gone, the rollups keep them; unset removes the TTL', async () => {
    const ttlOf = async () => {
      const result = await client.query({
        query:
          "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ('assignment_events', 'delivery_events')",
        format: 'JSONEachRow',
      });
      return (await result.json<{ name: string; engine_full: string }>()).map((row) => / TTL ([^S]+?) SETTINGS/.exec(row.engine_full)?.[1]);
    };
    expect(await ttlOf()).toEqual([`occurred_at + toIntervalDay(${DAYS})`, `occurred_at + toIntervalDay(${DAYS})`]);

    const count = async (sql: string) => {
      const result = await client.query({ query: sql, format: 'JSONEachRow' });
      return Number((await result.json<{ n: string }>())[0]!.n);
    };
    const old = `occurred_at < now64(3) - INTERVAL ${DAYS} DAY - INTERVAL 1 MINUTE`;
    expect(await count(`SELECT count() AS n FROM assignment_events WHERE ${old}`)).toBe(0);
    expect(await count(`SELECT count() AS n FROM delivery_events WHERE ${old}`)).toBe(0);
    expect(await count('SELECT count() AS n FROM assignment_events')).toBeGreaterThan(0);
    const entered = events.filter((e) => e.type === 'assignment' && e.action === 'entered').length;
    expect(await count('SELECT sum(entries) AS n FROM assignment_counts_15m')).toBe(entered);

    await applyMigrations(client, logger);
    expect(await ttlOf()).toEqual([undefined, undefined]);
    await applyMigrations(client, logger, { rawRetentionDays: DAYS });
    expect(await ttlOf()).toEqual([`occurred_at + toIntervalDay(${DAYS})`, `occurred_at + toIntervalDay(${DAYS})`]);
  });

  it('an answer with its from before the cut-off says 15m and equals brute force from the start of that bucket', async () => {
    const fromMs = BASE - 4 * DAY + 7 * MINUTE + 13_123;
    const toMs = BASE - 1 * DAY + 3 * MINUTE + 500;
    const countedFrom = BASE - 4 * DAY;
    const precision = { edges: '15m', from: iso(countedFrom), to: iso(toMs) };
    // The widened edge holds events: an answer to the range as asked would differ.
    expect(entriesOf(countedFrom, toMs)).toBeGreaterThan(entriesOf(fromMs, toMs));

    const campaigns = await get(`/v1/metrics/campaigns?${query(fromMs, toMs)}`);
    expect(campaigns.from).toBe(iso(fromMs));
    expect(campaigns.precision).toEqual(precision);
    expect(campaignsMap(campaigns)).toEqual(bruteCampaigns(countedFrom, toMs));

    const outreach = await get(`/v1/metrics/outreach?${query(fromMs, toMs)}`);
    expect(outreach.precision).toEqual(precision);
    expect({ sms: outreach.sms, email: outreach.email }).toEqual(bruteOutreach(countedFrom, toMs));

    const rates = (await get(`/v1/metrics/rates?${query(fromMs, toMs)}`)) as {
      precision: unknown;
      email: { bounceRate: { numerator: number } };
    };
    expect(rates.precision).toEqual(precision);
    expect(rates.email.bounceRate.numerator).toBe(bruteOutreach(countedFrom, toMs).email.bounced);

    const perCampaign = (await get(`/v1/metrics/outreach/campaigns?${query(fromMs, toMs)}`)) as {
      precision: unknown;
      rows: { email: { bounced: number } }[];
    };
    expect(perCampaign.precision).toEqual(precision);
    expect(perCampaign.rows.reduce((n, row) => n + row.email.bounced, 0)).toBe(bruteOutreach(countedFrom, toMs).email.bounced);

    const series = (await get(`/v1/metrics/timeseries?metric=entries&interval=hour&${query(fromMs, toMs)}`)) as {
      precision: unknown;
      points: { start: string; value: number }[];
    };
    expect(series.precision).toEqual(precision);
    expect(series.points[0]!.start).toBe(iso(Math.floor(fromMs / 3_600_000) * 3_600_000).replace('.000Z', '+00:00'));
    for (const point of series.points) {
      const start = Date.parse(point.start);
      expect(point.value).toBe(entriesOf(Math.max(start, countedFrom), Math.min(start + 3_600_000 - 1, toMs)));
    }
  });

  it('the metric-table exports count the same widened range and say so in X-Precision; after the cut-off, millisecond', async () => {
    const fromMs = BASE - 4 * DAY + 7 * MINUTE + 13_123;
    const toMs = BASE - 1 * DAY + 3 * MINUTE + 500;
    const csv = await app.inject({ method: 'GET', url: `/v1/exports/campaigns.csv?${query(fromMs, toMs)}`, headers: bearer(TENANT) });
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['x-precision']).toBe(`15m; from=${iso(BASE - 4 * DAY)}; to=${iso(toMs)}`);
    const entries = csv.body
      .trim()
      .split('\r\n')
      .slice(1)
      .reduce((n, line) => n + Number(line.split(',').at(-2)), 0);
    expect(entries).toBe(entriesOf(BASE - 4 * DAY, toMs));
    const recent = await app.inject({
      method: 'GET',
      url: `/v1/exports/outreach.csv?${query(BASE - DAY + 7 * MINUTE, BASE - 3_600_000)}`,
      headers: bearer(TENANT),
    });
    expect(recent.headers['x-precision']).toBe('millisecond');
  });

  it('a queued download of a metric table counts the same widened range and its job says so', async () => {
    const downloads = DownloadService.fromConfig(ownDownloadTopic({ ...config, rawRetentionDays: DAYS }, 'retention'), client, logger);
    await downloads.start();
    try {
      const fromMs = BASE - 4 * DAY + 7 * MINUTE + 13_123;
      const toMs = BASE - 1 * DAY + 3 * MINUTE + 500;
      const job = await downloads.submit({ tenantId: TENANT, userId: 'tester', export: 'campaigns', fromMs, toMs, filters: {} });
      let ready: Awaited<ReturnType<DownloadService['get']>>;
      await waitFor('the download to be ready', async () => {
        ready = await downloads.get(TENANT, job.id);
        return ready?.status === 'ready';
      });
      expect(ready!.error).toBe(
        `counted from ${iso(BASE - 4 * DAY)} to ${iso(toMs)}: raw events before the retention cut-off are no longer kept, so the edges are whole 15-minute buckets`,
      );
      const opened = (await downloads.openFile(TENANT, job.id))!;
      let text = '';
      for await (const chunk of opened.stream) text += String(chunk);
      const entries = text
        .trim()
        .split('\r\n')
        .slice(1)
        .reduce((n, line) => n + Number(line.split(',').at(-2)), 0);
      expect(entries).toBe(entriesOf(BASE - 4 * DAY, toMs));
      expect(entries).not.toBe(entriesOf(fromMs, toMs));
    } finally {
      await downloads.stop();
    }
  });

  it('an answer wholly before the cut-off widens both edges; compare=previous sharing a bucket reads each period on its own', async () => {
    const fromMs = BASE - 4 * DAY + 7 * MINUTE;
    const toMs = BASE - 3 * DAY + 20 * MINUTE + 500;
    const countedTo = BASE - 3 * DAY + 30 * MINUTE - 1;
    const campaigns = await get(`/v1/metrics/campaigns?${query(fromMs, toMs)}`);
    expect(campaigns.precision).toEqual({ edges: '15m', from: iso(BASE - 4 * DAY), to: iso(countedTo) });
    expect(campaignsMap(campaigns)).toEqual(bruteCampaigns(BASE - 4 * DAY, countedTo));
    expect(entriesOf(BASE - 4 * DAY, countedTo)).toBeGreaterThan(entriesOf(fromMs, toMs));

    // 07–09 minutes of a bucket and its previous period 05–07: both are that whole bucket.
    const bucket = { from: BASE - 4 * DAY, to: BASE - 4 * DAY + QUARTER - 1 };
    const outreach = (await get(`/v1/metrics/outreach?${query(fromMs, fromMs + 2 * MINUTE)}&compare=previous`)) as {
      precision: unknown;
      sms: unknown;
      email: unknown;
      previous: { from: string; precision: unknown; sms: unknown; email: unknown };
    };
    const whole = { edges: '15m', from: iso(bucket.from), to: iso(bucket.to) };
    expect(outreach.precision).toEqual(whole);
    expect(outreach.previous.precision).toEqual(whole);
    expect(outreach.previous.from).toBe(iso(fromMs - 2 * MINUTE - 1));
    expect({ sms: outreach.sms, email: outreach.email }).toEqual(bruteOutreach(bucket.from, bucket.to));
    expect({ sms: outreach.previous.sms, email: outreach.previous.email }).toEqual(bruteOutreach(bucket.from, bucket.to));
  });

  it('answers wholly after the cut-off are exact to the millisecond as asked', async () => {
    const fromMs = BASE - 1 * DAY + 7 * MINUTE + 77;
    const toMs = BASE - 2 * 3_600_000 + 1_234;
    const campaigns = await get(`/v1/metrics/campaigns?${query(fromMs, toMs)}`);
    expect(campaigns.precision).toEqual({ edges: 'millisecond' });
    expect(campaignsMap(campaigns)).toEqual(bruteCampaigns(fromMs, toMs));
    const outreach = await get(`/v1/metrics/outreach?${query(fromMs, toMs)}`);
    expect(outreach.precision).toEqual({ edges: 'millisecond' });
    expect({ sms: outreach.sms, email: outreach.email }).toEqual(bruteOutreach(fromMs, toMs));
  });

  it('the answer cache never serves an answer across the cut-off moving past one of its edges', async () => {
    const cached = await buildTestApp({ ...config, rawRetentionDays: DAYS }, client, {}, undefined, {
      answers: new AnswerCache({ versions: new TenantDataVersions(), maxEntries: 100, maxAgeMs: 3_600_000 }),
    });
    try {
      // From a little after today's cut-off (now - 2 days + about 1 h) to 2 hours ago.
      const lowMs = BASE - 2 * DAY + 3 * 60 * MINUTE + 7 * MINUTE;
      const highMs = BASE - 2 * 60 * MINUTE + 1_234;
      const url = `/v1/metrics/campaigns?${query(lowMs, highMs)}`;
      // Valid across the clock moved a day on below.
      const headers = bearer(TENANT, 3 * DAY);
      const ask = async () => {
        const response = await cached.inject({ method: 'GET', url, headers });
        expect(response.statusCode, response.body).toBe(200);
        return response.json() as { precision: unknown; rows: { entries: number }[] };
      };
      const first = await ask();
      expect(first.precision).toEqual({ edges: 'millisecond' });
      expect(first.rows.reduce((n, r) => n + r.entries, 0)).toBe(entriesOf(lowMs, highMs));
      expect((await ask()).precision).toEqual({ edges: 'millisecond' });

      // A day later the cut-off has passed the early edge: the same question is answered afresh.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + DAY);
      const widenedFrom = Math.floor(lowMs / QUARTER) * QUARTER;
      expect(entriesOf(widenedFrom, highMs)).toBeGreaterThan(entriesOf(lowMs, highMs));
      const later = await ask();
      expect(later.precision).toEqual({ edges: '15m', from: iso(widenedFrom), to: iso(highMs) });
      expect(later.rows.reduce((n, r) => n + r.entries, 0)).toBe(entriesOf(widenedFrom, highMs));
    } finally {
      await cached.close();
    }
  });
});
