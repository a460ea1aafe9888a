/**
 * 2, 3 and 4. Each endpoint over HTTP, its SQL alone through the client, and the raw scan of the
 * same range, interleaved per range so that a busy machine weighs on all of them alike; every
 * answer checked against the raw scans. Prints the latency table.
 */
import { DELIVERY_STATUSES, SMS_STATUSES, statusKey } from '../../services/events/types.js';
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import {
  campaignsQuery,
  emptyOutreachCounts,
  outreachQuery,
  type CampaignRow,
  type OutreachCampaignRow,
  type OutreachCounts,
  type Rates,
} from '../../services/reporting/index.js';
import { bearer } from './api.js';
import type { Case } from './cases.js';
import { TENANTS } from './dataset.js';
import { rawCampaigns, rawOutreach } from './raw-scans.js';
import { loadAverage, quantile, say, sayLatency, sayLatencyHeading, secondsSince, timed } from './stats.js';

/** Requests before the measured ones (checked, not timed). */
const WARMUP = 5;

/** What the run's last line reports of the endpoints. */
export interface EndpointResults {
  campaignsP95: number;
  outreachP95: number;
  /** The larger of the two. */
  queryP95: number;
  /** Both raw scans together. */
  rawP95: number;
  /** Raw p95 ÷ endpoint p95, both endpoints together. */
  speedup: number;
  /** The largest p95 of the deliverability endpoints ÷ the outreach endpoint's p95. */
  worstAddedVsOutreach: number;
  mismatches: number;
}

/** Milliseconds per request, of each measured thing. */
function emptySeries() {
  return {
    campaignsHttp: [] as number[],
    campaignsSql: [] as number[],
    campaignsRaw: [] as number[],
    outreachHttp: [] as number[],
    outreachSql: [] as number[],
    outreachRaw: [] as number[],
    ratesHttp: [] as number[],
    ratesCompareHttp: [] as number[],
    outreachCampaignsHttp: [] as number[],
    rateSeriesHttp: [] as number[],
  };
}

const sortRows = (list: CampaignRow[]) =>
  [...list].sort((a, b) => (a.playbookId + '\u0000' + a.campaignId).localeCompare(b.playbookId + '\u0000' + b.campaignId));

/** JSON with object keys sorted, so that key order never makes a difference. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** Adds a row's count of every status, channel by channel. */
function addCounts(into: OutreachCounts, row: OutreachCounts): void {
  for (const status of SMS_STATUSES) into.sms[statusKey(status)] += row.sms[statusKey(status)];
  for (const status of DELIVERY_STATUSES) into.email[statusKey(status)] += row.email[statusKey(status)];
}

/** Measures `requests` ranges from `nextCase` (after the warm-up ones) against the API at `base`. */
export async function measureEndpoints(
  client: ClickHouseClient,
  base: string,
  nextCase: () => Case,
  requests: number,
): Promise<EndpointResults> {
  const tokens = new Map(TENANTS.map((tenant) => [tenant as string, bearer(tenant, 'bench')]));
  async function get<T>(endpoint: string, c: Case): Promise<T> {
    const response = await fetch(`${base}/v1/metrics/${endpoint}?${c.query}`, {
      headers: { authorization: tokens.get(c.range.tenantId)! },
    });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`GET /v1/metrics/${endpoint}?${c.query} answered ${response.status}: ${body}`);
    return JSON.parse(body) as T;
  }

  const series = emptySeries();
  let mismatches = 0;
  let campaignRowsSeen = 0;
  let emptyAnswers = 0;
  const report = (what: string, c: Case, endpoint: unknown, raw: unknown) => {
    mismatches += 1;
    if (mismatches <= 5)
      say(`  MISMATCH ${what} ?${c.query}\n    endpoint: ${JSON.stringify(endpoint)}\n    raw scan: ${JSON.stringify(raw)}`);
  };

  say(
    `serving the API on ${base} (real port, fetch with keep-alive; rate limit lifted); ${WARMUP} warm-up requests, then ${requests} measured per endpoint`,
  );
  const queryStarted = performance.now();
  for (let i = 0; i < WARMUP + requests; i += 1) {
    const c = nextCase();
    const measured = i >= WARMUP;

    const campaignsHttp = await timed(() => get<{ rows: CampaignRow[] }>('campaigns', c));
    const campaignsSql = await timed(async () => (await client.query({ ...campaignsQuery(c.range), format: 'JSONEachRow' })).json());
    const campaignsRaw = await timed(() => rawCampaigns(client, c.range));
    const outreachHttp = await timed(() => get<OutreachCounts & { from: string; to: string }>('outreach', c));
    const outreachSql = await timed(async () => (await client.query({ ...outreachQuery(c.range), format: 'JSONEachRow' })).json());
    const outreachRaw = await timed(() => rawOutreach(client, c.range));

    // The endpoints the deliverability view added: rates (and with the previous period), outreach
    // per campaign, a rate as a daily series. Checked against the raw outreach scan: their parts
    // must add up to the same counts.
    const ratesHttp = await timed(() => get<Rates>('rates', c));
    const ratesCompareHttp = await timed(() => get<Rates>('rates', { ...c, query: `${c.query}&compare=previous` }));
    const outreachCampaignsHttp = await timed(() => get<{ rows: OutreachCampaignRow[] }>('outreach/campaigns', c));
    const rateSeriesHttp = await timed(() =>
      get<{ points: Array<{ numerator: number; denominator: number }> }>('timeseries', {
        ...c,
        query: `${c.query}&metric=email.bounceRate&interval=day&tz=America%2FNew_York`,
      }),
    );
    const raw = outreachRaw.value;
    if (ratesHttp.value.email.bounceRate.numerator !== raw.email.bounced || ratesHttp.value.email.bounceRate.denominator !== raw.email.sent)
      report('rates', c, ratesHttp.value.email.bounceRate, raw.email);
    if (!same(ratesCompareHttp.value.email.spamComplaintRate, ratesHttp.value.email.spamComplaintRate))
      report('rates?compare=previous', c, ratesCompareHttp.value.email, ratesHttp.value.email);
    const summed = emptyOutreachCounts();
    for (const row of outreachCampaignsHttp.value.rows) addCounts(summed, row);
    if (!same(summed, raw)) report('outreach/campaigns (summed)', c, summed, raw);
    const seriesParts = rateSeriesHttp.value.points.reduce((sum, point) => sum + point.numerator, 0);
    if (seriesParts !== raw.email.bounced) report('timeseries email.bounceRate (numerators summed)', c, seriesParts, raw.email.bounced);

    const endpointRows = sortRows(campaignsHttp.value.rows);
    const rawRows = sortRows(campaignsRaw.value);
    if (!same(endpointRows, rawRows)) report('campaigns', c, endpointRows, rawRows);
    const endpointOutreach = { sms: outreachHttp.value.sms, email: outreachHttp.value.email };
    if (!same(endpointOutreach, raw)) report('outreach', c, endpointOutreach, raw);
    if (rawRows.length === 0) emptyAnswers += 1;

    if (!measured) continue;
    campaignRowsSeen += campaignsHttp.value.rows.length;
    series.campaignsHttp.push(campaignsHttp.ms);
    series.campaignsSql.push(campaignsSql.ms);
    series.campaignsRaw.push(campaignsRaw.ms);
    series.outreachHttp.push(outreachHttp.ms);
    series.outreachSql.push(outreachSql.ms);
    series.outreachRaw.push(outreachRaw.ms);
    series.ratesHttp.push(ratesHttp.ms);
    series.ratesCompareHttp.push(ratesCompareHttp.ms);
    series.outreachCampaignsHttp.push(outreachCampaignsHttp.ms);
    series.rateSeriesHttp.push(rateSeriesHttp.ms);
  }
  const querySeconds = secondsSince(queryStarted);

  say();
  say(
    `${requests} random 30-day ranges (±6 h, millisecond edges), ${(campaignRowsSeen / requests).toFixed(1)} campaign rows per answer on average; ${querySeconds.toFixed(1)} s in all`,
  );
  sayLatencyHeading();
  sayLatency('GET /v1/metrics/campaigns (HTTP)', series.campaignsHttp);
  sayLatency('  its SQL alone (client.query)', series.campaignsSql);
  sayLatency('  raw scan of assignment_events', series.campaignsRaw);
  sayLatency('GET /v1/metrics/outreach (HTTP)', series.outreachHttp);
  sayLatency('  its SQL alone (client.query)', series.outreachSql);
  sayLatency('  raw scan of delivery_events', series.outreachRaw);
  const outreachP95 = quantile(series.outreachHttp, 0.95);
  const added: Array<[string, number[]]> = [
    ['GET /v1/metrics/rates (HTTP)', series.ratesHttp],
    ['GET /v1/metrics/rates?compare=previous', series.ratesCompareHttp],
    ['GET /v1/metrics/outreach/campaigns (HTTP)', series.outreachCampaignsHttp],
    ['GET /v1/metrics/timeseries bounceRate/day', series.rateSeriesHttp],
  ];
  for (const [label, list] of added) sayLatency(label, list);
  const worstAddedVsOutreach = Math.max(...added.map(([, list]) => quantile(list, 0.95) / outreachP95));
  say(
    `new endpoints, p95 ÷ outreach p95: ${added.map(([label, list]) => `${label.replace('GET /v1/metrics/', '').replace(' (HTTP)', '')} ${(quantile(list, 0.95) / outreachP95).toFixed(2)}`).join(', ')}; aim ≤ 1.5 (${worstAddedVsOutreach <= 1.5 ? 'met' : 'missed'})`,
  );
  const endpointBoth = [...series.campaignsHttp, ...series.outreachHttp];
  const rawBoth = [...series.campaignsRaw, ...series.outreachRaw];
  sayLatency('both endpoints (HTTP)', endpointBoth);
  sayLatency('both raw scans', rawBoth);
  say(
    `answers checked: ${requests + WARMUP} × 6 endpoints against the raw scans, ${mismatches} mismatches (${emptyAnswers} ranges with no campaign rows)`,
  );
  say(`load average ${loadAverage()} at the end`);

  const campaignsP95 = quantile(series.campaignsHttp, 0.95);
  const rawP95 = quantile(rawBoth, 0.95);
  return {
    campaignsP95,
    outreachP95,
    queryP95: Math.max(campaignsP95, outreachP95),
    rawP95,
    speedup: rawP95 / quantile(endpointBoth, 0.95),
    worstAddedVsOutreach,
    mismatches,
  };
}
