import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { type Browser, type Page } from 'playwright-core';
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
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const BADGE: Record<string, string> = { ok: 'OK', warning: 'Warning', critical: 'Critical', insufficient_volume: 'Too few to judge' };

interface JudgedRate {
  numerator: number;
  denominator: number;
  value: number | null;
  health: string | null;
}
interface Figure {
  metric: string;
  value: string;
  health: string;
  change: string;
  trend: boolean;
  top: number;
  bottom: number;
}

/** The page's rate text ("0.27 %", "0.0041 %") is the API's value, rounded to the digits shown. */
function expectPercent(text: string, fraction: number | null, metric: string) {
  const match = /^([\d,]+)(?:\.(\d+))? %$/.exec(text.trim());
  expect(match, `${metric}: a percentage: ${text}`).not.toBeNull();
  const digits = match![2]?.length ?? 0;
  const shown = Number(`${match![1]!.replace(/,/g, '')}.${match![2] ?? '0'}`);
  expect(Math.abs(shown - (fraction ?? 0) * 100), metric).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-9);
}

/** The first screen: the summary strip, the view in the address, narrow screens. A healthy sender with one incident (spam complaints). */
describe('the page at a glance', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;
  let browser: Browser;
  let url: string;
  const token = signToken(TEST_SECRET, { tenantId: 'acme', userId: 'e2e' }, 3_600_000);

  beforeAll(async () => {
    const logger = createLogger('silent');
    const opened = await openTestClickHouse('dashboard-glance');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, logger);
    const now = Date.now();
    const events = createSimulator({
      seed: 1,
      tenants: 1,
      campaigns: 6,
      startMs: now - 3 * DAY,
      spreadMs: 3 * DAY - 60_000,
      incident: { kind: 'spam', afterEvents: 5000 },
    })
      .take(20_000)
      .map((event) => ({ ...event, tenantId: 'acme' }));
    await insertEvents(clickhouse.client, events);
    app = await buildApp({
      config: opened.config,
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

  const api = async (pathAndQuery: string) => {
    const response = await fetch(`${url}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return response.json();
  };

  const axe = async (page: Page) => {
    await page.evaluate(axeSource);
    const violations = (await page.evaluate(async () => {
      const result = await (
        window as unknown as { axe: { run: (context: Document) => Promise<{ violations: { id: string; impact: string }[] }> } }
      ).axe.run(document);
      return result.violations.map((v) => ({ id: v.id, impact: v.impact }));
    })) as { id: string; impact: string }[];
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
  };

  const open = async (width: number, height: number, address = `${url}/#token=${token}`) => {
    const page = await browser.newPage({ viewport: { width, height } });
    await page.goto(address);
    await page.waitForSelector('body[data-loaded]');
    return page;
  };

  const figures = (page: Page) =>
    page.$$eval('#summary .figure', (buttons) =>
      buttons.map((button) => {
        const box = button.getBoundingClientRect();
        const text = (selector: string) => button.querySelector(selector)?.textContent?.trim() ?? '';
        return {
          metric: (button as HTMLElement).dataset.metric!,
          value: text('.figure-value'),
          health: text('.figure-health'),
          change: text('.figure-change'),
          trend: button.querySelector('.figure-trend svg') !== null,
          top: box.top,
          bottom: box.bottom,
        };
      }),
    ) as Promise<Figure[]>;

  it('at 1280×800 shows every summary figure without scrolling, each equal to the API’s answer for the range, with health, change and trend', async () => {
    const page = await open(1280, 800);
    const [from, to] = (await page.evaluate(() => document.body.dataset.loaded!)).split('|') as [string, string];
    const view = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const outreach = (await api(`/v1/metrics/outreach?${view}`)) as Record<'sms' | 'email', Record<string, number>>;
    const rates = (await api(`/v1/metrics/rates?${view}`)) as Record<'sms' | 'email', Record<string, JudgedRate>>;
    const campaigns = (await api(`/v1/metrics/campaigns?${view}`)) as { rows: { entries: number; exits: number }[]; truncated?: true };
    expect(campaigns.truncated).toBeUndefined(); // six campaigns: the table's sum is the total here
    const total = (key: 'entries' | 'exits') => campaigns.rows.reduce((sum, row) => sum + row[key], 0);

    const shown = await figures(page);
    expect(shown.map((figure) => figure.metric)).toEqual([
      'entries',
      'exits',
      'sms.sent',
      'sms.failed',
      'email.sent',
      'email.delivered',
      'email.bounceRate',
      'email.blockRate',
      'email.spamComplaintRate',
      'sms.failureRate',
    ]);
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    const count = (text: string) => Number(text.replace(/[^\d]/g, ''));
    for (const figure of shown) {
      expect(figure.top, figure.metric).toBeGreaterThanOrEqual(0);
      expect(figure.bottom, figure.metric).toBeLessThanOrEqual(800);
      expect(figure.trend, figure.metric).toBe(true);
      expect(figure.change, figure.metric).not.toBe('');
      const [channel, key] = figure.metric.split('.') as ['sms' | 'email', string];
      if (figure.metric === 'entries' || figure.metric === 'exits') expect(count(figure.value), figure.metric).toBe(total(figure.metric));
      else if (key.endsWith('Rate')) {
        const rate = rates[channel][key]!;
        expectPercent(figure.value, rate.value, figure.metric);
        expect(figure.health, figure.metric).toBe(BADGE[rate.health!]);
      } else expect(count(figure.value), figure.metric).toBe(outreach[channel][key]);
    }
    // The incident shows: spam complaints critical, the other rates of this healthy sender OK.
    expect(shown.find((figure) => figure.metric === 'email.spamComplaintRate')!.health).toBe('Critical');
    expect(shown.find((figure) => figure.metric === 'email.bounceRate')!.health).toBe('OK');
    // Active alerts near the top.
    const alerts = await page.locator('#alerts').boundingBox();
    expect(alerts!.y).toBeLessThan(800);

    // Clicking a figure opens its detail and charts it.
    await page.click('#summary .figure[data-metric="email.bounceRate"]');
    await page.waitForSelector('#chart[data-metric="email.bounceRate"]');
    expect(await page.locator('#metric').inputValue()).toBe('email.bounceRate');
    expect(await page.locator('#email-rates tr[data-rate="email.bounceRate"]').isVisible()).toBe(true);
    expect(new URL(page.url()).searchParams.get('metric')).toBe('email.bounceRate');
    await axe(page);
    await page.close();
  });

  it('at 390 px wide scrolls nothing sideways but the tables, and the strip and the alerts read', async () => {
    const page = await open(390, 844);
    const sideways = await page.evaluate(() => {
      const scrolling = [...document.querySelectorAll<HTMLElement>('main *')].filter((element) => {
        const style = getComputedStyle(element);
        return element.scrollWidth > element.clientWidth + 1 && (style.overflowX === 'auto' || style.overflowX === 'scroll');
      });
      return {
        page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        others: scrolling.filter((element) => !element.classList.contains('table-wrap')).map((element) => element.id || element.className),
        tables: scrolling.filter((element) => element.classList.contains('table-wrap')).length,
      };
    });
    expect(sideways.page).toBe(0);
    expect(sideways.others).toEqual([]);
    for (const figure of await figures(page)) {
      const box = await page.locator(`#summary .figure[data-metric="${figure.metric}"]`).boundingBox();
      expect(box!.x, figure.metric).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width, figure.metric).toBeLessThanOrEqual(390);
    }
    const alerts = await page.locator('#alerts').boundingBox();
    expect(alerts!.x + alerts!.width).toBeLessThanOrEqual(390);
    await axe(page);
    await page.close();
  });

  it('opens a copied address on the same view: range, filters, chart metric and time zone; back and forward go through the views', async () => {
    const now = Date.now();
    const from = new Date(now - 2 * DAY).toISOString();
    const to = new Date(now - DAY).toISOString();
    const first = await open(1280, 800);
    await first.locator('#metric').selectOption('email.spamComplaintRate');
    await first.waitForSelector('#chart[data-metric="email.spamComplaintRate"]');
    const copied = new URL(first.url());
    expect(copied.searchParams.get('metric')).toBe('email.spamComplaintRate');
    await first.close();

    // A colleague's copy, with a range, a campaign and another time zone.
    copied.searchParams.set('from', from);
    copied.searchParams.set('to', to);
    copied.searchParams.set('campaignId', 'cm-2');
    copied.searchParams.set('tz', 'Asia/Kolkata');
    copied.hash = `token=${token}`;
    const page = await open(1280, 800, copied.toString());
    const timeseries: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/v1/metrics/timeseries')) timeseries.push(request.url());
    });
    expect(await page.locator('#metric').inputValue()).toBe('email.spamComplaintRate');
    expect(await page.locator('#chart').getAttribute('data-metric')).toBe('email.spamComplaintRate');
    expect(await page.locator('#view-filter').isVisible()).toBe(true);
    expect(await page.locator('#chart-zone').textContent()).toContain('Asia/Kolkata');
    expect(await page.evaluate(() => document.body.dataset.loaded)).toBe(`${from}|${to}`);
    const restored = new URL(page.url()).searchParams;
    expect([restored.get('from'), restored.get('to'), restored.get('campaignId'), restored.get('tz')]).toEqual([
      from,
      to,
      'cm-2',
      'Asia/Kolkata',
    ]);
    // The summary follows the link's campaign: its sent emails are that campaign's.
    const outreach = (await api(`/v1/metrics/outreach?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&campaignId=cm-2`)) as {
      email: { sent: number };
    };
    expect(
      Number((await page.locator('#summary .figure[data-metric="email.sent"] .figure-value').textContent())!.replace(/[^\d]/g, '')),
    ).toBe(outreach.email.sent);

    // A new view (another metric), then back: the link's view again; forward: the new one.
    await page.locator('#metric').selectOption('entries');
    await page.waitForSelector('#chart[data-metric="entries"]');
    expect(timeseries.some((request) => new URL(request).searchParams.get('tz') === 'Asia/Kolkata')).toBe(true);
    const loads = Number(await page.evaluate(() => document.body.dataset.viewLoads));
    await page.goBack();
    await page.waitForFunction((before) => Number(document.body.dataset.viewLoads) > before, loads);
    expect(await page.locator('#metric').inputValue()).toBe('email.spamComplaintRate');
    await page.waitForSelector('#chart[data-metric="email.spamComplaintRate"]');
    await page.goForward();
    await page.waitForSelector('#chart[data-metric="entries"]');
    expect(await page.locator('#metric').inputValue()).toBe('entries');
    await page.close();
  });
});
