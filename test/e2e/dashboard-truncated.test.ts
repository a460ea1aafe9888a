import type { FastifyInstance } from 'fastify';
import { type Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { buildApp } from '../../services/api/app.js';
import { signToken } from '../../services/api/auth/tokens.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { Readiness } from '../../services/platform/health.js';
import { createLogger } from '../../services/platform/logger.js';
import { createSimulator } from '../../services/producer/simulator.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { TEST_SECRET } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

const DAY = 86_400_000;

/** A per-campaign answer the API bounded (`truncated`) is shown as such: the page never passes part of a list off as all of it. */
describe('the page with per-campaign answers past API_MAX_ANSWER_ROWS', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;
  let browser: Browser;
  let url: string;
  const token = signToken(TEST_SECRET, { tenantId: 'acme', userId: 'e2e' }, 3_600_000);

  beforeAll(async () => {
    const logger = createLogger('silent');
    const opened = await openTestClickHouse('dashboard-truncated');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, logger);
    const now = Date.now();
    const events = createSimulator({ seed: 9, tenants: 1, campaigns: 6, startMs: now - 2 * DAY, spreadMs: 2 * DAY - 60_000 })
      .take(3_000)
      .map((event) => ({ ...event, tenantId: 'acme' }));
    await insertEvents(clickhouse.client, events);
    app = await buildApp({
      config: { ...opened.config, api: { ...opened.config.api, maxAnswerRows: 2 } },
      logger,
      clickhouse: clickhouse.client,
      readiness: new Readiness(),
      registry: new Registry(),
      jwtSecret: TEST_SECRET,
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await clickhouse?.close();
  });

  it('says the campaign tables show only the first rows', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/#token=${token}`);
    await page.waitForSelector('body[data-loaded]');
    expect(await page.locator('#campaigns tbody tr').count()).toBe(2);
    expect(await page.locator('#campaigns-truncated').isVisible()).toBe(true);
    expect(await page.locator('#campaigns-truncated').textContent()).toMatch(/^Showing the first 2 campaigns of more/);
    expect(await page.locator('#outreach-campaigns tbody tr').count()).toBe(2);
    expect(await page.locator('#outreach-campaigns-truncated').isVisible()).toBe(true);
    await page.close();
  });
});
