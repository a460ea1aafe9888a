import { DAY_MS, ROLLUP_BUCKET_MS, type MetricsRange } from './range.js';

/**
 * Answers when raw events are kept for a limited time (RAW_RETENTION_DAYS). A range is read from
 * the rollups plus the raw events of the partial 15-minute buckets at its two edges (range.ts);
 * once the raw rows of an edge may be gone, that edge can no longer be exact to the millisecond.
 * Such an edge is widened to its whole 15-minute bucket, read from the 15-minute rollup (kept for
 * ever), and the answer says so in `precision`: never a silently partial count.
 *
 * Which edges: the TTL drops a row some time after `occurred_at + days` (at a merge), so a row
 * older than the cut-off may be there or not. Raw rows are read only from `rawEventsFrom`: now −
 * days + a margin, rounded up to a 15-minute boundary. A raw edge lies inside one 15-minute
 * bucket, so it is either wholly from that instant on (read raw, exact) or wholly before it
 * (widened). The margin covers a query and a cached answer finishing after now, and clocks that
 * differ between this process and the engine by less than it.
 */

/** Margin between the TTL's cut-off and the first instant raw events are read at. */
export const RAW_RETENTION_MARGIN_MS = 3_600_000;

/**
 * The grain an answer's edges are exact to: `millisecond` (the range as asked), or `15m` with
 * the instants counting really starts and ends (both inclusive; ISO-8601 UTC).
 */
export type Precision = { edges: 'millisecond' } | { edges: '15m'; from: string; to: string };

/** The first instant raw events are read at (a 15-minute boundary); undefined when kept for ever. */
export function rawEventsFrom(nowMs: number, retentionDays: number | undefined): number | undefined {
  if (retentionDays === undefined) return undefined;
  const cutoff = nowMs - retentionDays * DAY_MS + RAW_RETENTION_MARGIN_MS;
  return Math.ceil(cutoff / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS;
}

/**
 * The range an answer really counts, and its precision: each edge whose partial 15-minute bucket
 * lies before `rawFromMs` is widened to the whole bucket (`from` down to the bucket's start, `to`
 * up to its last millisecond). With `rawFromMs` undefined, or edges after it, the range is unchanged.
 */
export function preciseRange<R extends MetricsRange>(range: R, rawFromMs: number | undefined): { range: R; precision: Precision } {
  if (rawFromMs === undefined) return { range, precision: { edges: 'millisecond' } };
  let { fromMs, toMs } = range;
  if (fromMs < rawFromMs) fromMs = Math.floor(fromMs / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS;
  if (toMs < rawFromMs) toMs = Math.ceil((toMs + 1) / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS - 1;
  if (fromMs === range.fromMs && toMs === range.toMs) return { range, precision: { edges: 'millisecond' } };
  return {
    range: { ...range, fromMs, toMs },
    precision: { edges: '15m', from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
  };
}
