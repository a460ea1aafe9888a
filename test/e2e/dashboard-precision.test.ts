import type { FastifyInstance } from 'fastify';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { createSimulator } from '../../services/producer/simulator.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

const DAY = 86_400_000;
const QUARTER = 15 * 60_000;

/**
 * RAW_RETENTION_DAYS=2 and a range starting 4 days ago: the answers count from the start of the
 * first edge's 15-minute bucket and say so (`precision`), and the page says it above the figures;
 * a range after the cut-off shows no such note.
 */
describe('the page when a range starts before the raw-event retention cut-off', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;
  let browser: Browser;
  let url: string;
  const auth = bearer('acme');
  const token = auth.authorization.slice('Bearer '.length);

  beforeAll(async () => {
    const logger = createLogger('silent');
    const opened = await openTestClickHouse('dashboard-precision');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, logger);
    const now = Date.now();
    const events = createSimulator({ seed: 5, tenants: 1, campaigns: 4, startMs: now - 5 * DAY, spreadMs: 5 * DAY - 60_000 })
      .take(3_000)
      .map((event) => ({ ...event, tenantId: 'acme' }));
    await insertEvents(clickhouse.client, events);
    app = await buildTestApp({ ...opened.config, rawRetentionDays: 2 }, clickhouse.client);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await clickhouse?.close();
  });

  it('names the instants the counts really start and end, as the API does', async () => {
    const from = new Date(Math.floor((Date.now() - 4 * DAY) / QUARTER) * QUARTER + 7 * 60_000 + 123).toISOString();
    const to = new Date(Date.now() - 60_000).toISOString();
    const answer = (await (await fetch(`${url}/v1/metrics/outreach?from=${from}&to=${to}`, { headers: auth })).json()) as {
      precision: { edges: string; from: string; to: string };
    };
    expect(answer.precision.edges).toBe('15m');
    expect(Date.parse(answer.precision.from)).toBe(Date.parse(from) - 7 * 60_000 - 123);

    const page = await browser.newPage();
    await page.goto(`${url}/?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}#token=${token}`);
    await page.waitForSelector('body[data-loaded]');
    const note = page.locator('#precision');
    expect(await note.isVisible()).toBe(true);
    expect(await note.getAttribute('data-edges')).toBe('15m');
    const shownFrom = await page.evaluate((at) => {
      const date = new Date(at);
      return `${date.toLocaleDateString(undefined, { dateStyle: 'medium' })}, ${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}:00`;
    }, answer.precision.from);
    expect(await note.textContent()).toContain(`The counts are from ${shownFrom} to `);
    expect(await note.textContent()).toContain('whole 15-minute buckets');

    // A day: the previous period (the day before) starts before the cut-off, and the note says so of it alone.
    const day = new Date(Date.now() - DAY).toISOString();
    await page.goto(`${url}/?from=${encodeURIComponent(day)}&to=${encodeURIComponent(to)}#token=${token}`);
    await page.waitForSelector('body[data-loaded]');
    expect(await page.locator('#precision').textContent()).toMatch(/^The previous period’s counts are from .* whole 15-minute buckets\.$/);

    // 12 hours: the previous period (the 12 hours before) is after the cut-off too.
    const recent = new Date(Date.now() - DAY / 2).toISOString();
    await page.goto(`${url}/?from=${encodeURIComponent(recent)}&to=${encodeURIComponent(to)}#token=${token}`);
    await page.waitForSelector('body[data-loaded]');
    expect(await page.locator('#precision').isVisible()).toBe(false);
    await page.close();
  });
});
