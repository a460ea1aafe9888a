import { statusKey } from '../events/types.js';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { DAY_MS, rangeUnion, ROLLUP_BUCKET_MS, validateRange, type MetricsRange, type QueryParams, type RollupGrain } from './range.js';

const GRAINS: readonly RollupGrain[] = [
  { ms: DAY_MS, table: 'delivery_counts_1d' },
  { ms: ROLLUP_BUCKET_MS, table: 'delivery_counts_15m' },
];

export interface SmsCounts {
  sent: number;
  failed: number;
  rejected: number;
  expired: number;
}

export interface EmailCounts extends SmsCounts {
  delivered: number;
  bounced: number;
  blocked: number;
  spamReported: number;
}

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

/** The SQL and parameters of {@link queryOutreach} (exposed for plans and benchmarks). */
export function outreachQuery(range: MetricsRange): { query: string; query_params: QueryParams } {
  const params: QueryParams = {};
  const union = rangeUnion(
    range,
    {
      grains: GRAINS,
      rollup: (where, table) => `SELECT channel, status, sum(events) AS n
  FROM ${table}
  WHERE ${where}
  GROUP BY channel, status`,
      raw: (where) => `SELECT channel, status, count() AS n
  FROM delivery_events
  WHERE ${where}
  GROUP BY channel, status`,
    },
    params,
  );
  const query = `SELECT channel, status, sum(n) AS events
FROM
(
${union}
)
GROUP BY channel, status`;
  return { query, query_params: params };
}

/** Text messages and emails by status in `[from, to]` (both inclusive); every key present, 0 when none. */
export async function queryOutreach(client: ClickHouseClient, range: MetricsRange): Promise<OutreachCounts> {
  validateRange(range);
  const result = await client.query({ ...outreachQuery(range), format: 'JSONEachRow' });
  const rows = await result.json<{ channel: 'sms' | 'email'; status: string; events: string | number }>();
  const counts = emptyOutreachCounts();
  for (const row of rows) {
    const byStatus = counts[row.channel] as unknown as Record<string, number>;
    const key = statusKey(row.status);
    // An SMS can never take an email-only status; should one be stored, it is not reported.
    if (key in byStatus) byStatus[key] = (byStatus[key] ?? 0) + Number(row.events);
  }
  return counts;
}
