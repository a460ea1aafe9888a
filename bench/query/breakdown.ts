/**
 * 4b. Where an endpoint's time goes (chDB 3.4 has no system.query_log): each table read of the
 * endpoints' SQL run alone (the daily rollup, the 15-minute edges, the raw edges, the campaign
 * names), the freshness read, and a bare `SELECT 1` (the round trip through the client and the
 * engine's fixed cost per query). Prints p50, p95 and max of each.
 */
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import { campaignNamesQuery } from '../../services/reporting/campaigns-query.js';
import { campaignsQuery, campaignCountsQuery, freshnessQuery, outreachQuery } from '../../services/reporting/index.js';
import type { Case } from './cases.js';
import { say, sayLatency, sayLatencyHeading } from './stats.js';

/** The SELECTs of an endpoint's UNION ALL (one per table read), named by their table. */
const readsOf = (sql: string) =>
  [...sql.matchAll(/^SELECT (?:(?!FROM)[^])*FROM (\w+)\n {2}WHERE (?:(?!GROUP BY)[^])*GROUP BY [^\n]+/gm)].map((match) => ({
    table: match[1]!,
    select: match[0],
  }));

/** Times each piece on every case, then prints the table. */
export async function measureBreakdown(client: ClickHouseClient, cases: readonly Case[], ingestGroupId: string): Promise<void> {
  const pieces = new Map<string, number[]>();
  const piece = async (label: string, query: string, query_params: Record<string, unknown>) => {
    const started = performance.now();
    await (await client.query({ query, query_params, format: 'JSONEachRow' })).json();
    const list = pieces.get(label) ?? [];
    list.push(performance.now() - started);
    pieces.set(label, list);
  };
  for (const c of cases) {
    await piece('SELECT 1 (round trip, no table)', 'SELECT 1', {});
    // Every metrics answer also carries freshness (ingest_progress, read at most once a second).
    const progress = freshnessQuery({ groupId: ingestGroupId, nowMs: Date.now() });
    await piece('freshness (ingest_progress) alone', progress.query, progress.query_params);
    const campaigns = campaignsQuery(c.range);
    await piece('campaigns: whole SQL, names joined', campaigns.query, campaigns.query_params);
    const counts = campaignCountsQuery(c.range);
    await piece('campaigns: counts SQL (names kept)', counts.query, counts.query_params);
    for (const read of readsOf(campaigns.query)) await piece(`campaigns: ${read.table} alone`, read.select, campaigns.query_params);
    const names = campaignNamesQuery(c.range);
    await piece('campaigns: campaign_names alone', names, {
      tenantId: c.range.tenantId,
      ...(c.range.playbookId !== undefined ? { playbookId: c.range.playbookId } : {}),
      ...(c.range.campaignId !== undefined ? { campaignId: c.range.campaignId } : {}),
    });
    const outreach = outreachQuery(c.range);
    await piece('outreach: whole SQL', outreach.query, outreach.query_params);
    for (const read of readsOf(outreach.query)) await piece(`outreach: ${read.table} alone`, read.select, outreach.query_params);
  }
  say();
  say(`where the time goes: each table read alone, ${cases.length} of the ranges (chDB keeps no system.query_log)`);
  sayLatencyHeading();
  for (const [label, list] of pieces) sayLatency(label, list);
}
