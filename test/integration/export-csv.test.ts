import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFileName, openExport, scanCsvPage, type ExportRequest } from '../../services/reporting/index.js';
import type { AssignmentEvent, DeliveryEvent, SendingEvent } from '../../services/events/types.js';
import { queryStreamOf, type ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { bearer, TEST_SECRET } from '../support/api.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { generateEvents } from '../../fixtures/events.js';
import { Registry } from 'prom-client';
import { buildApp } from '../../services/api/app.js';
import { Readiness } from '../../services/platform/health.js';
import { parseCsv } from '../support/csv.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const PAGE_ROWS = 1000;

const byKey = (a: { occurredAt: string; eventId: string }, b: { occurredAt: string; eventId: string }) =>
  a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : Buffer.compare(Buffer.from(a.eventId), Buffer.from(b.eventId));

function assignmentRow(e: AssignmentEvent): string[] {
  return [e.occurredAt, e.eventId, e.customerId, e.playbookId, e.playbookName, e.campaignId, e.campaignName, e.action];
}

function deliveryRow(e: DeliveryEvent): string[] {
  return [e.occurredAt, e.eventId, e.customerId, e.messageId, e.channel, e.status, e.playbookId ?? '', e.campaignId ?? '', e.reason ?? ''];
}

const ASSIGNMENT_HEADER = ['occurredAt', 'eventId', 'customerId', 'playbookId', 'playbookName', 'campaignId', 'campaignName', 'action'];
const DELIVERY_HEADER = ['occurredAt', 'eventId', 'customerId', 'messageId', 'channel', 'status', 'playbookId', 'campaignId', 'reason'];

describe('streamed CSV exports', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;
  let events: SendingEvent[];

  const tricky: SendingEvent[] = [
    {
      type: 'assignment',
      eventId: 'id,with "quotes", commas',
      tenantId: 'tenant-0',
      occurredAt: '2026-11-03T10:00:00.001Z',
      customerId: 'c "1"',
      playbookId: 'pb,1',
      playbookName: 'Play, "book"\r\nline two',
      campaignId: 'cm"1',
      campaignName: 'Ünïcødé 🎉, "x"\nnew line',
      action: 'entered',
    },
    {
      type: 'assignment',
      eventId: '\n"2026 looks like a row start',
      tenantId: 'tenant-0',
      occurredAt: '2026-11-03T10:00:00.002Z',
      customerId: 'c',
      playbookId: 'pb-t',
      playbookName: '"',
      campaignId: 'cm-t',
      campaignName: '\n"2026-11-03T10:00:00.002Z","',
      action: 'exited',
    },
    {
      type: 'delivery',
      eventId: 'd,"1"',
      tenantId: 'tenant-0',
      occurredAt: '2026-11-03T10:00:00.003Z',
      customerId: 'c',
      messageId: 'm,"1"\r\n',
      channel: 'email',
      status: 'spam_reported',
      playbookId: null,
      campaignId: 'cm,"x"',
      reason: 'said "no",\r\nthen\nagain\r',
    },
  ];
  // One event stored 2 500 times (published again after the deduplication window): it spans
  // three pages of 1 000 rows, and every copy must come out.
  const repeated: AssignmentEvent = {
    type: 'assignment',
    eventId: 'twice',
    tenantId: 'tenant-0',
    occurredAt: '2026-11-04T00:00:00.000Z',
    customerId: 'c',
    playbookId: 'pb-r',
    playbookName: 'R',
    campaignId: 'cm-r',
    campaignName: 'R',
    action: 'entered',
  };

  beforeAll(async () => {
    const opened = await openTestClickHouse('export-csv');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, createLogger('silent'));
    events = generateEvents({ seed: 21, count: 40_000, startMs: START, spanMs: 5 * DAY, tenants: 2 });
    events.push(...tricky, ...Array.from({ length: 2500 }, () => repeated));
    await insertEvents(clickhouse.client, events);
    app = await buildApp({
      config: opened.config,
      logger: createLogger('silent'),
      clickhouse: clickhouse.client,
      readiness: new Readiness(),
      registry: new Registry(),
      jwtSecret: TEST_SECRET,
      exportPageRows: PAGE_ROWS,
    });
  });

  afterAll(async () => {
    await app?.close();
    await clickhouse?.close();
  });

  const get = (url: string, headers: Record<string, string> = bearer('tenant-0')) => app.inject({ method: 'GET', url, headers });

  const truthAssignments = (tenant: string, fromMs: number, toMs: number, keep: (e: AssignmentEvent) => boolean = () => true) =>
    events
      .filter(
        (e): e is AssignmentEvent =>
          e.type === 'assignment' &&
          e.tenantId === tenant &&
          Date.parse(e.occurredAt) >= fromMs &&
          Date.parse(e.occurredAt) <= toMs &&
          keep(e),
      )
      .sort(byKey)
      .map(assignmentRow);

  const truthDeliveries = (tenant: string, fromMs: number, toMs: number, keep: (e: DeliveryEvent) => boolean = () => true) =>
    events
      .filter(
        (e): e is DeliveryEvent =>
          e.type === 'delivery' &&
          e.tenantId === tenant &&
          Date.parse(e.occurredAt) >= fromMs &&
          Date.parse(e.occurredAt) <= toMs &&
          keep(e),
      )
      .sort(byKey)
      .map(deliveryRow);

  it('assignments.csv holds every row of the range, ordered by occurredAt then eventId, with headers naming the export', async () => {
    const response = await get('/v1/exports/assignments.csv?from=2026-11-01T00:00:00Z&to=2026-11-27T23:59:59.999Z');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
    expect(response.headers['content-disposition']).toBe(
      'attachment; filename="assignments_2026-11-01T000000.000Z_2026-11-27T235959.999Z.csv"',
    );
    const [header, ...rows] = parseCsv(response.body);
    expect(header).toEqual(ASSIGNMENT_HEADER);
    const expected = truthAssignments('tenant-0', START, Date.UTC(2026, 10, 27, 23, 59, 59, 999));
    expect(rows.length).toBe(expected.length);
    expect(rows).toEqual(expected);
    expect(rows.filter((row) => row[1] === 'twice')).toHaveLength(2500);
  });

  it('deliveries.csv equals the raw rows, with filters, and reason empty when there is none', async () => {
    const all = await get('/v1/exports/deliveries.csv?from=2026-11-01T00:00:00Z&to=2026-11-10T00:00:00Z');
    expect(all.statusCode).toBe(200);
    const [header, ...rows] = parseCsv(all.body);
    expect(header).toEqual(DELIVERY_HEADER);
    expect(rows).toEqual(truthDeliveries('tenant-0', START, Date.UTC(2026, 10, 10)));

    const filtered = await get(
      '/v1/exports/deliveries.csv?from=2026-11-01T00:00:00Z&to=2026-11-10T00:00:00Z&channel=email&status=bounced&playbookId=pb-1',
    );
    expect(filtered.statusCode).toBe(200);
    const expected = truthDeliveries(
      'tenant-0',
      START,
      Date.UTC(2026, 10, 10),
      (e) => e.channel === 'email' && e.status === 'bounced' && e.playbookId === 'pb-1',
    );
    expect(expected.length).toBeGreaterThan(10);
    expect(parseCsv(filtered.body).slice(1)).toEqual(expected);

    const exits = await get(
      '/v1/exports/assignments.csv?from=2026-11-01T00:00:00Z&to=2026-11-10T00:00:00Z&action=exited&campaignId=cm-2-1',
    );
    expect(parseCsv(exits.body).slice(1)).toEqual(
      truthAssignments('tenant-0', START, Date.UTC(2026, 10, 10), (e) => e.action === 'exited' && e.campaignId === 'cm-2-1'),
    );
  });

  it('commas, quotes, CR, LF and non-ASCII text round-trip, including a value that looks like the start of a row', async () => {
    const response = await get('/v1/exports/assignments.csv?from=2026-11-03T10:00:00.001Z&to=2026-11-03T10:00:00.002Z');
    expect(parseCsv(response.body)).toEqual([
      ASSIGNMENT_HEADER,
      assignmentRow(tricky[0] as AssignmentEvent),
      assignmentRow(tricky[1] as AssignmentEvent),
    ]);
    const delivery = await get('/v1/exports/deliveries.csv?from=2026-11-03T10:00:00.003Z&to=2026-11-03T10:00:00.003Z');
    expect(parseCsv(delivery.body)).toEqual([DELIVERY_HEADER, deliveryRow(tricky[2] as DeliveryEvent)]);
    expect(Buffer.from(delivery.rawPayload).toString('utf8')).toBe(delivery.body);
  });

  it('finds the key of the last row of a page whatever the values hold', () => {
    const page = Buffer.from(
      '"2026-11-03T10:00:00.001Z","a,""b""\n","x\n""2026"\r\n' +
        '"2026-11-03T10:00:00.002Z","\n""2026 x","y"\r\n' +
        '"2026-11-03T10:00:00.002Z","\n""2026 x","\n"\r\n',
    );
    const scan = scanCsvPage(page);
    expect(scan.rows).toBe(3);
    expect(scan.lastKey?.occurredAt).toBe('2026-11-03T10:00:00.002Z');
    expect(scan.lastKey?.eventId).toBe('\n"2026 x');
    expect(scan.tailTies).toBe(2);
    expect(scanCsvPage(Buffer.alloc(0))).toEqual({ rows: 0, tailTies: 0 });
  });

  it('is exact at the millisecond edges: events at from and to are in, one millisecond outside are out', async () => {
    const sorted = events.filter((e) => e.tenantId === 'tenant-1' && e.type === 'assignment').sort(byKey);
    for (const [i, j] of [
      [100, 5000],
      [7, 8],
      [3000, 3000],
    ] as const) {
      const fromMs = Date.parse(sorted[i]!.occurredAt);
      const toMs = Date.parse(sorted[j]!.occurredAt);
      const offset = (ms: number) => new Date(ms + 5.5 * 3_600_000).toISOString().replace('Z', '+05:30');
      const response = await get(
        `/v1/exports/assignments.csv?from=${encodeURIComponent(offset(fromMs))}&to=${encodeURIComponent(offset(toMs))}`,
        bearer('tenant-1'),
      );
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-disposition']).toContain(exportFileName('assignments', fromMs, toMs));
      const rows = parseCsv(response.body).slice(1);
      expect(rows).toEqual(truthAssignments('tenant-1', fromMs, toMs));
      expect(rows[0]![0]).toBe(sorted[i]!.occurredAt);
      expect(rows.at(-1)![0]).toBe(sorted[j]!.occurredAt);
      if (toMs - fromMs < 2) continue;
      const inside = await get(
        `/v1/exports/assignments.csv?from=${new Date(fromMs + 1).toISOString()}&to=${new Date(toMs - 1).toISOString()}`,
        bearer('tenant-1'),
      );
      expect(parseCsv(inside.body).slice(1)).toEqual(truthAssignments('tenant-1', fromMs + 1, toMs - 1));
    }
  });

  it('the export streamed as one query and the export in keyset pages are the same bytes, whatever the kind, range and filters', async () => {
    const all = async (request: ExportRequest, paged: boolean) => {
      const opened = await openExport(clickhouse.client, request, { paged, pageRows: PAGE_ROWS });
      const chunks: Buffer[] = [];
      for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
      return { bytes: Buffer.concat(chunks), rows: opened.progress.rows };
    };
    const end = START + 5 * DAY;
    const requests: ExportRequest[] = [
      { kind: 'assignments', tenantId: 'tenant-0', fromMs: START, toMs: end, filters: {} },
      { kind: 'assignments', tenantId: 'tenant-1', fromMs: START + 3_600_000, toMs: end - 3_600_000, filters: { action: 'exited' } },
      { kind: 'assignments', tenantId: 'tenant-0', fromMs: START, toMs: end, filters: { campaignId: 'cm-2-1', playbookId: 'pb-2' } },
      // The key stored 2 500 times spans three pages of 1 000 rows.
      { kind: 'assignments', tenantId: 'tenant-0', fromMs: Date.UTC(2026, 10, 3, 10), toMs: Date.UTC(2026, 10, 4, 1), filters: {} },
      { kind: 'deliveries', tenantId: 'tenant-0', fromMs: START, toMs: end, filters: {} },
      { kind: 'deliveries', tenantId: 'tenant-1', fromMs: START, toMs: end, filters: { channel: 'email', status: 'delivered' } },
      {
        kind: 'deliveries',
        tenantId: 'tenant-0',
        fromMs: Date.parse('2026-11-03T10:00:00.003Z'),
        toMs: Date.parse('2026-11-03T10:00:00.003Z'),
        filters: {},
      },
      { kind: 'deliveries', tenantId: 'tenant-0', fromMs: Date.UTC(2020, 0, 1), toMs: Date.UTC(2020, 0, 2), filters: {} },
    ];
    // The embedded engine streams; with CLICKHOUSE_URL both runs page.
    if (!clickhouse.target.startsWith('chdb:')) expect(queryStreamOf(clickhouse.client)).toBeUndefined();
    else expect(queryStreamOf(clickhouse.client)).toBeDefined();
    for (const request of requests) {
      const streamed = await all(request, false);
      const paged = await all(request, true);
      expect(streamed.rows).toBe(paged.rows);
      expect(streamed.bytes.equals(paged.bytes), `${request.kind} ${JSON.stringify(request.filters)}`).toBe(true);
    }
    expect((await all(requests[3]!, false)).rows).toBeGreaterThan(2500);
    expect((await all(requests[0]!, false)).rows).toBeGreaterThan(10 * PAGE_ROWS);
  });

  it('an empty range is the header row alone', async () => {
    const response = await get('/v1/exports/deliveries.csv?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z');
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(`${DELIVERY_HEADER.join(',')}\r\n`);
  });

  it('campaigns.csv and outreach.csv hold what /v1/metrics/campaigns and /v1/metrics/outreach answer', async () => {
    const range = 'from=2026-11-01T00:00:00.250Z&to=2026-11-04T13:07:00.999Z';
    const metrics = (await get(`/v1/metrics/campaigns?${range}`)).json() as { rows: Record<string, string | number>[] };
    const campaigns = await get(`/v1/exports/campaigns.csv?${range}`);
    expect(campaigns.statusCode).toBe(200);
    expect(campaigns.headers['content-disposition']).toBe(
      'attachment; filename="campaigns_2026-11-01T000000.250Z_2026-11-04T130700.999Z.csv"',
    );
    const [header, ...rows] = parseCsv(campaigns.body);
    expect(header).toEqual(['playbookId', 'playbookName', 'campaignId', 'campaignName', 'entries', 'exits']);
    expect(rows).toEqual(metrics.rows.map((row) => header!.map((column) => String(row[column]))));
    expect(rows.length).toBeGreaterThan(5);

    const outreach = (await get(`/v1/metrics/outreach?${range}&playbookId=pb-0`)).json() as {
      sms: Record<string, number>;
      email: Record<string, number>;
    };
    const csv = parseCsv((await get(`/v1/exports/outreach.csv?${range}&playbookId=pb-0`)).body);
    expect(csv[0]).toEqual(['channel', 'status', 'count']);
    expect(csv.slice(1)).toEqual([
      ...Object.entries(outreach.sms).map(([status, n]) => ['sms', status, String(n)]),
      ...Object.entries(outreach.email).map(([status, n]) => ['email', status === 'spamReported' ? 'spam_reported' : status, String(n)]),
    ]);
  });

  it("a token of one tenant never exports another tenant's rows", async () => {
    const response = await get('/v1/exports/assignments.csv?from=2026-11-01T00:00:00Z&to=2026-11-30T00:00:00Z', bearer('tenant-1'));
    const rows = parseCsv(response.body).slice(1);
    expect(rows).toEqual(truthAssignments('tenant-1', START, Date.UTC(2026, 10, 30)));
    const stranger = await get('/v1/exports/assignments.csv?from=2026-11-01T00:00:00Z&to=2026-11-30T00:00:00Z', bearer('tenant-unknown'));
    expect(stranger.body).toBe(`${ASSIGNMENT_HEADER.join(',')}\r\n`);
    expect(
      (await get('/v1/exports/assignments.csv?from=2026-11-01T00:00:00Z&to=2026-11-30T00:00:00Z&tenantId=tenant-0', bearer('tenant-1')))
        .statusCode,
    ).toBe(400);
  });

  it('bad input gets 400 naming the problem, a missing token 401', async () => {
    const ok = 'from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';
    const cases: [string, RegExp][] = [
      [`/v1/exports/deliveries.csv?${ok}&action=entered`, /action/],
      [`/v1/exports/assignments.csv?${ok}&channel=sms`, /channel/],
      [`/v1/exports/assignments.csv?${ok}&action=left`, /action: "left" is not one of entered, exited/],
      [`/v1/exports/deliveries.csv?${ok}&status=opened`, /status: "opened" is not one of sent, failed/],
      [`/v1/exports/deliveries.csv?${ok}&channel=fax`, /channel/],
      [`/v1/exports/campaigns.csv?${ok}&status=sent`, /status/],
      [`/v1/exports/outreach.csv?${ok}&colour=blue`, /colour/],
      [
        '/v1/exports/assignments.csv?from=2026-11-01T00:00:00&to=2026-11-02T00:00:00Z',
        /from: .* is not an ISO-8601 instant with an offset/,
      ],
      ['/v1/exports/assignments.csv?from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z', /is after to/],
      ['/v1/exports/deliveries.csv?from=1950-01-01T00:00:00Z&to=1950-01-02T00:00:00Z', /from/],
      ['/v1/exports/assignments.csv?to=2026-11-02T00:00:00Z', /from/],
    ];
    for (const [url, message] of cases) {
      const response = await get(url);
      expect(response.statusCode, `${url} → ${response.body}`).toBe(400);
      const body = response.json() as { error: { code: string; message: string } };
      expect(body.error.code).toBe('BAD_REQUEST');
      expect(body.error.message, url).toMatch(message);
    }
    const anonymous = await app.inject({ method: 'GET', url: `/v1/exports/assignments.csv?${ok}` });
    expect(anonymous.statusCode).toBe(401);
    expect((await get('/v1/exports/events.csv?' + ok)).statusCode).toBe(404);
  });

  it('serves the export routes in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/exports/assignments.csv',
        '/v1/exports/deliveries.csv',
        '/v1/exports/campaigns.csv',
        '/v1/exports/outreach.csv',
        '/v1/downloads',
        '/v1/downloads/{id}',
        '/v1/downloads/{id}/file',
      ]),
    );
  });

  it('answers 503 on /v1/downloads when the process runs no download worker', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/downloads', headers: bearer('tenant-0') });
    expect(response.statusCode).toBe(503);
    expect((response.json() as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
  });
});
