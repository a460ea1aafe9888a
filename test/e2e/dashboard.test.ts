import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../services/api/app.js';
import { signToken } from '../../services/api/auth/tokens.js';
import { DownloadService } from '../../services/downloads/index.js';
import { Readiness } from '../../services/platform/health.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { createSimulator } from '../../services/producer/simulator.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { TEST_SECRET } from '../support/api.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { ROOT } from '../support/cli.js';
import { openTestClickHouse } from '../support/clickhouse.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(ROOT, 'test-results/dashboard.png');
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The page in a real browser (Debian's chromium driven by playwright-core) against the real engine. */
describe('the Assignments and Sending page', () => {
  let clickhouse: ClickHouseHandle;
  let downloads: DownloadService;
  let app: FastifyInstance;
  let browser: Browser;
  let url: string;
  const token = signToken(TEST_SECRET, { tenantId: 'acme', userId: 'e2e' }, 3_600_000);
  const logger = createLogger('silent');

  beforeAll(async () => {
    expect(fs.existsSync(CHROMIUM), 'Debian chromium is installed by `make test` (scripts/require-tools.sh)').toBe(true);
    const opened = await openTestClickHouse('dashboard');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, logger);
    const now = Date.now();
    const events = createSimulator({ seed: 3, tenants: 1, campaigns: 6, startMs: now - 6 * 86_400_000, spreadMs: 6 * 86_400_000 - 60_000 })
      .take(30_000)
      .map((event) => ({ ...event, tenantId: 'acme' }));
    await insertEvents(clickhouse.client, events);
    downloads = DownloadService.fromConfig(opened.config, clickhouse.client, logger);
    await downloads.start();
    app = await buildApp({
      config: opened.config,
      logger,
      clickhouse: clickhouse.client,
      readiness: new Readiness(),
      registry: new Registry(),
      jwtSecret: TEST_SECRET,
      downloads,
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await downloads?.stop();
    await clickhouse?.close();
  });

  const api = async (pathAndQuery: string) => {
    const response = await fetch(`${url}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return response.json();
  };
  const count = (text: string | null | undefined) => Number((text ?? '').replace(/[^\d]/g, ''));

  it('with a token: choose a range, see the API’s counts, queue a download and see it become ready', async () => {
    // A zone with a half-hour offset, so browser-local ranges are really converted.
    const context = await browser.newContext({
      timezoneId: 'Asia/Kolkata',
      locale: 'en-IN',
      viewport: { width: 1280, height: 1800 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('requestfailed', (request) => problems.push(`${request.url()} ${request.failure()?.errorText}`));

    await page.goto(`${url}/#token=${token}`);
    await page.waitForSelector('body[data-loaded]');
    expect(page.url()).not.toContain(token); // the token leaves the address bar
    await expect(page.locator('#tz-name').textContent()).resolves.toMatch(/Asia\/(Kolkata|Calcutta) \(UTC\+05:30\)/);

    const day = (offset: number) => {
      const date = new Date(Date.now() - offset * 86_400_000 + 5.5 * 3_600_000); // Kolkata wall clock
      return date.toISOString().slice(0, 10);
    };
    await page.fill('#from', `${day(4)}T09:30:15`);
    await page.fill('#to', `${day(1)}T18:45:30`);
    await page.click('#apply');
    await page.waitForFunction(
      (from) => document.body.dataset.loaded?.startsWith(from),
      new Date(`${day(4)}T09:30:15+05:30`).toISOString(),
    );
    const [from, to] = (await page.evaluate(() => document.body.dataset.loaded!)).split('|') as [string, string];
    expect(from).toBe(new Date(`${day(4)}T09:30:15+05:30`).toISOString());
    expect(to).toBe(new Date(`${day(1)}T18:45:30.999+05:30`).toISOString());

    const query = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const campaigns = (await api(`/v1/metrics/campaigns?${query}`)) as {
      rows: { playbookId: string; campaignId: string; entries: number; exits: number }[];
    };
    const outreach = (await api(`/v1/metrics/outreach?${query}`)) as { sms: Record<string, number>; email: Record<string, number> };
    expect(campaigns.rows.length).toBeGreaterThan(0);
    const shown = await page.$$eval('#campaigns tbody tr', (rows) =>
      rows.map((row) => ({
        key: `${(row as HTMLElement).dataset.playbookId}/${(row as HTMLElement).dataset.campaignId}`,
        entries: row.querySelector('.entries')?.textContent ?? '',
        exits: row.querySelector('.exits')?.textContent ?? '',
      })),
    );
    expect(shown.map((row) => [row.key, count(row.entries), count(row.exits)])).toEqual(
      campaigns.rows.map((row) => [`${row.playbookId}/${row.campaignId}`, row.entries, row.exits]),
    );
    for (const [table, counts] of [
      ['#sms', outreach.sms],
      ['#email', outreach.email],
    ] as const) {
      const statuses = await page.$$eval(`${table} tbody tr`, (rows) =>
        rows.map((row) => [(row as HTMLElement).dataset.status!, row.querySelector('.count')?.textContent ?? '']),
      );
      expect(Object.fromEntries(statuses.map(([status, text]) => [status, count(text)]))).toEqual(counts);
    }
    await expect(page.locator('#email tbody tr[data-status="spamReported"] td.help').textContent()).resolves.toContain('reported as spam');
    await page.waitForFunction(() => document.querySelector('#chart canvas') !== null);

    // Queue the entries of the first campaign and wait until the list shows it ready.
    const first = campaigns.rows[0]!;
    await page
      .locator('#campaigns tbody tr')
      .first()
      .getByRole('button', { name: /^Queue entries of / })
      .click();
    await page.waitForSelector('#downloads tbody tr[data-status="ready"]', { timeout: 60_000 });
    const saving = page.waitForEvent('download');
    await page.locator('#downloads tbody tr[data-status="ready"]').first().getByRole('button', { name: 'Save CSV' }).click();
    const file = await (await saving).path();
    const lines = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/);
    expect(lines.length - 1).toBe(first.entries);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // An accessibility check of the whole page (axe-core): no serious or critical violations.
    await page.evaluate(axeSource); // through the debugging protocol, so the page's CSP still applies to the page itself
    const violations = (await page.evaluate(async () => {
      const result = await (
        window as unknown as {
          axe: { run: (context: Document) => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> };
        }
      ).axe.run(document);
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    })) as { id: string; impact: string }[];
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('without a token shows the sign-in form and no data; a pasted token signs in; keyboard reaches the controls', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    await expect(page.locator('#sign-in').isVisible()).resolves.toBe(true);
    await expect(page.locator('#main').isVisible()).resolves.toBe(false);
    await page.fill('#token-input', 'not a token');
    await page.press('#token-input', 'Tab');
    await page.keyboard.press('Enter');
    await expect(page.locator('#sign-in-error').textContent()).resolves.toContain('does not look like an API token');
    await page.fill('#token-input', token);
    await page.focus('#token-input');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-loaded]');
    await expect(page.locator('#who').textContent()).resolves.toContain('Tenant acme');
    await page.close();
  });
});
