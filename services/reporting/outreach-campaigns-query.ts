import type { ClickHouseClient } from '../platform/clickhouse.js';
import { campaignKey, type CampaignNames } from './campaign-names.js';
import { campaignNamesQuery } from './campaigns-query.js';
import { addStatusCount, emptyOutreachCounts, type EmailCounts, type SmsCounts } from './outreach-query.js';
import { DAY_MS, rangeUnion, ROLLUP_BUCKET_MS, validateRange, type MetricsRange, type QueryParams, type RollupGrain } from './range.js';
import { ratesOf, type Rates } from './rates.js';

const GRAINS: readonly RollupGrain[] = [
  { ms: DAY_MS, table: 'delivery_counts_1d' },
  { ms: ROLLUP_BUCKET_MS, table: 'delivery_counts_15m' },
];

export interface OutreachCampaignRow {
  /** null for messages sent without a playbook. */
  playbookId: string | null;
  /** The latest name by event time (as in the campaigns answer); '' when no assignment ever named it. */
  playbookName: string;
  /** null for messages sent without a campaign: all of them are one row (per playbook). */
  campaignId: string | null;
  campaignName: string;
  sms: SmsCounts;
  email: EmailCounts;
  rates: Rates;
}

interface ResultRow {
  playbookId: string;
  campaignId: string;
  playbookName: string;
  campaignName: string;
  channel: 'sms' | 'email';
  status: string;
  events: string | number;
}

/** Messages per playbook + campaign, channel and status (ids only): the counts both forms of {@link queryOutreachCampaigns} read. */
function countsQuery(range: MetricsRange, params: QueryParams): string {
  const union = rangeUnion(
    range,
    {
      grains: GRAINS,
      rollup: (where, table) => `SELECT playbook_id, campaign_id, channel, status, sum(events) AS n
  FROM ${table}
  WHERE ${where}
  GROUP BY playbook_id, campaign_id, channel, status`,
      raw: (where) => `SELECT playbook_id, campaign_id, channel, status, count() AS n
  FROM delivery_events
  WHERE ${where}
  GROUP BY playbook_id, campaign_id, channel, status`,
    },
    params,
  );
  return `SELECT playbook_id, campaign_id, channel, status, sum(n) AS events
  FROM
  (
${union}
  )
  GROUP BY playbook_id, campaign_id, channel, status
  HAVING events > 0`;
}

/** The counts alone (ids, no names), for names joined in the process (campaign-names.ts). */
export function outreachCampaignCountsQuery(range: MetricsRange): { query: string; query_params: QueryParams } {
  const params: QueryParams = {};
  const query = countsQuery(range, params);
  return { query, query_params: params };
}

/** The SQL and parameters of {@link queryOutreachCampaigns} with the names joined by the engine (exposed for plans and benchmarks). */
export function outreachCampaignsQuery(range: MetricsRange): { query: string; query_params: QueryParams } {
  const params: QueryParams = {};
  const counts = countsQuery(range, params);
  const names = campaignNamesQuery(range);
  const query = `SELECT
  counts.playbook_id AS playbookId, counts.campaign_id AS campaignId,
  names.playbook_name AS playbookName, names.campaign_name AS campaignName,
  counts.channel AS channel, counts.status AS status, counts.events AS events
FROM
(
  ${counts}
) AS counts
LEFT JOIN
(
  ${names}
) AS names ON counts.playbook_id = names.playbook_id AND counts.campaign_id = names.campaign_id`;
  return { query, query_params: params };
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Named campaigns by playbook name, campaign name, ids; messages without a campaign after them. */
export function compareOutreachCampaignRows(
  a: Pick<OutreachCampaignRow, 'playbookId' | 'playbookName' | 'campaignId' | 'campaignName'>,
  b: Pick<OutreachCampaignRow, 'playbookId' | 'playbookName' | 'campaignId' | 'campaignName'>,
): number {
  return (
    Number(a.campaignId === null) - Number(b.campaignId === null) ||
    Number(a.playbookId === null) - Number(b.playbookId === null) ||
    compareText(a.playbookName, b.playbookName) ||
    compareText(a.campaignName, b.campaignName) ||
    compareText(a.playbookId ?? '', b.playbookId ?? '') ||
    compareText(a.campaignId ?? '', b.campaignId ?? '')
  );
}

/** The row of a playbook + campaign with no messages (to line up a campaign active in one period only). */
export function emptyOutreachCampaignRow(
  ids: Pick<OutreachCampaignRow, 'playbookId' | 'playbookName' | 'campaignId' | 'campaignName'>,
  minimumVolume: number,
): OutreachCampaignRow {
  const counts = emptyOutreachCounts();
  return { ...ids, ...counts, rates: ratesOf(counts, minimumVolume) };
}

/** The rows of the query with the names joined: by the engine, or from the process's copy of them (`names`). */
async function resultRows(client: ClickHouseClient, range: MetricsRange, names: CampaignNames | undefined): Promise<ResultRow[]> {
  if (!names) {
    const result = await client.query({ ...outreachCampaignsQuery(range), format: 'JSONEachRow' });
    return result.json<ResultRow>();
  }
  const result = await client.query({ ...outreachCampaignCountsQuery(range), format: 'JSONCompactEachRow' });
  const counts = await result.json<[string, string, ResultRow['channel'], string, string | number]>();
  const map = await names.of(
    client,
    range.tenantId,
    counts.map(([playbookId, campaignId]) => campaignKey(playbookId, campaignId)),
  );
  return counts.map(([playbookId, campaignId, channel, status, events]) => {
    const name = map.get(campaignKey(playbookId, campaignId));
    return {
      playbookId,
      campaignId,
      playbookName: name?.playbookName ?? '',
      campaignName: name?.campaignName ?? '',
      channel,
      status,
      events,
    };
  });
}

/**
 * Text messages and emails by status, and their rates, per playbook + campaign in `[from, to]`
 * (both inclusive, to the millisecond): one row per campaign with any message, sorted by
 * playbook name then campaign name, and one row (per playbook) for messages without a campaign.
 * With `names` (the embedded engine) the names come from the process's copy of them instead of
 * a join: one table read fewer per answer.
 */
export async function queryOutreachCampaigns(
  client: ClickHouseClient,
  range: MetricsRange,
  minimumVolume?: number,
  names?: CampaignNames,
): Promise<OutreachCampaignRow[]> {
  validateRange(range);
  const rows = new Map<string, OutreachCampaignRow>();
  for (const row of await resultRows(client, range, names)) {
    const key = `${row.playbookId}\u0000${row.campaignId}`;
    let out = rows.get(key);
    if (!out) {
      out = emptyOutreachCampaignRow(
        {
          playbookId: row.playbookId === '' ? null : row.playbookId,
          playbookName: row.playbookName,
          campaignId: row.campaignId === '' ? null : row.campaignId,
          campaignName: row.campaignName,
        },
        0,
      );
      rows.set(key, out);
    }
    addStatusCount(out, row.channel, row.status, Number(row.events));
  }
  return [...rows.values()].map((row) => ({ ...row, rates: ratesOf(row, minimumVolume) })).sort(compareOutreachCampaignRows);
}
