import { INSTANT_MAX_MS, INSTANT_MIN_MS, OUTSIDE_WINDOW } from '../events/instant.js';
import { dateTime64Text, dateTimeText, type QueryParams } from '../platform/clickhouse-values.js';
import { InvalidArgumentError, InvalidRangeError } from './errors.js';

export type { QueryParams };

/**
 * An exact, doubly inclusive range `from <= occurred_at <= to` at millisecond precision, read at
 * the speed of the rollups: the whole UTC days inside the range come from the daily rollup, the
 * whole 15-minute buckets left at its two edges from the 15-minute rollup, and the partial
 * buckets at the very edges from the raw table. Every table is sorted by (tenant_id, time, ...),
 * so every part is an index range scan, and a raw part never reads more than 15 minutes of one
 * tenant's events.
 */

export const ROLLUP_BUCKET_MS = 15 * 60_000;
export const DAY_MS = 86_400_000;
/** The supported instants: the event contract's window (events/instant.ts). */
export const MIN_TIME_MS = INSTANT_MIN_MS;
export const MAX_TIME_MS = INSTANT_MAX_MS;

/** What every range metric takes. Filters left undefined do not filter. */
export interface MetricsRange {
  tenantId: string;
  /** Epoch milliseconds, inclusive. */
  fromMs: number;
  /** Epoch milliseconds, inclusive. */
  toMs: number;
  playbookId?: string;
  campaignId?: string;
}

/** A rollup table and the length of its (UTC-aligned) buckets. */
export interface RollupGrain {
  ms: number;
  table: string;
}

export interface RangeSplit {
  /** Rollup buckets `from <= bucket < to` (epoch ms, multiples of the grain), coarsest first. */
  rollups: Array<{ grain: RollupGrain; fromMs: number; toMs: number }>;
  /** Raw event ranges, inclusive at both ends. */
  raw: Array<{ fromMs: number; toMs: number }>;
}

export function validateRange(range: MetricsRange): void {
  if (typeof range.tenantId !== 'string' || range.tenantId === '') {
    throw new InvalidArgumentError('tenantId must be a non-empty string');
  }
  for (const key of ['playbookId', 'campaignId'] as const) {
    const value = range[key];
    if (value !== undefined && typeof value !== 'string') throw new InvalidArgumentError(`${key} must be a string`);
  }
  for (const [key, name] of [
    ['fromMs', 'from'],
    ['toMs', 'to'],
  ] as const) {
    const value = range[key];
    if (!Number.isSafeInteger(value)) throw new InvalidRangeError(`${name} must be whole epoch milliseconds, got ${String(value)}`);
    if (value < MIN_TIME_MS || value > MAX_TIME_MS)
      throw new InvalidRangeError(`${name} (${new Date(value).toISOString()}) ${OUTSIDE_WINDOW}`);
  }
  if (range.fromMs > range.toMs) {
    throw new InvalidRangeError(`from (${new Date(range.fromMs).toISOString()}) is after to (${new Date(range.toMs).toISOString()})`);
  }
}

/**
 * Splits `[fromMs, toMs]` into whole buckets of the coarsest grain that fits, then the parts
 * left at either edge into whole buckets of the next grain, and so on; what no grain covers is
 * read raw. Each grain must divide the previous one (1 day, 15 minutes).
 */
export function splitRange(fromMs: number, toMs: number, grains: readonly RollupGrain[]): RangeSplit {
  const split: RangeSplit = { rollups: [], raw: [] };
  const cover = (from: number, to: number, level: number): void => {
    const grain = grains[level];
    if (!grain) {
      split.raw.push({ fromMs: from, toMs: to });
      return;
    }
    // First bucket starting at or after `from`; end of the last bucket ending at or before `to`
    // (a bucket [b, b + grain) is inside when b + grain - 1 ms <= to).
    const wholeFrom = Math.ceil(from / grain.ms) * grain.ms;
    const wholeTo = Math.floor((to + 1) / grain.ms) * grain.ms;
    if (wholeFrom >= wholeTo) {
      cover(from, to, level + 1);
      return;
    }
    if (from < wholeFrom) cover(from, wholeFrom - 1, level + 1);
    split.rollups.push({ grain, fromMs: wholeFrom, toMs: wholeTo });
    if (wholeTo <= to) cover(wholeTo, to, level + 1);
  };
  cover(fromMs, toMs, 0);
  split.rollups.sort((a, b) => b.grain.ms - a.grain.ms || a.fromMs - b.fromMs);
  return split;
}

/** `AND playbook_id = … AND campaign_id = …` for the filters given, as parameters. */
export function filterCondition(range: MetricsRange, params: QueryParams): string {
  let sql = '';
  if (range.playbookId !== undefined) {
    sql += ' AND playbook_id = {playbookId:String}';
    params.playbookId = range.playbookId;
  }
  if (range.campaignId !== undefined) {
    sql += ' AND campaign_id = {campaignId:String}';
    params.campaignId = range.campaignId;
  }
  return sql;
}

export interface RangeParts {
  /** The rollup tables to use, coarsest first (each grain dividing the previous one). */
  grains: readonly RollupGrain[];
  /**
   * A SELECT over the raw table restricted by `where` (tenant, time and filters). `period` is an
   * expression giving the index of the range a row belongs to (always 0 for one range).
   */
  raw(where: string, period: string): string;
  /** A SELECT over a rollup table restricted by `where` (tenant, bucket and filters); `period` as for raw. */
  rollup(where: string, table: string, period: string): string;
}

/**
 * The parts of an exact range as one `UNION ALL`, with the parameters they use: one SELECT per
 * table the range needs (a rollup's two edge pieces are one SELECT with `OR`, which the primary
 * key turns into two mark ranges). Every WHERE starts with the sort key prefix (tenant_id, time).
 */
export function rangeUnion(range: MetricsRange, parts: RangeParts, params: QueryParams): string {
  return rangesUnion([range], parts, params);
}

/**
 * Several disjoint ranges of one tenant and filters (in time order) in the table reads of one:
 * each table is read once with the pieces of every range OR-ed, and `period` (an expression
 * over the row's time) tells which range a row belongs to. `compare=previous` reads the current
 * and the previous window this way at the cost of about one.
 */
export function rangesUnion(ranges: readonly MetricsRange[], parts: RangeParts, params: QueryParams): string {
  const first = ranges[0]!;
  params.tenantId = first.tenantId;
  const filters = filterCondition(first, params);
  const splits = ranges.map((range) => splitRange(range.fromMs, range.toMs, parts.grains));
  // Range i holds the instants from its from on: period = how many later ranges' starts lie at or before t.
  const period = (column: string, type: string, text: (ms: number) => string) => {
    if (ranges.length === 1) return '0';
    const starts = ranges.slice(1).map((range, index) => {
      const name = `period${index + 1}From_${column}`;
      params[name] = text(range.fromMs);
      return `(${column} >= {${name}:${type}})`;
    });
    return starts.join(' + ');
  };
  const selects: string[] = [];
  const anyOf = (conditions: string[]) => (conditions.length === 1 ? conditions[0]! : `(${conditions.map((c) => `(${c})`).join(' OR ')})`);
  parts.grains.forEach((grain, grainIndex) => {
    const conditions = splits.flatMap((split, rangeIndex) =>
      split.rollups
        .filter((whole) => whole.grain === grain)
        .map((whole, index) => {
          const from = `rollup${grainIndex}_${rangeIndex}_${index}From`;
          const to = `rollup${grainIndex}_${rangeIndex}_${index}To`;
          params[from] = dateTimeText(whole.fromMs);
          params[to] = dateTimeText(whole.toMs);
          return `bucket >= {${from}:DateTime('UTC')} AND bucket < {${to}:DateTime('UTC')}`;
        }),
    );
    if (conditions.length > 0)
      selects.push(
        parts.rollup(
          `tenant_id = {tenantId:String} AND ${anyOf(conditions)}${filters}`,
          grain.table,
          period('bucket', "DateTime('UTC')", dateTimeText),
        ),
      );
  });
  const raw = splits.flatMap((split, rangeIndex) =>
    split.raw.map((edge, index) => {
      const from = `raw${rangeIndex}_${index}From`;
      const to = `raw${rangeIndex}_${index}To`;
      params[from] = dateTime64Text(edge.fromMs);
      params[to] = dateTime64Text(edge.toMs);
      return `occurred_at >= {${from}:DateTime64(3, 'UTC')} AND occurred_at <= {${to}:DateTime64(3, 'UTC')}`;
    }),
  );
  if (raw.length > 0)
    selects.push(
      parts.raw(`tenant_id = {tenantId:String} AND ${anyOf(raw)}${filters}`, period('occurred_at', "DateTime64(3, 'UTC')", dateTime64Text)),
    );
  return selects.join('\nUNION ALL\n');
}
