import type { ClickHouseClient } from '../platform/clickhouse.js';
import { dateTimeText } from '../platform/clickhouse-values.js';

/**
 * The count rollups as computations over the raw tables — the same as their materialized views
 * (schemas/clickhouse/002, 003) — for `verify` (every rollup row against the raw rows it sums)
 * and `rebuild-rollups` (recompute whole months and swap them in atomically per table).
 */

export interface RollupDefinition {
  table: string;
  raw: 'assignment_events' | 'delivery_events';
  /** The bucket of a raw row. */
  bucket: string;
  keys: readonly string[];
  /** Measure column → its aggregate over raw rows. */
  measures: Readonly<Record<string, string>>;
}

const ASSIGNMENT_MEASURES = { entries: "countIf(action = 'entered')", exits: "countIf(action = 'exited')" };
const DELIVERY_MEASURES = { events: 'count()' };
const FIFTEEN = 'toStartOfFifteenMinutes(occurred_at)';
const DAY = "toStartOfDay(occurred_at, 'UTC')";

export const ROLLUPS: readonly RollupDefinition[] = [
  {
    table: 'assignment_counts_15m',
    raw: 'assignment_events',
    bucket: FIFTEEN,
    keys: ['tenant_id', 'playbook_id', 'campaign_id'],
    measures: ASSIGNMENT_MEASURES,
  },
  {
    table: 'assignment_counts_1d',
    raw: 'assignment_events',
    bucket: DAY,
    keys: ['tenant_id', 'playbook_id', 'campaign_id'],
    measures: ASSIGNMENT_MEASURES,
  },
  {
    table: 'delivery_counts_15m',
    raw: 'delivery_events',
    bucket: FIFTEEN,
    keys: ['tenant_id', 'channel', 'status', 'playbook_id', 'campaign_id'],
    measures: DELIVERY_MEASURES,
  },
  {
    table: 'delivery_counts_1d',
    raw: 'delivery_events',
    bucket: DAY,
    keys: ['tenant_id', 'channel', 'status', 'playbook_id', 'campaign_id'],
    measures: DELIVERY_MEASURES,
  },
];

export interface RollupDifference {
  table: string;
  bucket: string;
  key: Record<string, string>;
  /** Measure → [in the rollup, from the raw rows]. */
  values: Record<string, [number, number]>;
}

export interface VerifyReport {
  /** Rollup rows (bucket + key) compared, per table. */
  compared: Record<string, number>;
  differences: RollupDifference[];
  /** Differences beyond those listed. */
  more: number;
}

/** `[fromMs, toMs)` widened to whole UTC days (every rollup bucket inside is whole). */
export function wholeDays(fromMs: number, toMs: number): { fromMs: number; toMs: number } {
  const day = 86_400_000;
  return { fromMs: Math.floor(fromMs / day) * day, toMs: Math.ceil(toMs / day) * day };
}

/** Every rollup bucket in `[fromMs, toMs)` (whole days) against the raw rows it sums; at most `limit` differences listed. */
export async function verifyRollups(client: ClickHouseClient, fromMs: number, toMs: number, limit = 20): Promise<VerifyReport> {
  const range = wholeDays(fromMs, toMs);
  const params = { from: dateTimeText(range.fromMs), to: dateTimeText(range.toMs) };
  const report: VerifyReport = { compared: {}, differences: [], more: 0 };
  for (const rollup of ROLLUPS) {
    const keys = rollup.keys.join(', ');
    const measures = Object.keys(rollup.measures);
    // Both sides as one UNION ALL summed per bucket and key (no join: a FULL JOIN fills the key
    // columns of one-sided rows with defaults).
    const rollupSide = `SELECT bucket, ${keys}, ${measures.map((m) => `${m} AS rollup_${m}, toUInt64(0) AS raw_${m}`).join(', ')}
      FROM ${rollup.table}
      WHERE bucket >= {from:DateTime('UTC')} AND bucket < {to:DateTime('UTC')}`;
    const rawSide = `SELECT ${rollup.bucket} AS bucket, ${keys}, ${Object.entries(rollup.measures)
      .map(([name, expression]) => `toUInt64(0) AS rollup_${name}, toUInt64(${expression}) AS raw_${name}`)
      .join(', ')}
      FROM ${rollup.raw}
      WHERE occurred_at >= {from:DateTime('UTC')} AND occurred_at < {to:DateTime('UTC')}
      GROUP BY bucket, ${keys}`;
    const compared = `SELECT bucket, ${keys}, ${measures.map((m) => `sum(rollup_${m}) AS rollup_${m}, sum(raw_${m}) AS raw_${m}`).join(', ')}
      FROM (${rollupSide} UNION ALL ${rawSide})
      GROUP BY bucket, ${keys}`;
    const differs = measures.map((m) => `rollup_${m} != raw_${m}`).join(' OR ');
    const result = await client.query({
      query: `SELECT count() AS compared, countIf(${differs}) AS different FROM (${compared})`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const [counts] = await result.json<{ compared: string | number; different: string | number }>();
    report.compared[rollup.table] = Number(counts?.compared ?? 0);
    const different = Number(counts?.different ?? 0);
    const room = Math.max(0, limit - report.differences.length);
    if (different > 0 && room > 0) {
      const rows = await client.query({
        query: `SELECT toString(bucket) AS bucket_text, ${rollup.keys.map((k) => `toString(${k}) AS ${k}_text`).join(', ')},
            ${measures.map((m) => `rollup_${m}, raw_${m}`).join(', ')}
          FROM (${compared}) WHERE ${differs} ORDER BY bucket, ${keys} LIMIT ${room}`,
        query_params: params,
        format: 'JSONEachRow',
      });
      for (const row of await rows.json<Record<string, string | number>>()) {
        report.differences.push({
          table: rollup.table,
          bucket: `${String(row.bucket_text).replace(' ', 'T')}Z`,
          key: Object.fromEntries(rollup.keys.map((k) => [k, String(row[`${k}_text`])])),
          values: Object.fromEntries(measures.map((m) => [m, [Number(row[`rollup_${m}`]), Number(row[`raw_${m}`])]])),
        });
      }
    }
    report.more += Math.max(0, different - room);
  }
  return report;
}

/** The UTC months (partitions, `YYYYMM`) that `[fromMs, toMs)` touches. */
export function monthsOf(fromMs: number, toMs: number): string[] {
  const months: string[] = [];
  const cursor = new Date(Date.UTC(new Date(fromMs).getUTCFullYear(), new Date(fromMs).getUTCMonth(), 1));
  while (cursor.getTime() < toMs) {
    months.push(`${cursor.getUTCFullYear()}${String(cursor.getUTCMonth() + 1).padStart(2, '0')}`);
    cursor.setUTCMonth(cursor.getUTCMonth() + 1);
  }
  return months;
}

export interface RebuildReport {
  months: string[];
  /** Rollup rows written, per table. */
  rows: Record<string, number>;
}

/**
 * Recomputes the count rollups of every month `[fromMs, toMs)` touches from the raw tables: each
 * month is built into a staging table of the same structure, then swapped in with
 * `ALTER TABLE … REPLACE PARTITION … FROM staging`, which is atomic per table: a reader sees the
 * old month or the new one, never half of it. The four tables are swapped one after another, so
 * a query reading the daily and the 15-minute rollup in the instant between two swaps may
 * combine a new and an old table. Nothing may write meanwhile (the ingest stopped): a row
 * written to a month after its staging copy was built would be dropped by the swap.
 */
export async function rebuildRollups(client: ClickHouseClient, fromMs: number, toMs: number): Promise<RebuildReport> {
  const months = monthsOf(fromMs, toMs);
  const report: RebuildReport = { months, rows: {} };
  for (const rollup of ROLLUPS) {
    const staging = `${rollup.table}_rebuild`;
    const columns = ['bucket', ...rollup.keys, ...Object.keys(rollup.measures)];
    await client.command({ query: `DROP TABLE IF EXISTS ${staging}` });
    await client.command({ query: `CREATE TABLE ${staging} AS ${rollup.table}` });
    try {
      for (const month of months) {
        await client.command({
          query: `INSERT INTO ${staging} (${columns.join(', ')})
            SELECT ${rollup.bucket} AS bucket, ${rollup.keys.join(', ')}, ${Object.values(rollup.measures).join(', ')}
            FROM ${rollup.raw}
            WHERE toYYYYMM(occurred_at) = {month:UInt32}
            GROUP BY bucket, ${rollup.keys.join(', ')}`,
          query_params: { month: Number(month) },
          clickhouse_settings: { insert_deduplicate: 0 },
        });
        const built = await client.query({
          query: `SELECT count() AS n FROM ${staging} WHERE toYYYYMM(bucket) = {month:UInt32}`,
          query_params: { month: Number(month) },
          format: 'JSONEachRow',
        });
        const empty = Number((await built.json<{ n: string | number }>())[0]?.n ?? 0) === 0;
        // No raw rows that month: whatever the rollup holds there is wrong, and dropping it is as atomic.
        await client.command({
          query: empty
            ? `ALTER TABLE ${rollup.table} DROP PARTITION ID '${month}'`
            : `ALTER TABLE ${rollup.table} REPLACE PARTITION ID '${month}' FROM ${staging}`,
        });
      }
      const counted = await client.query({ query: `SELECT count() AS n FROM ${staging}`, format: 'JSONEachRow' });
      report.rows[rollup.table] = Number((await counted.json<{ n: string | number }>())[0]?.n ?? 0);
    } finally {
      await client.command({ query: `DROP TABLE IF EXISTS ${staging}` });
    }
  }
  return report;
}
