import { InvalidArgumentError, InvalidRangeError } from './errors.js';

/**
 * An exact, doubly inclusive range `from <= occurred_at <= to` at millisecond precision, read at
 * the speed of the 15-minute rollups: the whole rollup buckets inside the range come from the
 * rollup table, the partial buckets at the two edges from the raw table. Both tables are sorted
 * by (tenant_id, time, ...), so every part is an index range scan, and an edge part never
 * reads more than 15 minutes of one tenant's raw events.
 */

export const ROLLUP_BUCKET_MS = 15 * 60_000;
/** The supported instants: what both DateTime64(3) and the rollups' DateTime can hold. */
export const MIN_TIME_MS = 0;
export const MAX_TIME_MS = Date.UTC(2106, 0, 1) - 1;

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

export interface RangeSplit {
  /** Rollup buckets `from <= bucket < to` (epoch ms, multiples of 15 minutes), when the range holds a whole bucket. */
  whole?: { fromMs: number; toMs: number };
  /** Raw event ranges, inclusive at both ends: none, one (no whole bucket) or the two edges. */
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
  for (const key of ['fromMs', 'toMs'] as const) {
    const value = range[key];
    if (!Number.isSafeInteger(value)) throw new InvalidRangeError(`${key} must be whole epoch milliseconds, got ${String(value)}`);
    if (value < MIN_TIME_MS || value > MAX_TIME_MS) {
      throw new InvalidRangeError(`${key} must lie between 1970-01-01T00:00:00.000Z and ${new Date(MAX_TIME_MS).toISOString()}`);
    }
  }
  if (range.fromMs > range.toMs) {
    throw new InvalidRangeError(`from (${new Date(range.fromMs).toISOString()}) is after to (${new Date(range.toMs).toISOString()})`);
  }
}

/** Splits `[fromMs, toMs]` into whole 15-minute buckets and the raw edges around them. */
export function splitRange(fromMs: number, toMs: number): RangeSplit {
  // First bucket starting at or after `from`; end of the last bucket ending at or before `to`
  // (a bucket [b, b + 15 min) is inside when b + 15 min - 1 ms <= to).
  const wholeFrom = Math.ceil(fromMs / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS;
  const wholeTo = Math.floor((toMs + 1) / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS;
  if (wholeFrom >= wholeTo) return { raw: [{ fromMs, toMs }] };
  const raw: RangeSplit['raw'] = [];
  if (fromMs < wholeFrom) raw.push({ fromMs, toMs: wholeFrom - 1 });
  if (wholeTo <= toMs) raw.push({ fromMs: wholeTo, toMs });
  return { whole: { fromMs: wholeFrom, toMs: wholeTo }, raw };
}

/** `YYYY-MM-DD hh:mm:ss.mmm` in UTC, the text form of a DateTime64(3, 'UTC') parameter. */
export function dateTime64Param(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

/** `YYYY-MM-DD hh:mm:ss` in UTC, the text form of a DateTime('UTC') parameter (milliseconds dropped). */
export function dateTimeParam(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export type QueryParams = Record<string, string | number>;

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
  /** A SELECT over the raw table restricted by `where` (tenant, time and filters). */
  raw(where: string): string;
  /** A SELECT over the rollup table restricted by `where` (tenant, bucket and filters). */
  rollup(where: string): string;
}

/**
 * The parts of an exact range as one `UNION ALL` (only the parts the range needs), with the
 * parameters they use. Every WHERE starts with the sort key prefix (tenant_id, time).
 */
export function rangeUnion(range: MetricsRange, parts: RangeParts, params: QueryParams): string {
  const split = splitRange(range.fromMs, range.toMs);
  params.tenantId = range.tenantId;
  const filters = filterCondition(range, params);
  const selects: string[] = [];
  if (split.whole) {
    params.wholeFrom = dateTimeParam(split.whole.fromMs);
    params.wholeTo = dateTimeParam(split.whole.toMs);
    selects.push(
      parts.rollup(
        "tenant_id = {tenantId:String} AND bucket >= {wholeFrom:DateTime('UTC')} AND bucket < {wholeTo:DateTime('UTC')}" + filters,
      ),
    );
  }
  split.raw.forEach((edge, index) => {
    const from = `raw${index}From`;
    const to = `raw${index}To`;
    params[from] = dateTime64Param(edge.fromMs);
    params[to] = dateTime64Param(edge.toMs);
    selects.push(
      parts.raw(
        `tenant_id = {tenantId:String} AND occurred_at >= {${from}:DateTime64(3, 'UTC')} AND occurred_at <= {${to}:DateTime64(3, 'UTC')}` +
          filters,
      ),
    );
  });
  return selects.join('\nUNION ALL\n');
}
