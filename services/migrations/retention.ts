import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Logger } from '../platform/logger.js';
import { LOCAL_SUFFIX, SHARDED_ROOT_TABLES, type SchemaShape } from './cluster.js';
import { quoteString as quote } from './ddl.js';

/**
 * The retention of raw events (RAW_RETENTION_DAYS): a table TTL on the raw event tables drops the
 * rows whose `occurred_at` is older than that many days; the rollups (no personal data) are kept.
 * It is a setting of the deployment, not a migration file: the runner sets it after the files
 * (`MODIFY TTL`, which also drops the rows already too old), changes it when the number changes
 * and removes it when the variable is unset, so raw events are again kept for ever. On a cluster
 * it is applied `ON CLUSTER` to the tables holding the rows: the raw tables, or their `_local`
 * tables on every shard when sharded (the Distributed tables hold no rows).
 */

/** The raw event tables: the only tables with customer and message ids the TTL applies to. */
export const RAW_EVENT_TABLES = SHARDED_ROOT_TABLES;

/** The TTL expression of `days`, as the engine shows it back in `system.tables.engine_full`. */
export function rawRetentionTtl(days: number): string {
  return `occurred_at + toIntervalDay(${days})`;
}

/** The tables a statement about the raw rows addresses in `shape`, and the `ON CLUSTER` clause. */
function targets(shape: SchemaShape): { tables: string[]; onCluster: string } {
  if (shape.form === 'single') return { tables: [...RAW_EVENT_TABLES], onCluster: '' };
  const suffix = shape.form === 'sharded' ? LOCAL_SUFFIX : '';
  return { tables: RAW_EVENT_TABLES.map((table) => `${table}${suffix}`), onCluster: ` ON CLUSTER ${quote(shape.cluster)}` };
}

/** `ALTER TABLE … MODIFY TTL …` for every raw table of `shape` (what `migrate --print` shows when RAW_RETENTION_DAYS is set). */
export function retentionStatements(shape: SchemaShape, days: number | undefined): string[] {
  if (days === undefined) return [];
  const { tables, onCluster } = targets(shape);
  return tables.map((table) => `ALTER TABLE ${table}${onCluster} MODIFY TTL ${rawRetentionTtl(days)}`);
}

/** The table TTL in an `engine_full` text, or undefined. */
export function tableTtlOf(engineFull: string): string | undefined {
  const match = / TTL (.+?)(?: SETTINGS |$)/.exec(engineFull);
  return match?.[1]?.trim();
}

/**
 * Sets, changes or removes the TTL of the raw tables to match `days` (undefined: keep for ever);
 * a table whose TTL already matches is left alone. Returns the statements it ran.
 */
export async function applyRawRetention(
  client: ClickHouseClient,
  logger: Logger,
  shape: SchemaShape,
  days: number | undefined,
): Promise<string[]> {
  const { tables, onCluster } = targets(shape);
  const result = await client.query({
    query: 'SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {tables:Array(String)}',
    query_params: { tables },
    format: 'JSONEachRow',
  });
  const current = new Map(
    (await result.json<{ name: string; engine_full: string }>()).map((row) => [row.name, tableTtlOf(row.engine_full)]),
  );
  const wanted = days === undefined ? undefined : rawRetentionTtl(days);
  const ran: string[] = [];
  for (const table of tables) {
    const ttl = current.get(table);
    if (ttl === wanted) continue;
    const statement =
      wanted === undefined ? `ALTER TABLE ${table}${onCluster} REMOVE TTL` : `ALTER TABLE ${table}${onCluster} MODIFY TTL ${wanted}`;
    await client.command({ query: statement });
    ran.push(statement);
    logger.info({ table, from: ttl ?? null, to: wanted ?? null, rawRetentionDays: days ?? null }, 'raw event retention changed');
  }
  return ran;
}
