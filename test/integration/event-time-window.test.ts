import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateEvent } from '../../services/events/validate.js';
import type { AssignmentEvent } from '../../services/events/types.js';
import { createDecodeStep } from '../../services/ingest/steps/decode.js';
import { encodeEvent } from '../../services/events/codec.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { queryCampaigns, queryTimeseries } from '../../services/reporting/index.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

/**
 * The accepted event times are one window everywhere — 2000-01-01T00:00:00.000Z to
 * 2099-12-31T23:59:59.999Z — in the contract, validation, storage and queries. Before, the
 * contract took 1900 to 2299 while the rollups' 32-bit DateTime wrapped: a 2150 event was counted
 * in 2014 and a 1969 event in 2105.
 */
const event = (occurredAt: string, eventId = `e-${occurredAt}`): AssignmentEvent => ({
  type: 'assignment',
  eventId,
  tenantId: 'acme',
  occurredAt,
  customerId: 'c-1',
  playbookId: 'pb-1',
  playbookName: 'Onboarding',
  campaignId: 'cm-1',
  campaignName: 'Welcome',
  action: 'entered',
});

const WINDOW = '2000-01-01T00:00:00.000Z to 2099-12-31T23:59:59.999Z';

describe('event times outside 2000–2099', () => {
  it.each([
    '2150-06-01T00:00:00.000Z',
    '1969-12-31T23:59:59.999Z',
    '2106-02-07T06:28:16.000Z',
    '1999-12-31T23:59:59.999Z',
    '2100-01-01T00:00:00.000Z',
  ])('%s is refused by validation, naming the window', (occurredAt) => {
    const result = validateEvent(event(occurredAt));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join('; ')).toContain(`occurredAt: "${occurredAt}" is outside the supported range ${WINDOW}`);
  });

  it('the window edges are accepted', () => {
    for (const occurredAt of ['2000-01-01T00:00:00.000Z', '2099-12-31T23:59:59.999Z', '2000-01-01T01:00:00.000+01:00']) {
      expect(validateEvent(event(occurredAt)).ok).toBe(true);
    }
  });

  it('the ingest dead-letters a record dated 2150 with that reason instead of counting it in 2014', () => {
    const decode = createDecodeStep('assignment');
    const outcome = decode({
      topic: 'assignments',
      partition: 0,
      offset: 7,
      key: null,
      value: encodeEvent(event('2150-06-01T00:00:00.000Z')),
    });
    expect(outcome.kind).toBe('dead-letter');
    if (outcome.kind === 'dead-letter') expect(outcome.reason).toContain(`is outside the supported range ${WINDOW}`);
  });
});

describe('the window is what storage and queries hold', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;

  beforeAll(async () => {
    const opened = await openTestClickHouse('time-window');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, createLogger('silent'));
    await insertEvents(clickhouse.client, [event('2000-01-01T00:00:00.000Z', 'first'), event('2099-12-31T23:59:59.999Z', 'last')]);
    app = await buildTestApp(opened.config, clickhouse.client, { maxRangeDays: 40_000 });
  });

  afterAll(async () => {
    await app?.close();
    await clickhouse?.close();
  });

  it('events at both edges are counted on their own days, from the rollups and the raw edges alike', async () => {
    const tenantId = 'acme';
    const first = await queryCampaigns(clickhouse.client, {
      tenantId,
      fromMs: Date.UTC(2000, 0, 1),
      toMs: Date.UTC(2000, 0, 1, 23, 59, 59, 999),
    });
    expect(first.map((row) => row.entries)).toEqual([1]);
    const last = await queryCampaigns(clickhouse.client, {
      tenantId,
      fromMs: Date.UTC(2099, 11, 31),
      toMs: Date.UTC(2099, 11, 31, 23, 59, 59, 999),
    });
    expect(last.map((row) => row.entries)).toEqual([1]);
    const whole = await queryCampaigns(clickhouse.client, {
      tenantId,
      fromMs: Date.UTC(2000, 0, 1),
      toMs: Date.UTC(2099, 11, 31, 23, 59, 59, 999),
    });
    expect(whole.map((row) => row.entries)).toEqual([2]);
    const days = await queryTimeseries(clickhouse.client, {
      tenantId,
      metric: 'entries',
      interval: 'day',
      tz: 'UTC',
      fromMs: Date.UTC(2099, 11, 30),
      toMs: Date.UTC(2099, 11, 31, 23, 59, 59, 999),
    });
    expect(days).toEqual([
      { start: '2099-12-30T00:00:00+00:00', value: 0 },
      { start: '2099-12-31T00:00:00+00:00', value: 1 },
    ]);
  });

  it('a range outside the window is a 400 that names the parameter and the window, not an internal variable', async () => {
    const response = await app.inject({
      url: '/v1/metrics/campaigns?from=2150-06-01T00:00:00Z&to=2150-06-02T00:00:00Z',
      headers: bearer('acme'),
    });
    expect(response.statusCode).toBe(400);
    const { error } = response.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toBe(`query parameter from: "2150-06-01T00:00:00Z" is outside the supported range ${WINDOW}`);
    expect(error.message).not.toContain('fromMs');
  });

  it('the reporting layer refuses instants outside the window in the same words', async () => {
    await expect(
      queryCampaigns(clickhouse.client, { tenantId: 'acme', fromMs: Date.UTC(1999, 0, 1), toMs: Date.UTC(2000, 0, 2) }),
    ).rejects.toThrow(`from (1999-01-01T00:00:00.000Z) is outside the supported range ${WINDOW}`);
  });
});
