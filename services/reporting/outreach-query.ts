import {
  isDeliveryStatus,
  isSmsStatus,
  statusKey,
  type Channel,
  type DeliveryStatus,
  type SmsStatus,
  type StatusKey,
} from '../events/types.js';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { InvalidArgumentError } from './errors.js';
import { DAY_MS, rangesUnion, ROLLUP_BUCKET_MS, validateRange, type MetricsRange, type QueryParams, type RollupGrain } from './range.js';

const GRAINS: readonly RollupGrain[] = [
  { ms: DAY_MS, table: 'delivery_counts_1d' },
  { ms: ROLLUP_BUCKET_MS, table: 'delivery_counts_15m' },
];

/** Messages by status, keyed as in answers (`spamReported`): a text message's statuses, an email's. */
export type SmsCounts = { [S in SmsStatus as StatusKey<S>]: number };
export type EmailCounts = { [S in DeliveryStatus as StatusKey<S>]: number };

export interface OutreachCounts {
  sms: SmsCounts;
  email: EmailCounts;
}

/** Every count 0. */
export function emptyOutreachCounts(): OutreachCounts {
  return {
    sms: { sent: 0, failed: 0, rejected: 0, expired: 0 },
    email: { sent: 0, failed: 0, rejected: 0, expired: 0, delivered: 0, bounced: 0, blocked: 0, spamReported: 0 },
  };
}

/**
 * Adds `n` messages of a stored `status` to `counts`. An SMS can never take an email-only status,
 * nor any message a status outside the contract; should one be stored, it is not reported.
 */
export function addStatusCount(counts: OutreachCounts, channel: Channel, status: string, n: number): void {
  if (channel === 'sms') {
    if (isSmsStatus(status)) counts.sms[statusKey(status)] += n;
  } else if (isDeliveryStatus(status)) counts.email[statusKey(status)] += n;
}

/** The count of one status on one channel (0 for an email-only status of text messages). */
export function statusCount(counts: OutreachCounts, channel: Channel, status: DeliveryStatus): number {
  if (channel === 'email') return counts.email[statusKey(status)];
  return isSmsStatus(status) ? counts.sms[statusKey(status)] : 0;
}

/** The SQL and parameters of {@link queryOutreach} (exposed for plans and benchmarks). */
export function outreachQuery(range: MetricsRange): { query: string; query_params: QueryParams } {
  return outreachPeriodsQuery([range]);
}

/** Outreach of several disjoint ranges (time order) in one read of each table, by `period`, the range's index. */
export function outreachPeriodsQuery(ranges: readonly MetricsRange[]): { query: string; query_params: QueryParams } {
  const params: QueryParams = {};
  const union = rangesUnion(
    ranges,
    {
      grains: GRAINS,
      rollup: (where, table, period) => `SELECT ${period} AS period, channel, status, sum(events) AS n
  FROM ${table}
  WHERE ${where}
  GROUP BY period, channel, status`,
      raw: (where, period) => `SELECT ${period} AS period, channel, status, count() AS n
  FROM delivery_events
  WHERE ${where}
  GROUP BY period, channel, status`,
    },
    params,
  );
  const query = `SELECT period, channel, status, sum(n) AS events
FROM
(
${union}
)
GROUP BY period, channel, status`;
  return { query, query_params: params };
}

/** Text messages and emails by status in `[from, to]` (both inclusive); every key present, 0 when none. */
export async function queryOutreach(client: ClickHouseClient, range: MetricsRange): Promise<OutreachCounts> {
  return (await queryOutreachPeriods(client, [range]))[0]!;
}

/**
 * {@link queryOutreach} of several disjoint ranges of one tenant and filters, in time order (the
 * previous period, then the current one), at the cost of about one range: each table is read once.
 */
export async function queryOutreachPeriods(client: ClickHouseClient, ranges: readonly MetricsRange[]): Promise<OutreachCounts[]> {
  for (const range of ranges) validateRange(range);
  for (const [index, range] of ranges.entries()) {
    const before = ranges[index - 1];
    if (
      before &&
      (before.toMs >= range.fromMs ||
        before.tenantId !== range.tenantId ||
        before.playbookId !== range.playbookId ||
        before.campaignId !== range.campaignId)
    )
      throw new InvalidArgumentError('ranges read together must be of one tenant and filters, disjoint and in time order');
  }
  const result = await client.query({ ...outreachPeriodsQuery(ranges), format: 'JSONEachRow' });
  const rows = await result.json<{ period: string | number; channel: 'sms' | 'email'; status: string; events: string | number }>();
  const counts = ranges.map(() => emptyOutreachCounts());
  for (const row of rows) {
    addStatusCount(counts[Number(row.period)]!, row.channel, row.status, Number(row.events));
  }
  return counts;
}
