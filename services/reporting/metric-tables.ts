import { stringify } from 'csv-stringify/sync';
import { CHANNELS, DELIVERY_STATUSES, SMS_STATUSES, statusKey } from '../events/types.js';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { queryCampaigns } from './campaigns-query.js';
import { queryOutreach, statusCount, type OutreachCounts } from './outreach-query.js';
import { queryOutreachCampaigns, type OutreachCampaignRow } from './outreach-campaigns-query.js';
import { RATE_DEFINITIONS, rateOf } from './rates.js';
import { neutralizeCell } from './csv-cells.js';
import { EXPORT_COLUMNS, type ExportRequest } from './export-kinds.js';
import type { CsvChunk } from './event-pages.js';
import { preciseRange, type Precision } from './raw-retention.js';

/**
 * The metric-table exports: the rows of /v1/metrics/campaigns, /v1/metrics/outreach and
 * /v1/metrics/outreach/campaigns from the same exact range queries, as CSV. They are small (one
 * row per campaign, twelve channel + status rows), so each is one query and one chunk.
 */

export const METRIC_TABLE_KINDS = ['campaigns', 'outreach', 'outreach-campaigns'] as const;
export type MetricTableKind = (typeof METRIC_TABLE_KINDS)[number];

export function isMetricTableExport(request: ExportRequest): request is ExportRequest & { kind: MetricTableKind } {
  return (METRIC_TABLE_KINDS as readonly string[]).includes(request.kind);
}

/**
 * One row per playbook + campaign: ids and names (an empty id for messages without one), the
 * counts in the column order of EXPORT_COLUMNS, then every rate's value (empty when its
 * denominator is 0) — full precision, the counts beside it being its exact parts.
 */
export function outreachCampaignCsvRows(rows: readonly OutreachCampaignRow[]): unknown[][] {
  return rows.map((row) => {
    return [
      row.playbookId ?? '',
      row.playbookName,
      row.campaignId ?? '',
      row.campaignName,
      ...SMS_STATUSES.map((status) => row.sms[statusKey(status)]),
      ...DELIVERY_STATUSES.map((status) => row.email[statusKey(status)]),
      ...RATE_DEFINITIONS.map((definition) => rateOf(row.rates, definition).value ?? ''),
    ];
  });
}

/**
 * RFC 4180: CRLF between records; a field with a quote, comma, CR or LF is quoted. Text cells a
 * spreadsheet would run as a formula are escaped and quoted (csv-cells.ts); numbers stay numbers.
 */
export function toCsv(columns: readonly string[], rows: unknown[][]): Buffer {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'string' ? neutralizeCell(cell) : cell)));
  return Buffer.from(
    stringify(cells, { header: true, columns: [...columns], record_delimiter: 'windows', quoted_match: [/[\r\n]/, /^'/] }),
  );
}

/** One row per channel and the statuses that channel can take (stored names, as in deliveries.csv), zeros included. */
export function outreachRows(counts: OutreachCounts): [string, string, number][] {
  const rows: [string, string, number][] = [];
  for (const channel of CHANNELS) {
    for (const status of channel === 'sms' ? SMS_STATUSES : DELIVERY_STATUSES)
      rows.push([channel, status, statusCount(counts, channel, status)]);
  }
  return rows;
}

/** The range a metric table counts and its precision: edges before `rawEventsFromMs` widened to 15 minutes (raw-retention.ts). */
export function metricTableRange(request: ExportRequest, rawEventsFromMs: number | undefined) {
  const asked = {
    tenantId: request.tenantId,
    fromMs: request.fromMs,
    toMs: request.toMs,
    playbookId: request.filters.playbookId,
    campaignId: request.filters.campaignId,
  };
  return preciseRange(asked, rawEventsFromMs);
}

export type { Precision };

export async function* metricTableCsvChunks(
  client: ClickHouseClient,
  request: ExportRequest & { kind: MetricTableKind },
  rawEventsFromMs?: number,
): AsyncGenerator<CsvChunk> {
  const { range } = metricTableRange(request, rawEventsFromMs);
  const rows =
    request.kind === 'campaigns'
      ? (await queryCampaigns(client, range)).map((row) => [
          row.playbookId,
          row.playbookName,
          row.campaignId,
          row.campaignName,
          row.entries,
          row.exits,
        ])
      : request.kind === 'outreach'
        ? outreachRows(await queryOutreach(client, range))
        : outreachCampaignCsvRows(await queryOutreachCampaigns(client, range));
  yield { bytes: toCsv(EXPORT_COLUMNS[request.kind], rows), rows: rows.length };
}
