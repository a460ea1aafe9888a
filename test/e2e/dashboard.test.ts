import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { type Browser, type Page, type Request, type Route } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
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
import { dateTime64Text } from '../../services/platform/clickhouse-values.js';
import { topicNames } from '../../services/events/topics.js';
import type { Config } from '../../services/platform/config.js';
import {
  AlertEvaluator,
  AlertStore,
  alertEventId,
  alertTopic,
  ruleFingerprint,
  type AlertRule,
  type AlertState,
} from '../../services/alerts/index.js';
import { createKafka } from '../../services/platform/kafka.js';
import { deleteTopics } from '../support/kafka.js';
import { waitFor } from '../support/wait-for.js';
import { ownDownloadTopic } from '../support/downloads.js';

const SCREENSHOT = path.join(ROOT, 'test-results/dashboard.png');
const SCREENSHOT_CURRENT = path.join(ROOT, 'test-results/dashboard-current.png');
const ZONE = 'Asia/Kolkata';

interface JudgedRate {
  numerator: number;
  denominator: number;
  value: number | null;
  health: 'ok' | 'warning' | 'critical' | 'insufficient_volume' | null;
}
interface Change {
  absolute: number | null;
  relative: number | null;
}
interface Freshness {
  countedThrough: string | null;
  lagEvents: number;
  lagSeconds: number | null;
  state: 'current' | 'behind' | 'no_consumer';
  reportedAt: string | null;
}
interface RuleView {
  id: string;
  rate: string;
  scope: { playbookId?: string; campaignId?: string };
  window: string;
  warning: number;
  critical: number;
  minimumVolume: number;
  webhookUrl: string | null;
  state: AlertState;
  since: string | null;
}
interface RulesAnswer {
  rules: RuleView[];
  defaults: boolean;
}
interface AlertEventView {
  id: string;
  ruleId: string;
  occurredAt: string;
  from: AlertState;
  to: AlertState;
  rate: { id: string; numerator: number; denominator: number; value: number | null };
  window: { length: string; from: string; to: string };
  scope: { playbookId?: string; campaignId?: string };
  notification: { status: string; attempts: number; lastError: string | null; nextAttemptAt: string | null; host: string | null };
}
/** The badge text the page shows for each health (text as well as colour). */
const BADGE: Record<string, string> = { ok: 'OK', warning: 'Warning', critical: 'Critical', insufficient_volume: 'Too few to judge' };
/** Wall-clock HH:MM:SS in the browser's zone of the test. */
const clock = (iso: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(
    new Date(iso),
  );
/** The page's rate text ("6.09 %", "0.0041 %") is the API's value, rounded to the digits shown. */
function expectPercent(text: string, fraction: number | null) {
  if (fraction === null) {
    expect(text).toMatch(/^–/);
    return;
  }
  const match = /^(−|-)?([\d,]+)(?:\.(\d+))? %$/.exec(text.trim());
  expect(match, `a percentage: ${text}`).not.toBeNull();
  const digits = match![3]?.length ?? 0;
  const shown = Number(`${match![2]!.replace(/,/g, '')}.${match![3] ?? '0'}`) * (match![1] ? -1 : 1);
  expect(Math.abs(shown - fraction * 100)).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-9);
  if (fraction !== 0) expect(shown).not.toBe(0); // a non-zero rate never reads 0
}
/** "251 of 4,124 sent" → [251, 4124] */
const partsOf = (text: string) => {
  const match = /([\d,]+) of ([\d,]+)/.exec(text);
  expect(match, `parts: ${text}`).not.toBeNull();
  return [Number(match![1]!.replace(/,/g, '')), Number(match![2]!.replace(/,/g, ''))];
};
/** How the page words a notification: "retrying, 3 attempts, last: HTTP 500". */
const NOTIFICATION_WORDS: Record<string, string> = {
  pending: 'pending',
  retrying: 'retrying',
  delivered: 'delivered',
  failed: 'failed',
  not_configured: 'not sent (the rule has no webhook)',
};
const notificationText = (n: AlertEventView['notification']) =>
  [
    NOTIFICATION_WORDS[n.status],
    ...(n.attempts > 0 ? [`${n.attempts} ${n.attempts === 1 ? 'attempt' : 'attempts'}`] : []),
    ...(n.lastError ? [`last: ${n.lastError}`] : []),
  ].join(', ');
const DAY = 86_400_000;
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The page in a real browser (Debian's chromium driven by playwright-core) against the real engine. */
describe('the Assignments and Sending page', () => {
  let clickhouse: ClickHouseHandle;
  let downloads: DownloadService;
  let app: FastifyInstance;
  let browser: Browser;
  let url: string;
  let config: Config;
  let receiver: http.Server;
  const token = signToken(TEST_SECRET, { tenantId: 'acme', userId: 'e2e' }, 3_600_000);
  const logger = createLogger('silent');
  /** The campaign the scoped alert rule watches. */
  let watched: { playbookId: string; campaignId: string; campaignName: string; playbookName: string };

  beforeAll(async () => {
    const opened = await openTestClickHouse('dashboard');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, logger);
    const now = Date.now();
    // A healthy sender with one incident: a campaign whose emails are reported as spam.
    const events = createSimulator({
      seed: 3,
      tenants: 1,
      campaigns: 6,
      startMs: now - 6 * 86_400_000,
      spreadMs: 6 * 86_400_000 - 60_000,
      incident: { kind: 'spam' },
    })
      .take(30_000)
      .map((event) => ({ ...event, tenantId: 'acme' }));
    await insertEvents(clickhouse.client, events);
    downloads = DownloadService.fromConfig(ownDownloadTopic(opened.config, 'dashboard'), clickhouse.client, logger);
    await downloads.start();
    // An hour before a silent ingest counts as gone, so the states below never depend on how fast the test runs.
    // Webhooks may go to this machine (the receiver below), as in development.
    config = {
      ...opened.config,
      api: { ...opened.config.api, freshnessStaleAfterMs: 3_600_000 },
      alerts: { ...opened.config.alerts, allowPrivateWebhooks: true },
    };
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
    await seedAlerts(now);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    receiver?.close();
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

  /**
   * Alerts of acme, through the API and the alert code: three rules (PUT /v1/alerts/rules); a
   * past episode of the campaign rule recorded as the evaluator records changes; then the real
   * evaluator (joined to its Kafka group) judges the simulator's last 24 hours — the spam
   * complaint rule goes critical, its webhook answers 500 and is retried; the block rule goes to
   * warning, without a webhook — and sends the episode's notifications (answered 200). Stopped
   * before the page is read, so nothing changes under the assertions.
   */
  async function seedAlerts(now: number) {
    receiver = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(request.url === '/ok' ? 200 : 500).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const week = `from=${encodeURIComponent(new Date(now - 7 * DAY).toISOString())}&to=${encodeURIComponent(new Date(now).toISOString())}`;
    const { rows } = (await api(`/v1/metrics/campaigns?${week}`)) as { rows: (typeof watched)[] };
    const { playbookId, campaignId, campaignName, playbookName } = rows[0]!;
    watched = { playbookId, campaignId, campaignName, playbookName };

    const put = await fetch(`${url}/v1/alerts/rules`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        webhookSecret: 'whsec_dashboard_0123456789abcdefghij',
        rules: [
          { id: 'spam-24h', rate: 'email.spamComplaintRate', window: '24h', webhookUrl: `${hook}/failing` },
          // A careful sender's lines: the simulator's healthy block rate (~0.4 %) is at warning against them.
          { id: 'block-24h', rate: 'email.blockRate', window: '24h', warning: 0.002, critical: 0.05 },
          { id: 'bounce-campaign-1h', rate: 'email.bounceRate', scope: { playbookId, campaignId }, window: '1h', webhookUrl: `${hook}/ok` },
        ],
      }),
    });
    expect(put.status).toBe(200);
    const saved = (await put.json()) as RulesAnswer;
    expect(saved.defaults).toBe(false);

    // What the evaluator will judge (the same exact queries): spam complaints critical, blocks between the rule's lines over 24 h.
    const day = (await api(
      `/v1/metrics/rates?from=${encodeURIComponent(new Date(now - DAY + 1).toISOString())}&to=${encodeURIComponent(new Date(now).toISOString())}`,
    )) as { email: Record<string, JudgedRate> };
    expect(day.email.spamComplaintRate!.health).toBe('critical');
    expect(day.email.blockRate!.value).toBeGreaterThanOrEqual(0.002);
    expect(day.email.blockRate!.value).toBeLessThan(0.05);

    // A past episode of the campaign rule (under its minimum volume in any hour now, so the evaluator leaves it ok).
    const stored = saved.rules.find((rule) => rule.id === 'bounce-campaign-1h')!;
    const rule: AlertRule = {
      id: stored.id,
      rate: stored.rate,
      scope: stored.scope,
      window: stored.window,
      warning: stored.warning,
      critical: stored.critical,
      minimumVolume: stored.minimumVolume,
    };
    const fingerprint = ruleFingerprint(rule);
    const store = new AlertStore(clickhouse.client);
    const episode: [AlertState, AlertState, number, number, number][] = [
      ['ok', 'warning', now - 3 * DAY, 3, 120],
      ['warning', 'critical', now - 3 * DAY + 2 * 3_600_000, 8, 140],
      ['critical', 'ok', now - 2 * DAY - 20 * 3_600_000, 1, 150],
    ];
    for (const [index, [before, after, at, numerator, denominator]] of episode.entries()) {
      const seq = index + 1;
      const id = alertEventId('acme', rule.id, fingerprint, seq);
      const window = { length: rule.window, from: new Date(at - 3_600_000 + 1).toISOString(), to: new Date(at).toISOString() };
      await store.recordChange(
        {
          tenantId: 'acme',
          ruleId: rule.id,
          ruleFingerprint: fingerprint,
          seq,
          id,
          fromState: before,
          toState: after,
          occurredAt: at,
          // The body the evaluator writes (services/alerts/evaluator.ts).
          payload: JSON.stringify({
            id,
            type: 'alert.state_changed',
            tenant: 'acme',
            rule: { id: rule.id, rate: rule.rate, window: rule.window, minimumVolume: rule.minimumVolume },
            scope: rule.scope,
            rate: { id: rule.rate, numerator, denominator, value: numerator / denominator },
            threshold: { warning: rule.warning, critical: rule.critical, source: 'test' },
            window,
            state: { before, after },
            occurredAt: new Date(at).toISOString(),
            dashboard: `${url}/`,
          }),
          webhookUrl: stored.webhookUrl!,
          status: 'pending',
          attempts: 0,
          lastError: '',
          nextAttemptAt: at,
        },
        at,
      );
    }

    const stamp = Date.now();
    const evaluatorConfig: Config = {
      ...config,
      topicPrefix: `dashboard-${stamp}.`,
      alerts: { ...config.alerts, groupId: `dashboard-alerts-${stamp}`, evaluateEveryMs: 1000, retryBaseMs: 100 },
    };
    const kafka = createKafka(evaluatorConfig, logger, 'dashboard-test');
    const evaluator = new AlertEvaluator({ config: evaluatorConfig, kafka, clickhouse: clickhouse.client, logger });
    try {
      await evaluator.start();
      await waitFor('the evaluator to record the changes and try the notifications', async () => {
        const events = await store.history('acme', now - 7 * DAY, Date.now());
        const spam = events.find((event) => event.ruleId === 'spam-24h');
        return (
          spam !== undefined &&
          spam.attempts >= 3 &&
          events.some((event) => event.ruleId === 'block-24h') &&
          events.filter((event) => event.ruleId === rule.id && event.status === 'delivered').length === episode.length
        );
      });
    } finally {
      await evaluator.stop();
      await deleteTopics(kafka, [alertTopic(evaluatorConfig)]);
    }
  }

  /** axe-core on the page as it is: no serious or critical violations. */
  const axe = async (page: Page) => {
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
  };

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

    // The change of each count against the previous period, as the API answers it.
    const compared = (await api(`/v1/metrics/outreach?${query}&compare=previous`)) as {
      previous: { from: string; to: string; sms: Record<string, number>; email: Record<string, number> };
      change: { sms: Record<string, Change>; email: Record<string, Change> };
    };
    // The previous period is the range of equal length just before; its counts are that range's own.
    expect(Date.parse(compared.previous.to)).toBe(Date.parse(from) - 1);
    const before = (await api(
      `/v1/metrics/outreach?from=${encodeURIComponent(compared.previous.from)}&to=${encodeURIComponent(compared.previous.to)}`,
    )) as { sms: Record<string, number>; email: Record<string, number> };
    expect({ sms: compared.previous.sms, email: compared.previous.email }).toEqual({ sms: before.sms, email: before.email });
    for (const channel of ['sms', 'email'] as const) {
      const changes = await page.$$eval(`#${channel} tbody tr`, (rows) =>
        rows.map((row) => ({
          status: (row as HTMLElement).dataset.status!,
          text: row.querySelector('.change .main')?.textContent ?? '',
          was: row.querySelector('.change .sub')?.textContent ?? '',
        })),
      );
      expect(changes.length).toBe(Object.keys(compared.change[channel]).length);
      for (const { status, text, was } of changes) {
        const change = compared.change[channel][status]!;
        expect(count(was), `${channel}.${status} previous`).toBe(compared.previous[channel][status]);
        if (change.absolute === 0) expect(text).toBe('no change');
        else {
          expect(text.startsWith(change.absolute! < 0 ? '−' : '+'), `${channel}.${status}: ${text}`).toBe(true);
          expect(count(text.split(' (')[0]), `${channel}.${status}: ${text}`).toBe(Math.abs(change.absolute!));
          if (change.relative === null) expect(text).toContain('(none before)');
          else expectPercent(/\((.*)\)/.exec(text)![1]!.replace(/^[+−]/, ''), Math.abs(change.relative));
        }
      }
    }

    // Rates next to the counts: value, parts, health badge and change equal the API's.
    const rates = (await api(`/v1/metrics/rates?${query}&compare=previous`)) as {
      sms: Record<string, JudgedRate>;
      email: Record<string, JudgedRate>;
      change: { sms: Record<string, Change>; email: Record<string, Change> };
      freshness: Freshness;
    };
    for (const channel of ['sms', 'email'] as const) {
      const shownRates = await page.$$eval(`#${channel}-rates tbody tr`, (rows) =>
        rows.map((row) => ({
          id: (row as HTMLElement).dataset.rate!,
          value: row.querySelector('.value .main')?.textContent ?? '',
          parts: row.querySelector('.value .sub')?.textContent ?? '',
          badge: row.querySelector('.badge')?.textContent ?? '',
          change: row.querySelector('.change .main')?.textContent ?? '',
        })),
      );
      expect(shownRates.map((row) => row.id).sort()).toEqual(
        Object.keys(rates[channel])
          .map((key) => `${channel}.${key}`)
          .sort(),
      );
      for (const row of shownRates) {
        const key = row.id.split('.')[1]!;
        const rate = rates[channel][key]!;
        expectPercent(row.value, rate.value);
        expect(partsOf(row.parts), row.id).toEqual([rate.numerator, rate.denominator]);
        expect(row.badge, row.id).toBe(rate.health === null ? 'no threshold' : BADGE[rate.health]);
        const change = rates.change[channel][key]!;
        if (change.absolute === null) expect(row.change).toBe('cannot compare');
        else if (change.absolute === 0) expect(row.change).toBe('no change');
        else {
          expect(row.change, row.id).toMatch(/ points$/);
          expectPercent(row.change.replace(' points', ' %').replace(/^[+−]/, ''), Math.abs(change.absolute));
          expect(row.change.startsWith(change.absolute < 0 ? '−' : '+'), row.change).toBe(true);
        }
      }
    }
    // The simulator's data has rates in more than one health.
    expect(new Set(Object.values(rates.email).map((rate) => rate.health)).size).toBeGreaterThan(1);

    // The per-campaign outreach table: the API's rows, counts, rates and badges, in its order.
    const perCampaign = (await api(`/v1/metrics/outreach/campaigns?${query}`)) as {
      rows: {
        playbookId: string | null;
        campaignId: string | null;
        sms: Record<string, number>;
        email: Record<string, number>;
        rates: { sms: Record<string, JudgedRate>; email: Record<string, JudgedRate> };
      }[];
    };
    expect(perCampaign.rows.length).toBeGreaterThan(1);
    const shownCampaigns = await page.$$eval('#outreach-campaigns tbody tr', (rows) =>
      rows.map((row) => ({
        key: `${(row as HTMLElement).dataset.playbookId}/${(row as HTMLElement).dataset.campaignId}`,
        names: [...row.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent ?? ''),
        smsSent: row.querySelector('.sms-sent')?.textContent ?? '',
        emailSent: row.querySelector('.email-sent')?.textContent ?? '',
        rates: [...row.querySelectorAll('td[data-rate]')].map((td) => ({
          id: (td as HTMLElement).dataset.rate!,
          value: td.querySelector('.main')?.textContent ?? '',
          parts: td.querySelector('.sub')?.textContent ?? '',
          badge: td.querySelector('.badge')?.textContent ?? null,
        })),
      })),
    );
    expect(shownCampaigns.map((row) => row.key)).toEqual(perCampaign.rows.map((row) => `${row.playbookId ?? ''}/${row.campaignId ?? ''}`));
    perCampaign.rows.forEach((expected, index) => {
      const shown = shownCampaigns[index]!;
      expect(count(shown.smsSent)).toBe(expected.sms.sent);
      expect(count(shown.emailSent)).toBe(expected.email.sent);
      if (expected.campaignId === null) expect(shown.names[1]).toBe('No campaign');
      expect(shown.rates.map((rate) => rate.id)).toEqual([
        'sms.failureRate',
        'email.deliveryRate',
        'email.bounceRate',
        'email.blockRate',
        'email.spamComplaintRate',
        'email.sendFailureRate',
      ]);
      for (const rate of shown.rates) {
        const [channel, key] = rate.id.split('.') as ['sms' | 'email', string];
        const answer = expected.rates[channel][key]!;
        expectPercent(rate.value, answer.value);
        expect(partsOf(rate.parts), `${shown.key} ${rate.id}`).toEqual([answer.numerator, answer.denominator]);
        expect(rate.badge, `${shown.key} ${rate.id}`).toBe(answer.health === null ? null : BADGE[answer.health]);
      }
    });
    expect(perCampaign.rows.at(-1)!.campaignId).toBeNull(); // the simulator sends some messages without a campaign: the last row

    // No ingest runs in this test: the API says no_consumer and the page says the counts may be out of date.
    expect(rates.freshness.state).toBe('no_consumer');
    expect(rates.freshness.reportedAt).toBeNull();
    await expect(page.locator('#freshness').getAttribute('data-state')).resolves.toBe('no_consumer');
    const stale = (await page.locator('#freshness').textContent())!;
    expect(stale).toContain('Counts may be out of date');
    expect(stale).toContain('ingest is not running');
    await expect(page.locator('#status').textContent()).resolves.toContain('Counts may be out of date: ingest is not running.');

    // The chart: counts per bucket as bars; a rate as a line, with the API's points in the table under it.
    await page.waitForFunction(() => document.querySelector('#chart canvas') !== null);
    await expect(page.locator('#chart').getAttribute('data-kind')).resolves.toBe('bars');
    await page.selectOption('#metric', 'email.bounceRate');
    await page.waitForSelector('#chart[data-metric="email.bounceRate"] canvas');
    await expect(page.locator('#chart').getAttribute('data-kind')).resolves.toBe('line');
    const tz = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    const series = (await api(`/v1/metrics/timeseries?${query}&metric=email.bounceRate&interval=day&tz=${encodeURIComponent(tz)}`)) as {
      points: { start: string; value: number | null; numerator: number; denominator: number }[];
    };
    expect(series.points.length).toBeGreaterThan(1);
    await page.locator('#chart-data summary').click();
    const plotted = await page.$$eval('#chart-table tbody tr', (rows) =>
      rows.map((row) => ({
        start: (row as HTMLElement).dataset.start!,
        value: row.querySelector('.value')?.textContent ?? '',
        parts: row.querySelector('.parts')?.textContent ?? '',
      })),
    );
    expect(plotted.map((row) => row.start)).toEqual(series.points.map((point) => point.start));
    series.points.forEach((point, index) => {
      expectPercent(plotted[index]!.value, point.value);
      expect(partsOf(plotted[index]!.parts)).toEqual([point.numerator, point.denominator]);
    });
    await expect(page.locator('#chart').getAttribute('aria-label')).resolves.toMatch(/^Emails: bounce rate per day, a line/);

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

    // The per-campaign outreach table's own button queues an outreach-campaigns download of the range.
    await page.locator('#outreach-campaigns-card').getByRole('button', { name: 'Queue this table for download' }).click();
    await page.waitForSelector('#downloads tbody tr[data-export="outreach-campaigns"][data-status="ready"]', { timeout: 60_000 });
    const listed = (await api('/v1/downloads')) as {
      downloads: { export: string; from: string; to: string; filters: object; rows: number }[];
    };
    const queued = listed.downloads.filter((job) => job.export === 'outreach-campaigns');
    expect(queued.map((job) => ({ from: job.from, to: job.to, filters: job.filters, rows: job.rows }))).toEqual([
      { from, to, filters: {}, rows: perCampaign.rows.length },
    ]);
    await expect(page.locator('#downloads tbody tr[data-export="outreach-campaigns"] td').first().textContent()).resolves.toBe(
      'Outreach per campaign',
    );

    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // An accessibility check of the whole page (axe-core): no serious or critical violations.
    await axe(page);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('says how complete the counts are: ingest silent for long, caught up, and behind', async () => {
    const topics = topicNames(config.topicPrefix);
    /** One ingest_progress row per partition (0 and 1) of both event topics, observed `atMs`. */
    const progress = async (atMs: number, high: number, committed: number) =>
      clickhouse.client.insert({
        table: 'ingest_progress',
        format: 'JSONEachRow',
        values: [topics.assignments, topics.deliveries].flatMap((topic) =>
          [0, 1].map((partition) => ({
            group_id: config.ingest.groupId,
            topic,
            partition,
            observed_at: dateTime64Text(atMs),
            high_watermark: topic === topics.deliveries && partition === 1 ? high : committed,
            committed_offset: committed,
            instance_id: 'e2e-ingest',
          })),
        ),
      });
    /** The API's freshness once it shows `state` (it reads ingest_progress at most once a second). */
    const freshnessOnce = async (state: Freshness['state'], check: (f: Freshness) => boolean = () => true): Promise<Freshness> => {
      for (;;) {
        const { freshness } = (await api(
          `/v1/metrics/rates?from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}&to=${encodeURIComponent(new Date().toISOString())}`,
        )) as {
          freshness: Freshness;
        };
        if (freshness.state === state && check(freshness)) return freshness;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };

    const context = await browser.newContext({ timezoneId: ZONE, locale: 'en-IN', viewport: { width: 1280, height: 1800 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${url}/#token=${token}`);
    await page.waitForSelector('body[data-loaded]');
    await expect(page.locator('#freshness').getAttribute('data-state')).resolves.toBe('no_consumer');
    /** A new load of the page (signed in from this tab's sessionStorage). */
    const reload = async () => {
      await page.reload();
      await page.waitForSelector('body[data-loaded]');
      return (await page.locator('#freshness').textContent())!;
    };

    // The ingest last reported two hours ago (longer than FRESHNESS_STALE_AFTER_MS, an hour here): no consumer.
    const twoHoursAgo = Date.now() - 2 * 3_600_000;
    await progress(twoHoursAgo, 1000, 1000);
    const silent = await freshnessOnce('no_consumer', (f) => f.reportedAt !== null);
    expect(silent.reportedAt).toBe(new Date(twoHoursAgo).toISOString());
    let text = await reload();
    await expect(page.locator('#freshness').getAttribute('data-state')).resolves.toBe('no_consumer');
    expect(text).toContain(`Counts may be out of date: no ingest has reported since ${clock(silent.reportedAt!)}`);
    expect(text).toContain('(2 h ago), so ingest is not running');
    expect(text).toContain(`The counts include everything published until ${clock(silent.countedThrough!)}`);

    // It reports again, everything published is committed: current.
    await progress(Date.now(), 1000, 1000);
    const current = await freshnessOnce('current');
    text = await reload();
    await expect(page.locator('#freshness').getAttribute('data-state')).resolves.toBe('current');
    const caughtUp = /^Counts include everything published until (\d\d:\d\d:\d\d) \((\d+) s ago\)\.$/.exec(text);
    expect(caughtUp, text).not.toBeNull();
    expect(caughtUp![1]).toBe(clock(current.countedThrough!));
    await expect(page.locator('#freshness time').getAttribute('datetime')).resolves.toBe(current.countedThrough);
    await expect(page.locator('#status').textContent()).resolves.not.toContain('out of date');
    // The README's screenshot (docs/dashboard.png): a healthy sender with one incident, the last 3 days against the 3 before.
    const wall = (ms: number) => new Date(ms + 5.5 * 3_600_000).toISOString().slice(0, 19); // Kolkata wall clock
    const since = `${wall(Date.now() - 2 * 86_400_000).slice(0, 10)}T00:00:00`;
    await page.fill('#from', since);
    await page.fill('#to', wall(Date.now()));
    await page.click('#apply');
    await page.waitForFunction((from) => document.body.dataset.loaded?.startsWith(from), new Date(`${since}+05:30`).toISOString());
    await page.selectOption('#metric', 'email.spamComplaintRate');
    await page.waitForSelector('#chart[data-metric="email.spamComplaintRate"] canvas');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SCREENSHOT_CURRENT, clip: { x: 0, y: 0, width: 1280, height: 900 } }); // the first screen: what the README shows

    // 40 records published to one partition are not committed yet: behind.
    await progress(Date.now(), 1040, 1000);
    const behind = await freshnessOnce('behind');
    expect(behind.lagEvents).toBe(40);
    text = await reload();
    await expect(page.locator('#freshness').getAttribute('data-state')).resolves.toBe('behind');
    expect(text).toMatch(
      new RegExp(
        `^Counts include everything published until ${clock(behind.countedThrough!)} \\(\\d+ s ago\\); ingest is behind: 40 events published not yet counted`,
      ),
    );
    await expect(page.locator('#status').textContent()).resolves.toContain('Ingest is behind: 40 events not yet counted.');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows the active alerts at the top and the state changes of the range in the alert history', async () => {
    const context = await browser.newContext({ timezoneId: ZONE, locale: 'en-IN', viewport: { width: 1280, height: 1800 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('requestfailed', (request) => problems.push(`${request.url()} ${request.failure()?.errorText}`));
    await page.goto(`${url}/#token=${token}`);
    await page.waitForSelector('body[data-loaded]');

    // At the top: after the freshness line (and the counts' precision, when they are not exact to the
    // millisecond) and the summary strip, before the range and every detail.
    const order = await page.$$eval('#main > *', (nodes) => nodes.map((node) => node.id || node.className));
    expect(order.indexOf('precision')).toBe(order.indexOf('freshness') + 1);
    expect(order.indexOf('summary')).toBe(order.indexOf('precision') + 1);
    expect(order.indexOf('alerts')).toBe(order.indexOf('summary') + 1);
    expect(order.indexOf('alerts')).toBeLessThan(order.indexOf('range-form'));

    // Active alerts: the rules the API says are warning or critical, the most severe first, with the API's state and since.
    const { rules } = (await api('/v1/alerts/rules')) as RulesAnswer;
    const active = rules.filter((rule) => rule.state !== 'ok');
    expect(active.map((rule) => [rule.id, rule.state])).toEqual([
      ['spam-24h', 'critical'],
      ['block-24h', 'warning'],
    ]);
    const shownActive = await page.$$eval('#alerts-active tbody tr', (rows) =>
      rows.map((row) => ({
        rule: (row as HTMLElement).dataset.rule!,
        state: (row as HTMLElement).dataset.state!,
        badge: row.querySelector('.badge')?.textContent ?? '',
        badgeClass: row.querySelector('.badge')?.className ?? '',
        rate: row.querySelector('.rate .main')?.textContent ?? '',
        scope: row.querySelector('.scope')?.textContent ?? '',
        window: row.querySelector('.window')?.textContent ?? '',
        since: row.querySelector('.when time')?.getAttribute('datetime') ?? '',
        sinceText: row.querySelector('.when time')?.textContent ?? '',
        lines: row.querySelector('.lines .main')?.textContent ?? '',
      })),
    );
    expect(shownActive.map((row) => [row.rule, row.state, row.since])).toEqual(active.map((rule) => [rule.id, rule.state, rule.since]));
    for (const row of shownActive) {
      const rule = active.find((candidate) => candidate.id === row.rule)!;
      expect(row.badge).toBe(BADGE[rule.state]); // the word, not only the colour
      expect(row.badgeClass).toBe(`badge health-${rule.state}`); // the rates' badge style
      expect(row.sinceText).toContain(clock(rule.since!)); // in the page's time zone
      expect(row.scope).toBe('All outreach');
      expect(row.window).toBe('last 24 hours');
    }
    expect(shownActive[0]).toMatchObject({ rate: 'Emails: spam complaint rate', lines: 'warning at 0.1 %, critical at 0.3 %' });
    expect(shownActive[1]).toMatchObject({ rate: 'Emails: block rate', lines: 'warning at 0.2 %, critical at 5 %' });
    await expect(page.locator('#alerts-summary').textContent()).resolves.toBe('2 of 3 rules are in an alert state now.');
    await expect(page.locator('#status').textContent()).resolves.toMatch(/ 2 active alerts\.$/); // announced with the data
    await expect(page.locator('#alerts-active th').allTextContents()).resolves.toEqual([
      'State',
      'Rate',
      'Scope',
      'Window',
      'Since',
      'Lines',
    ]);

    /** The history rows equal the API's events of the page's range, in its order. */
    const expectHistory = async () => {
      const [from, to] = (await page.evaluate(() => document.body.dataset.loaded!)).split('|') as [string, string];
      const { events } = (await api(`/v1/alerts/events?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)) as {
        events: AlertEventView[];
      };
      const shown = await page.$$eval('#alert-events tbody tr', (rows) =>
        rows.map((row) => ({
          id: (row as HTMLElement).dataset.id ?? null,
          when: row.querySelector('.when time')?.getAttribute('datetime') ?? '',
          whenText: row.querySelector('.when time')?.textContent ?? '',
          rule: row.querySelector('.rule .main')?.textContent ?? '',
          about: row.querySelector('.rule .sub')?.textContent ?? '',
          change: row.querySelector('.change-of-state')?.textContent ?? '',
          badges: [...row.querySelectorAll('.change-of-state .badge')].map((badge) => badge.className),
          value: row.querySelector('.value .main')?.textContent ?? '',
          parts: row.querySelector('.value .sub')?.textContent ?? '',
          status: (row.querySelector('.notification') as HTMLElement | null)?.dataset.status ?? '',
          attempts: Number((row.querySelector('.notification') as HTMLElement | null)?.dataset.attempts),
          notification: row.querySelector('.notification .main')?.textContent ?? '',
          text: row.textContent ?? '',
        })),
      );
      if (events.length === 0) {
        expect(shown.map((row) => [row.id, row.text])).toEqual([[null, 'No state changes in this range.']]);
        return events;
      }
      // The same events, newest first (changes recorded in one evaluation share their instant: any order among them).
      expect(shown.map((row) => row.id).sort()).toEqual(events.map((event) => event.id).sort());
      const instants = shown.map((row) => Date.parse(row.when));
      expect(instants).toEqual([...instants].sort((a, b) => b - a));
      for (const row of shown) {
        const event = events.find((candidate) => candidate.id === row.id)!;
        expect(row.when).toBe(event.occurredAt);
        expect(row.whenText).toContain(clock(event.occurredAt));
        expect(row.rule).toBe(event.ruleId);
        expect(row.change).toBe(`${BADGE[event.from]} → ${BADGE[event.to]}`);
        expect(row.badges).toEqual([`badge health-${event.from}`, `badge health-${event.to}`]);
        expectPercent(row.value, event.rate.value);
        expect(partsOf(row.parts), event.id).toEqual([event.rate.numerator, event.rate.denominator]);
        expect([row.status, row.attempts]).toEqual([event.notification.status, event.notification.attempts]);
        expect(row.notification).toBe(notificationText(event.notification));
        expect(row.about).toContain(event.scope.campaignId ? `Campaign ${watched.campaignName} (${watched.playbookName})` : 'All outreach');
      }
      return events;
    };

    // The default range (the last 7 days) holds every change: the episode of the campaign rule and the two alerts now.
    const all = await expectHistory();
    const change = (event: AlertEventView) => [event.ruleId, event.from, event.to, event.notification.status];
    expect(all.slice(0, 2).map(change).sort()).toEqual([
      ['block-24h', 'ok', 'warning', 'not_configured'],
      ['spam-24h', 'ok', 'critical', 'retrying'],
    ]);
    expect(all.slice(2).map(change)).toEqual([
      ['bounce-campaign-1h', 'critical', 'ok', 'delivered'],
      ['bounce-campaign-1h', 'warning', 'critical', 'delivered'],
      ['bounce-campaign-1h', 'ok', 'warning', 'delivered'],
    ]);
    // The failing webhook: retried, its attempts and last error as the API says.
    const spam = all.find((event) => event.ruleId === 'spam-24h')!;
    expect(spam.notification.attempts).toBeGreaterThanOrEqual(3);
    expect(spam.notification.lastError).toBe('HTTP 500');
    await expect(page.locator(`#alert-events tr[data-id="${spam.id}"] .notification .main`).textContent()).resolves.toBe(
      `retrying, ${spam.notification.attempts} attempts, last: HTTP 500`,
    );
    const delivered = all.find((event) => event.ruleId === 'bounce-campaign-1h' && event.to === 'critical')!;
    await expect(page.locator(`#alert-events tr[data-id="${delivered.id}"] .value`).textContent()).resolves.toMatch(
      /^5\.71 %8 of 140 sent$/,
    );
    await expect(page.locator('#alert-events th').allTextContents()).resolves.toEqual(['When', 'Rule', 'Change', 'Rate', 'Notification']);

    // Another range: the history follows it (only the past episode); the active alerts do not depend on it.
    const wall = (ms: number) => new Date(ms + 5.5 * 3_600_000).toISOString().slice(0, 19); // Kolkata wall clock
    const pick = async (fromMs: number, toMs: number) => {
      await page.fill('#from', wall(fromMs));
      await page.fill('#to', wall(toMs));
      await page.click('#apply');
      await page.waitForFunction((from) => document.body.dataset.loaded?.startsWith(from), new Date(`${wall(fromMs)}+05:30`).toISOString());
    };
    await pick(Date.now() - 4 * DAY, Date.now() - DAY);
    const past = await expectHistory();
    expect(past.map((event) => event.ruleId)).toEqual(['bounce-campaign-1h', 'bounce-campaign-1h', 'bounce-campaign-1h']);
    await expect(page.locator('#alerts-active tbody tr').count()).resolves.toBe(2);

    // A range without changes.
    await pick(Date.now() - 6 * DAY, Date.now() - 5 * DAY);
    expect(await expectHistory()).toEqual([]);
    await expect(page.locator('#alert-events tbody').textContent()).resolves.toBe('No state changes in this range.');

    await axe(page);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('says "No active alerts" for a tenant without state changes, and that the default rules apply', async () => {
    const quiet = signToken(TEST_SECRET, { tenantId: 'quiet', userId: 'e2e' }, 3_600_000);
    const response = await fetch(`${url}/v1/alerts/rules`, { headers: { authorization: `Bearer ${quiet}` } });
    const rules = (await response.json()) as RulesAnswer;
    expect(rules.defaults).toBe(true);
    expect(rules.rules.map((rule) => rule.state)).toEqual(['ok', 'ok']);
    const context = await browser.newContext({ timezoneId: ZONE, locale: 'en-IN' });
    const page = await context.newPage();
    await page.goto(`${url}/#token=${quiet}`);
    await page.waitForSelector('body[data-loaded]');
    const summary = (await page.locator('#alerts-summary').textContent())!;
    expect(summary).toMatch(/^No active alerts\./);
    expect(summary).toContain('default rules');
    expect(summary).toContain('not notified');
    await expect(page.locator('#status').textContent()).resolves.toMatch(/ No active alerts\.$/);
    await expect(page.locator('#alerts-active').isVisible()).resolves.toBe(false);
    await expect(page.locator('#alerts').getAttribute('data-active')).resolves.toBe('0');
    await expect(page.locator('#alert-events tbody').textContent()).resolves.toBe('No state changes in this range.');
    await context.close();
  });

  it('shows the newest range when the answers of an older one arrive after it', async () => {
    const context = await browser.newContext({ timezoneId: ZONE, locale: 'en-IN', viewport: { width: 1280, height: 1800 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    const ended = new Set<Request>();
    page.on('requestfinished', (request) => ended.add(request));
    page.on('requestfailed', (request) => ended.add(request));
    const charts: string[] = [];
    // The chart's requests (its first metric, entries; the summary's trend of entries compares with the previous period).
    const isChart = (address: string) =>
      address.includes('/v1/metrics/timeseries') && /[?&]metric=entries(&|$)/.test(address) && !address.includes('compare=');
    page.on('request', (request) => isChart(request.url()) && charts.push(request.url()));
    // The metric answers of the first range (the last 7 days, on opening) are held back.
    let holding = true;
    const held: Route[] = [];
    await page.route('**/v1/metrics/**', (route) => (holding ? held.push(route) : route.continue()));
    await page.goto(`${url}/#token=${token}`);
    // Four tables and the ten figures' trends of the summary strip.
    await waitFor('the first range to ask for its four tables and ten trends', async () => held.length === 14, 30_000, 50);
    holding = false;
    const asked = new URL(held[0]!.request().url()).searchParams;
    const older = `${asked.get('from')}|${asked.get('to')}`;

    // Meanwhile the user picks today: it is answered and shown.
    const wall = (ms: number) => new Date(ms + 5.5 * 3_600_000).toISOString().slice(0, 19); // Kolkata wall clock
    const today = new Date(`${wall(Date.now()).slice(0, 10)}T00:00:00+05:30`).toISOString();
    expect(older.startsWith(today)).toBe(false);
    await page.click('[data-preset="today"]');
    await page.waitForFunction((from) => document.body.dataset.loaded?.startsWith(from), today);
    const [from, to] = (await page.evaluate(() => document.body.dataset.loaded!)).split('|') as [string, string];

    // Then the older range's answers arrive (or find their requests abandoned).
    await Promise.all(held.map((route) => route.continue().catch(() => undefined)));
    await waitFor('the held requests to end', async () => held.every((route) => ended.has(route.request())), 30_000, 50);
    // Both loads are over: the page counts them. (A page that lets the old answers through draws
    // them, then asks for the old range's chart: a second chart request.)
    await waitFor(
      'both loads to end',
      async () => charts.length >= 2 || (await page.evaluate(() => document.body.dataset.viewLoads)) === '2',
      30_000,
      50,
    );
    expect((await page.evaluate(() => document.body.dataset.loaded!)).split('|')).toEqual([from, to]);

    // The numbers on show are today's.
    const query = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const campaigns = (await api(`/v1/metrics/campaigns?${query}`)) as { rows: { campaignId: string; entries: number; exits: number }[] };
    const shown = await page.$$eval('#campaigns tbody tr[data-campaign-id]', (rows) =>
      rows.map((row) => [
        (row as HTMLElement).dataset.campaignId,
        row.querySelector('.entries')?.textContent,
        row.querySelector('.exits')?.textContent,
      ]),
    );
    expect(shown.map(([id, entries, exits]) => [id, count(entries), count(exits)])).toEqual(
      campaigns.rows.map((row) => [row.campaignId, row.entries, row.exits]),
    );
    const outreach = (await api(`/v1/metrics/outreach?${query}`)) as { sms: Record<string, number>; email: Record<string, number> };
    for (const channel of ['sms', 'email'] as const) {
      const statuses = await page.$$eval(`#${channel} tbody tr`, (rows) =>
        rows.map((row) => [(row as HTMLElement).dataset.status!, row.querySelector('.count')?.textContent ?? '']),
      );
      expect(Object.fromEntries(statuses.map(([status, text]) => [status, count(text)])), channel).toEqual(outreach[channel]);
    }
    const rates = (await api(`/v1/metrics/rates?${query}`)) as { email: Record<string, JudgedRate> };
    await expect(page.locator('#email-rates tr[data-rate="email.deliveryRate"] .value').getAttribute('data-denominator')).resolves.toBe(
      String(rates.email.deliveryRate!.denominator),
    );
    await expect(page.locator('#status').textContent()).resolves.toMatch(/^Showing /);
    await expect(page.locator('#apply').isDisabled()).resolves.toBe(false);
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
