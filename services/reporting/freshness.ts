import type { ClickHouseClient } from '../platform/clickhouse.js';
import { dateTime64Text } from '../platform/clickhouse-values.js';

/** How complete a metrics answer is, read from what the ingest records in `ingest_progress`. */
export interface Freshness {
  /** ISO instant: everything published to the event topics before it is counted; null when ingest never reported. */
  countedThrough: string | null;
  /** Records published but not yet counted, at the latest observation (sum over partitions). */
  lagEvents: number;
  /** Seconds from countedThrough to now (3 decimals), null when countedThrough is null. */
  lagSeconds: number | null;
  /** 'current' (ingest reported within staleAfterMs and lagEvents is 0), 'behind' (reporting, lag > 0), 'no_consumer' (no report within staleAfterMs, or never). */
  state: 'current' | 'behind' | 'no_consumer';
  /** When ingest last reported progress (ISO), null if never. */
  reportedAt: string | null;
}

export interface FreshnessOptions {
  /** The ingest's consumer group (INGEST_GROUP_ID). */
  groupId: string;
  /** Now, in epoch milliseconds. */
  nowMs: number;
  /** With no report newer than this (FRESHNESS_STALE_AFTER_MS), the state is 'no_consumer'. */
  staleAfterMs: number;
  /**
   * Only these topics (the prefixed assignment and delivery topics); all topics of the group when
   * absent. Worth passing: partitions of topics the group no longer reads (a changed TOPIC_PREFIX
   * with the same INGEST_GROUP_ID) would otherwise hold countedThrough back until their rows age out.
   */
  topics?: string[];
}

/** How far back progress rows are read: the table's TTL. */
export const PROGRESS_WINDOW_MS = 2 * 86_400_000;

interface ResultRow {
  partitions: string | number;
  lag_events: string | number;
  /** min over partitions of the latest caught-up observation (epoch ms); 0 when a partition has none in the window. */
  counted_through_ms: string | number;
  reported_ms: string | number;
  /** The oldest of the partitions' latest reports (epoch ms). */
  oldest_report_ms: string | number;
}

/**
 * The SQL and parameters of {@link queryFreshness}. Per partition (rows of the last 2 days of the
 * group): the latest committed offset and high watermark (argMax by observed_at, whichever ingest
 * replica wrote them), and the latest observed_at whose high watermark the latest committed offset
 * has reached (countedThrough of the partition). Then over the partitions: the sum of the lags, the
 * smallest countedThrough, the newest and the oldest latest report.
 */
export function freshnessQuery(options: Omit<FreshnessOptions, 'staleAfterMs'>): { query: string; query_params: Record<string, unknown> } {
  const query_params: Record<string, unknown> = { groupId: options.groupId, since: dateTime64Text(options.nowMs - PROGRESS_WINDOW_MS) };
  if (options.topics !== undefined) query_params.topics = options.topics;
  const where = [
    'group_id = {groupId:String}',
    "observed_at >= {since:DateTime64(3, 'UTC')}",
    ...(options.topics !== undefined ? ['has({topics:Array(String)}, topic)'] : []),
  ].join(' AND ');
  // One read of the table (a table read is the embedded engine's main fixed cost): per partition
  // the latest report, and the latest observation whose high watermark that report's committed
  // offset has reached (0 when none), from the partition's observations as arrays.
  // Inner names (p_*) differ from the outer aliases: ClickHouse would read an alias equal to a column as that column.
  const query = `SELECT
  count() AS partitions,
  sum(if(p_high > p_committed, p_high - p_committed, 0)) AS lag_events,
  min(p_counted_through_ms) AS counted_through_ms,
  max(p_reported_ms) AS reported_ms,
  min(p_reported_ms) AS oldest_report_ms
FROM
(
  SELECT
    argMax(committed_offset, observed_at) AS p_committed,
    argMax(high_watermark, observed_at) AS p_high,
    toUnixTimestamp64Milli(max(observed_at)) AS p_reported_ms,
    arrayMax(arrayMap((at, high) -> if(high <= p_committed, toUnixTimestamp64Milli(at), 0), groupArray(observed_at), groupArray(high_watermark)))
      AS p_counted_through_ms
  FROM ingest_progress
  WHERE ${where}
  GROUP BY topic, partition
)`;
  return { query, query_params };
}

/**
 * How complete the metrics are now, from the progress every ingest process records per owned
 * partition (one ClickHouse query, so every API replica gives the same answer):
 *
 * - `countedThrough`: per partition, the latest observation time T whose high watermark the
 *   latest committed offset has reached (everything published to it before T is written: the
 *   ingest commits only after writing); the smallest over the partitions. Null when the ingest
 *   never reported, and also when some partition has not reached any observation of the last
 *   2 days (then nothing can be claimed).
 * - `lagEvents`: Σ (latest high watermark − latest committed offset), as of the latest observations.
 * - `lagSeconds`: now − countedThrough, never negative (another host's clock may run ahead).
 * - `state`: 'no_consumer' when no report within `staleAfterMs` (or none ever); 'current' when
 *   every partition reported within `staleAfterMs` and lagEvents is 0; otherwise 'behind' —
 *   which includes a partition nobody has reported within `staleAfterMs` while others are
 *   reported (its consumer is gone and its new records are not being counted; its countedThrough
 *   stops advancing).
 *
 * The claim is as good as the clocks: observed_at comes from the ingest host's clock.
 */
export async function queryFreshness(client: ClickHouseClient, options: FreshnessOptions): Promise<Freshness> {
  return freshnessAt(await readProgressSummary(client, options), options.nowMs, options.staleAfterMs);
}

/** What {@link freshnessQuery} returns: the progress of the group's partitions, before `now` is applied. */
export interface ProgressSummary {
  /** Partitions with rows in the window; 0: the ingest never reported (or not in the last 2 days). */
  partitions: number;
  lagEvents: number;
  /** The smallest partition countedThrough (epoch ms); null when none or some partition has none. */
  countedThroughMs: number | null;
  /** The newest of the partitions' latest reports (epoch ms); null when none. */
  reportedMs: number | null;
  /** The oldest of the partitions' latest reports (epoch ms); null when none. */
  oldestReportMs: number | null;
}

/** Runs {@link freshnessQuery}. */
export async function readProgressSummary(
  client: ClickHouseClient,
  options: Omit<FreshnessOptions, 'staleAfterMs'>,
): Promise<ProgressSummary> {
  const { query, query_params } = freshnessQuery(options);
  const result = await client.query({ query, query_params, format: 'JSONEachRow' });
  const [row] = await result.json<ResultRow>();
  const partitions = Number(row?.partitions ?? 0);
  if (!row || partitions === 0) return { partitions: 0, lagEvents: 0, countedThroughMs: null, reportedMs: null, oldestReportMs: null };
  const countedMs = Number(row.counted_through_ms);
  return {
    partitions,
    lagEvents: Number(row.lag_events),
    countedThroughMs: countedMs > 0 ? countedMs : null,
    reportedMs: Number(row.reported_ms),
    oldestReportMs: Number(row.oldest_report_ms),
  };
}

/** The Freshness of a progress summary at `nowMs` (pure: see {@link queryFreshness} for the rules). */
export function freshnessAt(summary: ProgressSummary, nowMs: number, staleAfterMs: number): Freshness {
  const { lagEvents, countedThroughMs, reportedMs, oldestReportMs } = summary;
  if (summary.partitions === 0 || reportedMs === null || oldestReportMs === null) {
    return { countedThrough: null, lagEvents: 0, lagSeconds: null, state: 'no_consumer', reportedAt: null };
  }
  let state: Freshness['state'];
  if (nowMs - reportedMs > staleAfterMs) state = 'no_consumer';
  else if (lagEvents === 0 && nowMs - oldestReportMs <= staleAfterMs) state = 'current';
  else state = 'behind';
  return {
    countedThrough: countedThroughMs === null ? null : new Date(countedThroughMs).toISOString(),
    lagEvents,
    lagSeconds: countedThroughMs === null ? null : Math.max(0, nowMs - countedThroughMs) / 1000,
    state,
    reportedAt: new Date(reportedMs).toISOString(),
  };
}

/**
 * {@link queryFreshness} for an API that answers many requests: the progress query (a scan of up
 * to 2 days of rows, tens of milliseconds on the embedded engine with 12 partitions) runs at most
 * once per `maxAgeMs` (and once at a time); each call applies its own `now` to the last summary.
 * A summary up to `maxAgeMs` old can only make the answer more conservative (an older
 * countedThrough, 'no_consumer' a little sooner), never claim more. The ingest reports every
 * INGEST_LAG_REFRESH_MS, so a `maxAgeMs` of about a second loses next to nothing.
 */
export function cachedFreshness(
  client: ClickHouseClient,
  options: Omit<FreshnessOptions, 'nowMs'> & { maxAgeMs: number; clock?: () => number },
): (nowMs?: number) => Promise<Freshness> {
  const clock = options.clock ?? Date.now;
  let last: { readAt: number; summary: Promise<ProgressSummary> } | undefined;
  return async (nowMs = clock()) => {
    const readAt = clock();
    if (!last || readAt - last.readAt > options.maxAgeMs) {
      const entry = { readAt, summary: readProgressSummary(client, { ...options, nowMs: readAt }) };
      last = entry;
      // A failed read is not kept: the next call tries again.
      entry.summary.catch(() => {
        if (last === entry) last = undefined;
      });
    }
    return freshnessAt(await last.summary, nowMs, options.staleAfterMs);
  };
}
