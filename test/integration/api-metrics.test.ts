import type { FastifyInstance } from 'fastify';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SendingEvent } from '../../services/events/types.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { TOKEN_ISSUER } from '../../services/api/auth/tokens.js';
import { bearer, buildTestApp, TEST_SECRET } from '../support/api.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { generateEvents } from '../../fixtures/events.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);

function bruteCampaigns(events: SendingEvent[], tenant: string, fromMs: number, toMs: number) {
  const rows = new Map<string, { entries: number; exits: number }>();
  for (const e of events) {
    const t = Date.parse(e.occurredAt);
    if (e.type !== 'assignment' || e.tenantId !== tenant || t < fromMs || t > toMs) continue;
    const key = `${e.playbookId}/${e.campaignId}`;
    const row = rows.get(key) ?? { entries: 0, exits: 0 };
    if (e.action === 'entered') row.entries += 1;
    else row.exits += 1;
    rows.set(key, row);
  }
  return rows;
}

describe('metrics API over HTTP', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;
  let events: SendingEvent[];
  let config: Config;

  beforeAll(async () => {
    const opened = await openTestClickHouse('api-metrics');
    clickhouse = opened.handle;
    config = opened.config;
    await applyMigrations(clickhouse.client, createLogger('silent'));
    events = generateEvents({ seed: 5, count: 20_000, startMs: START, spanMs: 5 * DAY, tenants: 2 });
    events.push(
      {
        type: 'assignment',
        eventId: 'edge-315',
        tenantId: 'tenant-0',
        occurredAt: '2026-11-07T03:15:00.000Z',
        customerId: 'c',
        playbookId: 'pb-edge',
        playbookName: 'Edge',
        campaignId: 'cm-edge',
        campaignName: 'Edge',
        action: 'entered',
      },
      {
        type: 'assignment',
        eventId: 'edge-from',
        tenantId: 'tenant-0',
        occurredAt: '2026-11-07T03:00:00.000Z',
        customerId: 'c',
        playbookId: 'pb-edge',
        playbookName: 'Edge',
        campaignId: 'cm-edge',
        campaignName: 'Edge',
        action: 'entered',
      },
      {
        type: 'assignment',
        eventId: 'edge-to',
        tenantId: 'tenant-0',
        occurredAt: '2026-11-07T03:10:00.000Z',
        customerId: 'c',
        playbookId: 'pb-edge',
        playbookName: 'Edge',
        campaignId: 'cm-edge',
        campaignName: 'Edge',
        action: 'exited',
      },
    );
    await insertEvents(clickhouse.client, events);
    app = await buildTestApp(opened.config, clickhouse.client);
  });

  afterAll(async () => {
    await app?.close();
    await clickhouse?.close();
  });

  const get = (url: string, headers: Record<string, string> = bearer('tenant-0')) => app.inject({ method: 'GET', url, headers });

  it('answers 3:00–3:10 exactly: the event at 3:15 is not counted, the ones at from and to are', async () => {
    const response = await get('/v1/metrics/campaigns?from=2026-11-07T03:00:00Z&to=2026-11-07T03:10:00.000Z&playbookId=pb-edge');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      from: '2026-11-07T03:00:00.000Z',
      to: '2026-11-07T03:10:00.000Z',
      rows: [{ playbookId: 'pb-edge', playbookName: 'Edge', campaignId: 'cm-edge', campaignName: 'Edge', entries: 1, exits: 1 }],
      precision: { edges: 'millisecond' },
      freshness: expect.objectContaining({ state: 'no_consumer' }),
    });
  });

  it('campaign counts over HTTP equal brute force for ranges with millisecond edges and offsets', async () => {
    for (let i = 0; i < 20; i += 1) {
      const fromMs = START + Math.floor((((i * 7919) % 97) / 97) * 4 * DAY) + ((i * 37) % 1000);
      const toMs = fromMs + Math.floor((((i * 104729) % 89) / 89) * DAY) + 1;
      const offset = i % 2 === 0 ? '+05:30' : '-04:00';
      const local = (ms: number) => {
        const minutes = (offset.startsWith('+') ? 1 : -1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4)));
        return new Date(ms + minutes * 60_000).toISOString().replace('Z', offset);
      };
      const response = await get(`/v1/metrics/campaigns?from=${encodeURIComponent(local(fromMs))}&to=${encodeURIComponent(local(toMs))}`);
      expect(response.statusCode).toBe(200);
      const expected = bruteCampaigns(events, 'tenant-0', fromMs, toMs);
      const body = response.json() as { rows: { playbookId: string; campaignId: string; entries: number; exits: number }[] };
      expect(new Map(body.rows.map((r) => [`${r.playbookId}/${r.campaignId}`, { entries: r.entries, exits: r.exits }]))).toEqual(expected);
    }
  });

  it('outreach has every status key, zeros included', async () => {
    const response = await get('/v1/metrics/outreach?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      from: '2020-01-01T00:00:00.000Z',
      to: '2020-01-02T00:00:00.000Z',
      sms: { sent: 0, failed: 0, rejected: 0, expired: 0 },
      email: { sent: 0, failed: 0, rejected: 0, expired: 0, delivered: 0, bounced: 0, blocked: 0, spamReported: 0 },
      precision: { edges: 'millisecond' },
      freshness: expect.objectContaining({ state: 'no_consumer' }),
    });
  });

  it("a token of tenant A never yields tenant B's data, whatever the parameters", async () => {
    const range = 'from=2026-11-01T00:00:00Z&to=2026-11-30T00:00:00Z';
    const a = (await get(`/v1/metrics/campaigns?${range}`, bearer('tenant-1'))).json() as { rows: { entries: number }[] };
    const truth = bruteCampaigns(events, 'tenant-1', START, Date.UTC(2026, 10, 30));
    expect(a.rows.reduce((n, r) => n + r.entries, 0)).toBe([...truth.values()].reduce((n, r) => n + r.entries, 0));
    for (const attempt of [`&tenantId=tenant-0`, `&tenant=tenant-0`]) {
      const response = await get(`/v1/metrics/campaigns?${range}${attempt}`, bearer('tenant-1'));
      expect(response.statusCode).toBe(400);
    }
    const other = await get(`/v1/metrics/outreach?${range}`, bearer('tenant-unknown'));
    expect(other.statusCode).toBe(200);
    expect(Object.values((other.json() as { email: Record<string, number> }).email).every((n) => n === 0)).toBe(true);
  });

  it('missing, badly signed, expired and malformed tokens get 401', async () => {
    const url = '/v1/metrics/outreach?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';
    // Expired an hour ago: beyond the accepted clock skew.
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const expired = createSigner({ key: TEST_SECRET, algorithm: 'HS256' })({
      iss: TOKEN_ISSUER,
      tenant: 'tenant-0',
      sub: 'tester',
      iat: hourAgo - 60,
      exp: hourAgo,
    });
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /Authorization: Bearer <token> header is required/],
      [bearer('tenant-0', 3_600_000, `${TEST_SECRET}-other`), /signature is not valid/],
      [{ authorization: `Bearer ${expired}` }, /expired/],
      [{ authorization: 'Bearer not.a.token' }, /not a valid bearer token/],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, /Authorization: Bearer/],
    ];
    for (const [headers, message] of cases) {
      const response = await get(url, headers);
      expect(response.statusCode).toBe(401);
      expect((response.json() as { error: { code: string; message: string } }).error).toEqual({
        code: 'UNAUTHORIZED',
        message: expect.stringMatching(message),
      });
    }
  });

  it('bad input gets 400 with a message naming the problem, never 500', async () => {
    const ok = 'from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';
    const cases: [string, RegExp][] = [
      ['/v1/metrics/campaigns?from=2026-11-01T00:00:00&to=2026-11-02T00:00:00Z', /from: .* is not an ISO-8601 instant with an offset/],
      ['/v1/metrics/campaigns?from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z', /from .* is after to/],
      ['/v1/metrics/campaigns?from=yesterday&to=2026-11-02T00:00:00Z', /from: "yesterday" is not an ISO-8601 instant/],
      ['/v1/metrics/campaigns?from=2026-02-30T00:00:00Z&to=2026-11-02T00:00:00Z', /not a real date/],
      ['/v1/metrics/campaigns?to=2026-11-02T00:00:00Z', /from/],
      [`/v1/metrics/campaigns?${ok}&from=2026-11-01T00:00:00Z`, /from/],
      [`/v1/metrics/campaigns?${ok}&colour=blue`, /colour/],
      ['/v1/metrics/campaigns?from=2000-01-01T00:00:00Z&to=2026-11-02T00:00:00Z', /longer than 400 days/],
      ['/v1/metrics/campaigns?from=99999-01-01T00:00:00Z&to=2026-11-02T00:00:00Z', /from/],
      [`/v1/metrics/campaigns?${ok}&playbookId=${encodeURIComponent("x' OR 1=1 --")}`, /^$/],
      [`/v1/metrics/timeseries?${ok}&metric=clicks&interval=hour`, /unknown metric "clicks"/],
      [`/v1/metrics/timeseries?${ok}&metric=entries&interval=week`, /interval/],
      [`/v1/metrics/timeseries?${ok}&metric=entries&interval=day&tz=Mars/Olympus`, /unknown time zone "Mars\/Olympus"/],
      [`/v1/metrics/timeseries?${ok}&metric=sms.delivered&interval=day`, /metric/],
      [`/v1/metrics/outreach?${ok}&campaignId=${'x'.repeat(5000)}`, /campaignId/],
    ];
    for (const [url, message] of cases) {
      const response = await get(url);
      if (message.source === '^$') {
        // An injection string is just a value that matches nothing.
        expect(response.statusCode, url).toBe(200);
        expect((response.json() as { rows: unknown[] }).rows).toEqual([]);
        continue;
      }
      expect(response.statusCode, `${url} → ${response.body}`).toBe(400);
      const body = response.json() as { error: { code: string; message: string } };
      expect(body.error.code).toBe('BAD_REQUEST');
      expect(body.error.message, url).toMatch(message);
    }
  });

  it('rate limits per token with 429 and Retry-After', async () => {
    const limited = await buildTestApp(config, clickhouse.client, { rateLimitPerMinute: 3 });
    const headers = bearer('tenant-0');
    const url = '/v1/metrics/outreach?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';
    const codes: number[] = [];
    let last;
    for (let i = 0; i < 4; i += 1) {
      last = await limited.inject({ method: 'GET', url, headers });
      codes.push(last.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429]);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect((last!.json() as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    // Another token has its own budget.
    expect((await limited.inject({ method: 'GET', url, headers: bearer('tenant-1') })).statusCode).toBe(200);
    await limited.close();
  });

  it('serves the OpenAPI document with the metric routes and status meanings', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/metrics/campaigns', '/v1/metrics/outreach', '/v1/metrics/timeseries']),
    );
    expect(response.body).toContain('reported as spam');
  });

  it('per-campaign answers are bounded: limit (default and most API_MAX_ANSWER_ROWS), truncated and a keyset cursor to page on', async () => {
    const range = 'from=2026-11-01T00:00:00Z&to=2026-11-06T00:00:00Z';
    for (const path of ['/v1/metrics/campaigns', '/v1/metrics/outreach/campaigns']) {
      for (const extra of ['', '&compare=previous']) {
        const whole = (await get(`${path}?${range}${extra}`)).json() as { rows: unknown[]; truncated?: boolean; next?: string };
        expect(whole.rows.length, path).toBeGreaterThan(5);
        expect(whole.truncated).toBeUndefined();
        expect(whole.next).toBeUndefined();
        const pages: unknown[][] = [];
        let after: string | undefined;
        for (;;) {
          const response = await get(`${path}?${range}${extra}&limit=4${after ? `&after=${encodeURIComponent(after)}` : ''}`);
          expect(response.statusCode, response.body).toBe(200);
          const page = response.json() as { rows: unknown[]; truncated?: boolean; next?: string; freshness: unknown };
          expect(page.freshness).toBeDefined();
          pages.push(page.rows);
          if (!page.truncated) {
            expect(page.next).toBeUndefined();
            break;
          }
          expect(page.rows).toHaveLength(4);
          expect(typeof page.next).toBe('string');
          after = page.next;
        }
        expect(pages.flat(), `${path}${extra}`).toEqual(whole.rows);
      }
    }
    // The default limit is the most: API_MAX_ANSWER_ROWS.
    const small = await buildTestApp(config, clickhouse.client, { maxAnswerRows: 3 });
    const capped = await small.inject({ method: 'GET', url: `/v1/metrics/campaigns?${range}`, headers: bearer('tenant-0') });
    expect(capped.json()).toMatchObject({ truncated: true, next: expect.any(String) });
    expect((capped.json() as { rows: unknown[] }).rows).toHaveLength(3);
    const over = await small.inject({ method: 'GET', url: `/v1/metrics/outreach/campaigns?${range}&limit=4`, headers: bearer('tenant-0') });
    expect(over.statusCode).toBe(400);
    expect(over.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.stringMatching(/limit .*at most 3/) } });
    await small.close();
    for (const after of ['garbage', Buffer.from('[1,2]').toString('base64url'), 'x'.repeat(3000)]) {
      const bad = await get(`/v1/metrics/campaigns?${range}&after=${after}`);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toMatch(/after/);
      expect(bad.body.length).toBeLessThan(400);
    }
  });

  it('a reporting query past API_QUERY_TIMEOUT_MS is stopped by the engine: 503 QUERY_TIMEOUT, and the next query runs', async () => {
    const hasty = await buildTestApp(config, clickhouse.client, { queryTimeoutMs: 1 });
    const response = await hasty.inject({
      method: 'GET',
      url: '/v1/metrics/outreach/campaigns?from=2026-11-01T00:00:00.001Z&to=2026-11-05T23:59:59.999Z&compare=previous',
      headers: bearer('tenant-0'),
    });
    expect(response.statusCode, response.body).toBe(503);
    expect(response.json()).toEqual({ error: { code: 'QUERY_TIMEOUT', message: expect.stringMatching(/1 ms.*API_QUERY_TIMEOUT_MS/) } });
    await hasty.close();
    // The limit was the query's own: the same question without it answers.
    expect((await get('/v1/metrics/outreach/campaigns?from=2026-11-01T00:00:00.001Z&to=2026-11-05T23:59:59.999Z')).statusCode).toBe(200);
  });

  it('freshness says it is deployment-wide (scope), in every answer and in the OpenAPI document', async () => {
    const range = 'from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';
    for (const path of [
      `/v1/metrics/campaigns?${range}`,
      `/v1/metrics/outreach?${range}`,
      `/v1/metrics/rates?${range}`,
      `/v1/metrics/outreach/campaigns?${range}`,
      `/v1/metrics/timeseries?${range}&metric=entries&interval=day`,
    ]) {
      const response = await get(path);
      expect(response.statusCode, path).toBe(200);
      expect((response.json() as { freshness: { scope: string } }).freshness.scope, path).toBe('deployment');
    }
    const doc = JSON.stringify((await app.inject({ method: 'GET', url: '/docs/json' })).json());
    expect(doc).toMatch(/deployment-wide/);
  });
});
