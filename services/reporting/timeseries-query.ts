import { DELIVERY_STATUSES, SMS_STATUSES, statusKey, type Channel, type DeliveryStatus } from '../events/types.js';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { dateTimeText } from '../platform/clickhouse-values.js';
import { InvalidIntervalError, TooManyBucketsError, UnknownMetricError } from './errors.js';
import { DAY_MS, rangeUnion, ROLLUP_BUCKET_MS, validateRange, type MetricsRange, type QueryParams, type RollupGrain } from './range.js';
import { assertKnownTimeZone } from './time-zones.js';
import { rate, RATE_DEFINITIONS, RATE_IDS } from './rates.js';

/**
 * A metric as hour or day buckets local to an IANA time zone, clipped to the exact range.
 *
 * Why this is exact: every local hour and day boundary of the zones in use falls on a 15-minute
 * UTC boundary, so a whole 15-minute rollup bucket lies inside exactly one local hour and one
 * local day — `toStartOfHour(bucket, tz)` / `toStartOfDay(bucket, tz)` assign it — and the raw
 * edges are assigned event by event. The daily (UTC) rollup is used only where a UTC day is a
 * whole local bucket: day buckets in a zone that is UTC all year. Local days of 23 or 25 hours and the repeated hour of a
 * DST change come out as the engine's time zone data says.
 */

export type TimeseriesInterval = 'hour' | 'day';

export interface TimeseriesQuery extends MetricsRange {
  /** `entries`, `exits`, `sms.<status>` or `email.<status>` with camelCase statuses (`email.spamReported`), or a rate (`email.bounceRate`). */
  metric: string;
  interval: TimeseriesInterval;
  /** IANA time zone name known to ClickHouse, e.g. `UTC`, `America/New_York`, `Asia/Kathmandu`. */
  tz: string;
}

export interface TimeseriesPoint {
  /** Start of the local bucket, ISO-8601 with the zone's offset: `2026-03-08T00:00:00-05:00`. */
  start: string;
  /** The count, or for a rate numerator / denominator (null when the denominator is 0). */
  value: number | null;
  /** Rates only: the exact parts of value. */
  numerator?: number;
  denominator?: number;
}

/** Most buckets one answer may have. */
export const MAX_TIMESERIES_BUCKETS = 10_000;

/**
 * What a metric counts: assignments of one action, deliveries of one channel and status, or a
 * rate (rates.ts): deliveries of one channel with a numerator and a denominator set of statuses.
 */
type MetricSource =
  | { table: 'assignment'; action: 'entered' | 'exited' }
  | { table: 'delivery'; channel: Channel; numerator: readonly DeliveryStatus[]; denominator?: readonly DeliveryStatus[] };

const METRICS = new Map<string, MetricSource>([
  ['entries', { table: 'assignment', action: 'entered' }],
  ['exits', { table: 'assignment', action: 'exited' }],
  ...SMS_STATUSES.map((status): [string, MetricSource] => [
    `sms.${statusKey(status)}`,
    { table: 'delivery', channel: 'sms', numerator: [status] },
  ]),
  ...DELIVERY_STATUSES.map((status): [string, MetricSource] => [
    `email.${statusKey(status)}`,
    { table: 'delivery', channel: 'email', numerator: [status] },
  ]),
  ...RATE_DEFINITIONS.map((rate): [string, MetricSource] => [
    rate.id,
    { table: 'delivery', channel: rate.channel, numerator: rate.numerator, denominator: rate.denominator },
  ]),
]);

/** The rate metrics: their points carry numerator and denominator. */
export function isRateMetric(metric: string): boolean {
  return RATE_IDS.includes(metric);
}

/** `'sent', 'failed'` — statuses are a closed list of constants, so they are written inline. */
const statusList = (statuses: readonly DeliveryStatus[]) => statuses.map((status) => `'${status}'`).join(', ');

export const TIMESERIES_METRICS: readonly string[] = [...METRICS.keys()];

const INTERVALS = {
  // Function giving the local bucket start; nominal length (for the bucket limit); step between
  // candidate instants of the zero-filled bucket list, no longer than the shortest local bucket.
  hour: { startOf: 'toStartOfHour', nominalMs: 3_600_000, stepSeconds: ROLLUP_BUCKET_MS / 1000 },
  day: { startOf: 'toStartOfDay', nominalMs: 86_400_000, stepSeconds: 3600 },
} as const;

/** Zones whose offset is 0 at every instant: their local days are the daily rollup's UTC days. */
const ALWAYS_UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Universal', 'Etc/Universal', 'Zulu', 'Etc/Zulu', 'UCT', 'Etc/UCT']);

function grains(q: TimeseriesQuery, daily: string, fifteenMinutes: string): RollupGrain[] {
  const fine = { ms: ROLLUP_BUCKET_MS, table: fifteenMinutes };
  return q.interval === 'day' && ALWAYS_UTC_ZONES.has(q.tz) ? [{ ms: DAY_MS, table: daily }, fine] : [fine];
}

export function parseMetric(metric: string): MetricSource {
  const source = typeof metric === 'string' ? METRICS.get(metric) : undefined;
  if (!source) throw new UnknownMetricError(String(metric), TIMESERIES_METRICS);
  return source;
}

/** `+05:30`, `-05:00`, `+00:00` (seconds only for the odd historical offset). */
export function formatOffset(offsetSeconds: number): string {
  const sign = offsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(offsetSeconds);
  const hh = String(Math.floor(abs / 3600)).padStart(2, '0');
  const mm = String(Math.floor((abs % 3600) / 60)).padStart(2, '0');
  const ss = abs % 60;
  return `${sign}${hh}:${mm}${ss === 0 ? '' : `:${String(ss).padStart(2, '0')}`}`;
}

function localIso(epochSeconds: number, offsetSeconds: number): string {
  return `${new Date((epochSeconds + offsetSeconds) * 1000).toISOString().slice(0, 19)}${formatOffset(offsetSeconds)}`;
}

/** The SQL and parameters of {@link queryTimeseries} (exposed for plans and benchmarks); arguments already checked. */
export function timeseriesQuery(q: TimeseriesQuery): { query: string; query_params: QueryParams } {
  const source = parseMetric(q.metric);
  const interval = INTERVALS[q.interval];
  const startOf = (instant: string) => `${interval.startOf}(${instant}, {tz:String})`;
  const params: QueryParams = {};
  let union: string;
  if (source.table === 'assignment') {
    params.action = source.action;
    union = rangeUnion(
      q,
      {
        grains: grains(q, 'assignment_counts_1d', 'assignment_counts_15m'),
        rollup: (
          where,
          table,
        ) => `SELECT ${startOf('bucket')} AS start, sum(${source.action === 'entered' ? 'entries' : 'exits'}) AS n, toUInt64(0) AS d
  FROM ${table}
  WHERE ${where}
  GROUP BY start`,
        raw: (where) => `SELECT ${startOf("toDateTime(occurred_at, 'UTC')")} AS start, count() AS n, toUInt64(0) AS d
  FROM assignment_events
  WHERE ${where} AND action = {action:String}
  GROUP BY start`,
      },
      params,
    );
  } else {
    params.channel = source.channel;
    const numerator = `status IN (${statusList(source.numerator)})`;
    const denominator = source.denominator ? `status IN (${statusList(source.denominator)})` : undefined;
    const statuses = [...new Set([...source.numerator, ...(source.denominator ?? [])])];
    const condition = ` AND channel = {channel:String} AND status IN (${statusList(statuses)})`;
    const parts = (events: string) =>
      `sumIf(${events}, ${numerator}) AS n, ${denominator ? `sumIf(${events}, ${denominator})` : 'toUInt64(0)'} AS d`;
    union = rangeUnion(
      q,
      {
        grains: grains(q, 'delivery_counts_1d', 'delivery_counts_15m'),
        rollup: (where, table) => `SELECT ${startOf('bucket')} AS start, ${parts('events')}
  FROM ${table}
  WHERE ${where}${condition}
  GROUP BY start`,
        raw: (where) => `SELECT ${startOf("toDateTime(occurred_at, 'UTC')")} AS start, ${parts('toUInt64(1)')}
  FROM delivery_events
  WHERE ${where}${condition}
  GROUP BY start`,
      },
      params,
    );
  }
  // Every bucket from the one holding `from` to the one holding `to`, zeros included: the
  // bucket of each candidate instant from `from` (floored to 15 minutes) stepping by less than
  // the shortest local bucket, and of `to` itself. DST days come out as the engine sees them.
  params.tz = q.tz;
  const gridFromMs = Math.floor(q.fromMs / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS;
  params.gridFrom = dateTimeText(gridFromMs);
  params.gridStep = interval.stepSeconds;
  params.gridCount = Math.floor((q.toMs - gridFromMs) / (interval.stepSeconds * 1000)) + 1;
  params.gridLast = dateTimeText(q.toMs);
  const grid = `SELECT ${startOf("{gridFrom:DateTime('UTC')} + toIntervalSecond(number * {gridStep:UInt32})")} AS start, toUInt64(0) AS n, toUInt64(0) AS d
  FROM numbers({gridCount:UInt32})
  UNION ALL
  SELECT ${startOf("{gridLast:DateTime('UTC')}")} AS start, toUInt64(0) AS n, toUInt64(0) AS d`;
  const query = `SELECT toUnixTimestamp(start) AS startSeconds, timeZoneOffset(start) AS offsetSeconds, sum(n) AS value, sum(d) AS denominator
FROM
(
  ${grid}
  UNION ALL
${union}
)
GROUP BY start
ORDER BY start`;
  return { query, query_params: params };
}

/**
 * `metric` per local hour or day of `tz` over `[from, to]` (both inclusive, to the millisecond):
 * every bucket from the one holding `from` to the one holding `to`, zeros included; the edge
 * buckets count only the events inside the range.
 */
export async function queryTimeseries(client: ClickHouseClient, q: TimeseriesQuery): Promise<TimeseriesPoint[]> {
  validateRange(q);
  parseMetric(q.metric);
  if (!Object.hasOwn(INTERVALS, q.interval)) throw new InvalidIntervalError(String(q.interval));
  const interval = INTERVALS[q.interval];
  const buckets = Math.floor((q.toMs - q.fromMs) / interval.nominalMs) + 1;
  if (buckets > MAX_TIMESERIES_BUCKETS) throw new TooManyBucketsError(buckets, MAX_TIMESERIES_BUCKETS, q.interval);
  await assertKnownTimeZone(client, q.tz);
  const result = await client.query({ ...timeseriesQuery(q), format: 'JSONEachRow' });
  const rows = await result.json<{
    startSeconds: string | number;
    offsetSeconds: string | number;
    value: string | number;
    denominator: string | number;
  }>();
  const isRate = isRateMetric(q.metric);
  return rows.map((row) => {
    const start = localIso(Number(row.startSeconds), Number(row.offsetSeconds));
    if (!isRate) return { start, value: Number(row.value) };
    const { numerator, denominator, value } = rate(Number(row.value), Number(row.denominator));
    return { start, value, numerator, denominator };
  });
}
