import type { ClickHouseClient } from '../platform/clickhouse.js';
import { campaignKey, compareUtf8, type CampaignNames } from './campaign-names.js';
import { DAY_MS, rangeUnion, ROLLUP_BUCKET_MS, validateRange, type MetricsRange, type QueryParams, type RollupGrain } from './range.js';

const GRAINS: readonly RollupGrain[] = [
  { ms: DAY_MS, table: 'assignment_counts_1d' },
  { ms: ROLLUP_BUCKET_MS, table: 'assignment_counts_15m' },
];

export interface CampaignRow {
  playbookId: string;
  playbookName: string;
  campaignId: string;
  campaignName: string;
  /** Customers who entered the campaign in the range (non-unique). */
  entries: number;
  exits: number;
}

interface ResultRow {
  playbookId: string;
  playbookName: string;
  campaignId: string;
  campaignName: string;
  entries: string | number;
  exits: string | number;
}

/**
 * The latest playbook and campaign names of the tenant (with the range's filters), by event
 * time over all time: argMax, never relying on a merge. Uses the parameters rangeUnion sets.
 */
export function campaignNamesQuery(range: MetricsRange): string {
  return `SELECT playbook_id, campaign_id,
    argMax(playbook_name, named_at) AS playbook_name, argMax(campaign_name, named_at) AS campaign_name
  FROM campaign_names
  WHERE tenant_id = {tenantId:String}${range.playbookId !== undefined ? ' AND playbook_id = {playbookId:String}' : ''}${
    range.campaignId !== undefined ? ' AND campaign_id = {campaignId:String}' : ''
  }
  GROUP BY playbook_id, campaign_id`;
}

/** Entries and exits per playbook + campaign with any (ids only): the counts both forms of {@link queryCampaigns} read. */
function countsQuery(range: MetricsRange, params: QueryParams): string {
  const union = rangeUnion(
    range,
    {
      grains: GRAINS,
      rollup: (where, table) => `SELECT playbook_id, campaign_id, sum(entries) AS entered, sum(exits) AS exited
  FROM ${table}
  WHERE ${where}
  GROUP BY playbook_id, campaign_id`,
      raw: (where) => `SELECT playbook_id, campaign_id, countIf(action = 'entered') AS entered, countIf(action = 'exited') AS exited
  FROM assignment_events
  WHERE ${where}
  GROUP BY playbook_id, campaign_id`,
    },
    params,
  );
  return `SELECT playbook_id, campaign_id, sum(entered) AS entries, sum(exited) AS exits
  FROM
  (
${union}
  )
  GROUP BY playbook_id, campaign_id
  HAVING entries > 0 OR exits > 0`;
}

/** The counts alone (ids, no names), for names joined in the process (campaign-names.ts). */
export function campaignCountsQuery(range: MetricsRange): { query: string; query_params: QueryParams } {
  const params: QueryParams = {};
  const query = countsQuery(range, params);
  return { query, query_params: params };
}

/** The SQL and parameters of {@link queryCampaigns} with the names joined by the engine (exposed for plans and benchmarks). */
export function campaignsQuery(range: MetricsRange): { query: string; query_params: QueryParams } {
  const params: QueryParams = {};
  const counts = countsQuery(range, params);
  // Names: the latest by event time over all time, whatever the range (argMax, never FINAL-less reads).
  const names = campaignNamesQuery(range);
  const query = `SELECT
  counts.playbook_id AS playbookId, names.playbook_name AS playbookName,
  counts.campaign_id AS campaignId, names.campaign_name AS campaignName,
  counts.entries AS entries, counts.exits AS exits
FROM
(
  ${counts}
) AS counts
LEFT JOIN
(
  ${names}
) AS names ON counts.playbook_id = names.playbook_id AND counts.campaign_id = names.campaign_id
ORDER BY playbookName, campaignName, playbookId, campaignId`;
  return { query, query_params: params };
}

/**
 * Entries and exits per playbook + campaign in `[from, to]` (both inclusive, to the
 * millisecond), one row per campaign with any, sorted by playbook name then campaign name.
 * With `names` (the embedded engine) the names come from the process's copy of them instead of
 * a join: one table read fewer per answer.
 */
export async function queryCampaigns(client: ClickHouseClient, range: MetricsRange, names?: CampaignNames): Promise<CampaignRow[]> {
  validateRange(range);
  if (names) {
    const result = await client.query({ ...campaignCountsQuery(range), format: 'JSONCompactEachRow' });
    const counts = await result.json<[string, string, string | number, string | number]>();
    const map = await names.of(
      client,
      range.tenantId,
      counts.map(([playbookId, campaignId]) => campaignKey(playbookId, campaignId)),
    );
    return counts
      .map(([playbookId, campaignId, entries, exits]) => {
        const name = map.get(campaignKey(playbookId, campaignId));
        return {
          playbookId,
          playbookName: name?.playbookName ?? '',
          campaignId,
          campaignName: name?.campaignName ?? '',
          entries: Number(entries),
          exits: Number(exits),
        };
      })
      .sort(
        (a, b) =>
          compareUtf8(a.playbookName, b.playbookName) ||
          compareUtf8(a.campaignName, b.campaignName) ||
          compareUtf8(a.playbookId, b.playbookId) ||
          compareUtf8(a.campaignId, b.campaignId),
      );
  }
  const result = await client.query({ ...campaignsQuery(range), format: 'JSONEachRow' });
  const rows = await result.json<ResultRow>();
  return rows.map((row) => ({
    playbookId: row.playbookId,
    playbookName: row.playbookName,
    campaignId: row.campaignId,
    campaignName: row.campaignName,
    entries: Number(row.entries),
    exits: Number(row.exits),
  }));
}
