import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { buildApp } from '../../services/api/app.js';
import { DownloadService } from '../../services/downloads/index.js';
import { signToken } from '../../services/api/auth/tokens.js';
import { Readiness } from '../../services/platform/health.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { createSimulator } from '../../services/producer/simulator.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { TEST_SECRET } from '../support/api.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { ROOT } from '../support/cli.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { ownDownloadTopic } from '../support/downloads.js';
import type { Config } from '../../services/platform/config.js';
import { AlertEvaluator, AlertStore, alertTopic } from '../../services/alerts/index.js';
import { createKafka } from '../../services/platform/kafka.js';
import { deleteTopics } from '../support/kafka.js';
import { waitFor } from '../support/wait-for.js';

const ZONE = 'Asia/Kolkata';
const DAY = 86_400_000;
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core on the page as it is: no serious or critical violations. */
async function axe(page: Page) {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(async () => {
    const result = await (
      window as unknown as { axe: { run: (context: Document) => Promise<{ violations: { id: string; impact: string }[] }> } }
    ).axe.run(document);
    return result.violations.map((v) => ({ id: v.id, impact: v.impact }));
  })) as { id: string; impact: string }[];
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
}

interface CampaignRow {
  playbookId: string;
  playbookName: string;
  campaignId: string;
  campaignName: string;
  entries: number;
  exits: number;
}
interface JudgedRate {
  numerator: number;
  denominator: number;
  value: number | null;
}
/** The body of an alert notification, as the evaluator writes it (the fields read here). */
interface Notification {
  rule: { id: string };
  scope: { playbookId?: string; campaignId?: string };
  rate: { id: string; numerator: number; denominator: number; value: number | null };
  window: { length: string; from: string; to: string };
  dashboard: string;
}

/** Wall-clock yyyy-mm-ddThh:mm:ss in Kolkata (the inputs' format in the test's browser zone). */
const wall = (ms: number) => new Date(ms + 5.5 * 3_600_000).toISOString().slice(0, 19);
/** Midnight six days before today, Kolkata: the start of the page's default range (the last 7 days). */
const defaultFrom = () => new Date(`${wall(Date.now() - 6 * DAY).slice(0, 10)}T00:00:00+05:30`).toISOString();
const count = (text: string | null | undefined) => Number((text ?? '').replace(/[^\d]/g, ''));
/** "251 of 4,124 sent" → [251, 4124] */
const partsOf = (text: string) => {
  const match = /([\d,]+) of ([\d,]+)/.exec(text);
  expect(match, `parts: ${text}`).not.toBeNull();
  return [Number(match![1]!.replace(/,/g, '')), Number(match![2]!.replace(/,/g, ''))];
};

/**
 * The page opened from an alert notification's link (the real evaluator's link, with the
 * alert's window and scope in the query string), and from links that are broken or hostile.
 */
describe('the page opened from a link', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;
  let downloads: DownloadService;
  let browser: Browser;
  let url: string;
  const token = signToken(TEST_SECRET, { tenantId: 'acme', userId: 'e2e' }, 3_600_000);
  const logger = createLogger('silent');
  /** The notification of a campaign-scoped rule that went critical. */
  let alert: Notification;

  beforeAll(async () => {
    const opened = await openTestClickHouse('dashboard-links');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, logger);
    const now = Date.now();
    const events = createSimulator({ seed: 5, tenants: 1, campaigns: 4, startMs: now - 3 * DAY, spreadMs: 3 * DAY - 60_000 })
      .take(8_000)
      .map((event) => ({ ...event, tenantId: 'acme' }));
    await insertEvents(clickhouse.client, events);
    const config: Config = {
      ...opened.config,
      api: { ...opened.config.api, freshnessStaleAfterMs: 3_600_000 },
      alerts: { ...opened.config.alerts, allowPrivateWebhooks: true },
    };
    downloads = DownloadService.fromConfig(ownDownloadTopic(opened.config, 'dashboard-links'), clickhouse.client, logger);
    await downloads.start();
    app = await buildApp({
      config,
      logger,
      clickhouse: clickhouse.client,
      readiness: new Readiness(),
      registry: new Registry(),
      jwtSecret: TEST_SECRET,
      downloads,
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    alert = await campaignAlert({ ...config, alerts: { ...config.alerts, publicUrl: `${url}/` } }, now);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await downloads?.stop();
    await clickhouse?.close();
  });

  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(`${url}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  };

  /**
   * A rule on the bounce rate of one campaign with lines low enough to go critical, judged by the
   * real evaluator (joined to its Kafka group); answers the body of its notification.
   */
  async function campaignAlert(config: Config, now: number): Promise<Notification> {
    const week = `from=${encodeURIComponent(new Date(now - 7 * DAY).toISOString())}&to=${encodeURIComponent(new Date(now).toISOString())}`;
    const { rows } = await api<{ rows: CampaignRow[] }>(`/v1/metrics/campaigns?${week}`);
    const { playbookId, campaignId } = rows[0]!;
    const put = await fetch(`${url}/v1/alerts/rules`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        rules: [
          {
            id: 'bounce-campaign',
            rate: 'email.bounceRate',
            scope: { playbookId, campaignId },
            window: '24h',
            warning: 0.000001,
            critical: 0.000002,
            minimumVolume: 1,
          },
        ],
      }),
    });
    expect(put.status).toBe(200);
    const stamp = Date.now();
    const evaluatorConfig: Config = {
      ...config,
      topicPrefix: `dashboard-links-${stamp}.`,
      alerts: { ...config.alerts, groupId: `dashboard-links-${stamp}`, evaluateEveryMs: 1000 },
    };
    const kafka = createKafka(evaluatorConfig, logger, 'dashboard-links-test');
    const evaluator = new AlertEvaluator({ config: evaluatorConfig, kafka, clickhouse: clickhouse.client, logger });
    const store = new AlertStore(clickhouse.client);
    try {
      await evaluator.start();
      const event = await waitFor('the evaluator to record the campaign rule going critical', async () =>
        (await store.history('acme', now - DAY, Date.now())).find((e) => e.ruleId === 'bounce-campaign' && e.toState === 'critical'),
      );
      return JSON.parse(event.payload) as Notification;
    } finally {
      await evaluator.stop();
      await deleteTopics(kafka, [alertTopic(evaluatorConfig)]);
    }
  }

  /** A page in Kolkata (a half-hour offset) that records script errors. */
  async function open(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext({ timezoneId: ZONE, locale: 'en-IN', viewport: { width: 1280, height: 1600 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    return { context, page, problems };
  }

  const loaded = async (page: Page) => {
    await page.waitForSelector('body[data-loaded]');
    return (await page.evaluate(() => document.body.dataset.loaded!)).split('|') as [string, string];
  };

  it("opens an alert notification's window and campaign, to the millisecond, and shows the alert's numbers", async () => {
    const link = new URL(alert.dashboard);
    const { from, to } = alert.window;
    const { playbookId, campaignId } = alert.scope;
    expect(playbookId && campaignId).toBeTruthy();
    // What the evaluator puts in the link: the window it judged and the rule's scope.
    expect(Object.fromEntries(link.searchParams)).toEqual({ from, to, playbookId, campaignId });
    expect(Date.parse(to) - Date.parse(from)).toBe(DAY - 1);

    const { context, page, problems } = await open();
    await page.goto(`${alert.dashboard}#token=${token}`);
    // Exactly the alert's window (not rounded to seconds), with the campaign filter.
    expect(await loaded(page)).toEqual([from, to]);
    expect(new URL(page.url()).searchParams.get('campaignId')).toBe(campaignId); // the link stays shareable
    expect(page.url()).not.toContain(token);
    // The inputs show it to the second (an input leaves out seconds that are 0).
    const seconds = (value: string) => (value.length === 16 ? `${value}:00` : value);
    expect(seconds(await page.locator('#from').inputValue())).toBe(wall(Date.parse(from)));
    expect(seconds(await page.locator('#to').inputValue())).toBe(wall(Date.parse(to)));

    const query = new URLSearchParams({ from, to, playbookId: playbookId!, campaignId: campaignId! }).toString();
    const campaigns = await api<{ rows: CampaignRow[] }>(`/v1/metrics/campaigns?${query}`);
    expect(campaigns.rows.map((row) => row.campaignId)).toEqual([campaignId]);
    const shown = await page.$$eval('#campaigns tbody tr', (rows) =>
      rows.map((row) => [
        (row as HTMLElement).dataset.campaignId,
        row.querySelector('.entries')?.textContent ?? '',
        row.querySelector('.exits')?.textContent ?? '',
      ]),
    );
    expect(shown.map(([id, entries, exits]) => [id, count(entries), count(exits)])).toEqual(
      campaigns.rows.map((row) => [row.campaignId, row.entries, row.exits]),
    );
    const outreach = await api<{ email: Record<string, number> }>(`/v1/metrics/outreach?${query}`);
    const emails = await page.$$eval('#email tbody tr', (rows) =>
      rows.map((row) => [(row as HTMLElement).dataset.status!, row.querySelector('.count')?.textContent ?? '']),
    );
    expect(Object.fromEntries(emails.map(([status, text]) => [status, count(text)]))).toEqual(outreach.email);

    // The rate the alert judged, with the same parts as in the notification.
    const rates = await api<{ email: Record<string, JudgedRate> }>(`/v1/metrics/rates?${query}`);
    expect([rates.email.bounceRate!.numerator, rates.email.bounceRate!.denominator]).toEqual([
      alert.rate.numerator,
      alert.rate.denominator,
    ]);
    const bounce = await page.locator('#email-rates tr[data-rate="email.bounceRate"] .value .sub').textContent();
    expect(partsOf(bounce!)).toEqual([alert.rate.numerator, alert.rate.denominator]);

    // The filter is said in words, and can be dropped.
    const filter = page.locator('#view-filter');
    await expect(filter.isVisible()).resolves.toBe(true);
    await expect(filter.textContent()).resolves.toContain(
      `Campaign ${campaigns.rows[0]!.campaignName} (${campaigns.rows[0]!.playbookName})`,
    );
    await expect(page.locator('#view-note').isVisible()).resolves.toBe(false);
    await axe(page);
    await page.screenshot({ path: path.join(ROOT, 'test-results/dashboard-link.png') });

    // The per-campaign table's download is of the table as on show: the alert's window and campaign.
    await page.locator('#outreach-campaigns-card').getByRole('button', { name: 'Queue this table for download' }).click();
    await page.waitForSelector('#downloads tbody tr[data-export="outreach-campaigns"]');
    const { downloads: queued } = await api<{ downloads: { export: string; from: string; to: string; filters: object }[] }>(
      '/v1/downloads',
    );
    expect(queued.map((job) => [job.export, job.from, job.to, job.filters])).toEqual([
      ['outreach-campaigns', from, to, { playbookId, campaignId }],
    ]);

    // Another range keeps the campaign, and the address follows the view, with the chart's metric,
    // interval and time zone: a new history entry, so that back returns to the link's view.
    const historyLength = await page.evaluate(() => history.length);
    await page.click('[data-preset="7d"]');
    await page.waitForFunction((start) => document.body.dataset.loaded?.startsWith(start), defaultFrom());
    const [weekFrom, weekTo] = await loaded(page);
    // The browser's name of the zone (Chromium calls Asia/Kolkata Asia/Calcutta).
    const chart = { metric: 'entries', interval: 'day', tz: await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone) };
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ from: weekFrom, to: weekTo, playbookId, campaignId, ...chart });
    await expect(page.evaluate(() => history.length)).resolves.toBe(historyLength + 1);
    await expect(page.locator('#campaigns tbody tr').count()).resolves.toBe(1);

    // Every campaign again.
    await page.getByRole('button', { name: 'Show all campaigns' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#campaigns tbody tr').length > 1);
    await page.waitForSelector('body[data-loaded]');
    await expect(filter.isVisible()).resolves.toBe(false);
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ from: weekFrom, to: weekTo, ...chart });
    const all = await api<{ rows: CampaignRow[] }>(
      `/v1/metrics/campaigns?from=${encodeURIComponent(weekFrom)}&to=${encodeURIComponent(weekTo)}`,
    );
    await expect(page.locator('#campaigns tbody tr').count()).resolves.toBe(all.rows.length);

    // A reload opens the same view.
    await page.reload();
    expect(await loaded(page)).toEqual([weekFrom, weekTo]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('falls back to the last 7 days with a note when the link is malformed, without a script error', async () => {
    const to = new Date(Date.now() - DAY).toISOString();
    const from = new Date(Date.now() - 2 * DAY).toISOString();
    const cases: [string, Record<string, string>, RegExp][] = [
      ['not a date', { from: 'yesterday', to }, /start \(from\) is not a date and time/],
      ['no offset', { from: '2026-01-05T10:00:00', to }, /start \(from\) is not a date and time/],
      [
        'not a real day (Date.parse would take 30 February as 2 March)',
        { from: '2026-02-30T00:00:00Z', to },
        /start \(from\) is not a date and time/,
      ],
      ['beyond milliseconds', { from, to: to.replace('Z', '123Z') }, /end \(to\) is not a date and time/],
      ['outside the supported years', { from: '1999-12-31T23:59:59.999Z', to }, /start \(from\) is not a date and time/],
      ['the end only', { to }, /has an end \(to\) but no start \(from\)/],
      ['start after end', { from: to, to: from }, /starts after it ends/],
      ['markup', { from: '<script>window.__hacked=1</script>', to }, /start \(from\) is not a date and time/],
    ];
    const { context, page, problems } = await open();
    for (const [what, params, note] of cases) {
      await page.goto(`${url}/?${new URLSearchParams(params).toString()}#token=${token}`);
      const [shownFrom] = await loaded(page);
      expect(shownFrom, what).toBe(defaultFrom());
      const text = (await page.locator('#view-note').textContent())!;
      await expect(page.locator('#view-note').isVisible(), what).resolves.toBe(true);
      expect(text, what).toMatch(note);
      expect(text, what).toContain('the last 7 days');
      expect(text, what).not.toContain('<'); // never echoes what the link holds
      await expect(page.locator('#status').textContent(), what).resolves.toMatch(/^Showing /);
    }
    // A valid range with a broken filter: the range is kept, the filter dropped, with a note.
    await page.goto(`${url}/?${new URLSearchParams({ from, to, campaignId: 'x'.repeat(201) }).toString()}#token=${token}`);
    expect(await loaded(page)).toEqual([from, to]);
    await expect(page.locator('#view-note').textContent()).resolves.toMatch(
      /campaign \(campaignId\) is not a valid id; every campaign is shown/,
    );
    await expect(page.locator('#view-filter').isVisible()).resolves.toBe(false);
    await axe(page);
    await page.screenshot({ path: path.join(ROOT, 'test-results/dashboard-link-note.png') });
    expect(problems).toEqual([]);
    await expect(page.evaluate(() => (window as unknown as { __hacked?: number }).__hacked)).resolves.toBeUndefined();
    await context.close();
  });

  it('shows an id from the link as text, never as markup', async () => {
    const hostile = '<img src=x onerror="window.__hacked=1">';
    const to = new Date().toISOString();
    const from = new Date(Date.now() - DAY).toISOString();
    const { context, page, problems } = await open();
    await page.goto(`${url}/?${new URLSearchParams({ from, to, playbookId: hostile, campaignId: hostile }).toString()}#token=${token}`);
    expect(await loaded(page)).toEqual([from, to]);
    // The API was asked for that campaign (none has that id: empty tables), and the page says which filter it applied, as text.
    await expect(page.locator('#campaigns tbody').textContent()).resolves.toContain('No customer entered or exited');
    await expect(page.locator('#view-filter').textContent()).resolves.toContain(hostile);
    await expect(page.locator('#main img').count()).resolves.toBe(0);
    await expect(page.evaluate(() => (window as unknown as { __hacked?: number }).__hacked)).resolves.toBeUndefined();
    expect(problems).toEqual([]);
    await context.close();
  });
});
