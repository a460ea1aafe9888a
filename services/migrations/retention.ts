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
  return setTableTtl(client, tables, onCluster, days === undefined ? undefined : rawRetentionTtl(days), (table, from, to) =>
    logger.info({ table, from: from ?? null, to: to ?? null, rawRetentionDays: days ?? null }, 'raw event retention changed'),
  );
}

/** The tables of the event ids the ingest deduplicates with; migrations 004 and 011 keep them 25 hours. */
export const ID_TABLES = ['ingest_event_ids', 'ingest_event_id_hashes'] as const;

/** The id tables' TTL for a window of `hours` (INGEST_DEDUP_WINDOW_HOURS): one hour more. */
export function idWindowTtl(hours: number): string {
  return `ingested_at + toIntervalHour(${hours + 1})`;
}

function idTargets(shape: SchemaShape): { tables: string[]; onCluster: string } {
  if (shape.form === 'single') return { tables: [...ID_TABLES], onCluster: '' };
  const suffix = shape.form === 'sharded' ? LOCAL_SUFFIX : '';
  return { tables: ID_TABLES.map((table) => `${table}${suffix}`), onCluster: ` ON CLUSTER ${quote(shape.cluster)}` };
}

/** `ALTER TABLE … MODIFY TTL …` of the id tables when the window is not the migrations' 24 hours (`migrate --print`). */
export function idWindowStatements(shape: SchemaShape, hours: number | undefined): string[] {
  if (hours === undefined || hours === 24) return [];
  const { tables, onCluster } = idTargets(shape);
  return tables.map((table) => `ALTER TABLE ${table}${onCluster} MODIFY TTL ${idWindowTtl(hours)}`);
}

/** Sets the id tables' TTL to the window plus an hour (left alone when it matches). Returns the statements it ran. */
export async function applyIdWindowTtl(client: ClickHouseClient, logger: Logger, shape: SchemaShape, hours: number): Promise<string[]> {
  const { tables, onCluster } = idTargets(shape);
  return setTableTtl(client, tables, onCluster, idWindowTtl(hours), (table, from, to) =>
    logger.info({ table, from: from ?? null, to: to ?? null, dedupWindowHours: hours }, 'event id window changed'),
  );
}

async function setTableTtl(
  client: ClickHouseClient,
  tables: string[],
  onCluster: string,
  wanted: string | undefined,
  changed: (table: string, from: string | undefined, to: string | undefined) => void,
): Promise<string[]> {
  const result = await client.query({
    query: 'SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {tables:Array(String)}',
    query_params: { tables },
    format: 'JSONEachRow',
  });
  const current = new Map(
    (await result.json<{ name: string; engine_full: string }>()).map((row) => [row.name, tableTtlOf(row.engine_full)]),
  );
  const ran: string[] = [];
  for (const table of tables) {
    const ttl = current.get(table);
    if (ttl === wanted) continue;
    const statement =
      wanted === undefined ? `ALTER TABLE ${table}${onCluster} REMOVE TTL` : `ALTER TABLE ${table}${onCluster} MODIFY TTL ${wanted}`;
    await client.command({ query: statement });
    ran.push(statement);
    changed(table, ttl, wanted);
  }
  return ran;
}
