import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { translateFiles, type SchemaShape } from './cluster.js';
import { DdlError } from './ddl.js';
import { applyIdWindowTtl, applyRawRetention, idWindowStatements, retentionStatements } from './retention.js';
import { messageOf } from '../platform/errors.js';

/**
 * ClickHouse migrations: `schemas/clickhouse/NNN_name.sql`, applied in order of NNN and
 * recorded in `schema_migrations`. A file holds one or more statements, each ended by `;` at
 * the end of a line; every statement is idempotent (IF NOT EXISTS), so a run interrupted
 * half-way through a file is simply repeated. An applied file must never change: a different
 * checksum stops the run with an error naming the file.
 *
 * On a cluster (CLICKHOUSE_CLUSTER, CLICKHOUSE_SHARDING) the same files are applied in their
 * cluster form (cluster.ts: Replicated* engines, ON CLUSTER, Distributed tables when sharded);
 * the checksums stay those of the files, so the history is the same in every form.
 *
 * After the files, the raw events' retention (RAW_RETENTION_DAYS, retention.ts) is set, changed
 * or removed to match the configuration, and the event id tables' TTL to the deduplication window
 * (INGEST_DEDUP_WINDOW_HOURS, and an hour): settings, not files, so no part of the history.
 */

export const MIGRATIONS_DIRECTORY = path.resolve(import.meta.dirname, '../../schemas/clickhouse');

const FILE_NAME = /^(\d{3,})_[a-z0-9_]+\.sql$/;

export interface Migration {
  version: number;
  /** File name, e.g. `001_raw_events.sql`. */
  name: string;
  checksum: string;
  statements: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

const CREATE_SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY version`;

/** Splits a file at `;` ending a line; pieces holding only comments and blanks are dropped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((piece) => piece.trim())
    .filter((piece) => piece.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

function checksumOf(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

/** Reads the migration files of `directory` in version order. */
export async function readMigrations(directory = MIGRATIONS_DIRECTORY): Promise<Migration[]> {
  const entries = (await fs.readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  const seen = new Map<number, string>();
  for (const name of entries) {
    const match = FILE_NAME.exec(name);
    if (!match) {
      throw new MigrationError(`migration file ${name} is not named NNN_lower_snake_name.sql`);
    }
    const version = Number(match[1]);
    const previous = seen.get(version);
    if (previous !== undefined) throw new MigrationError(`migration files ${previous} and ${name} share version ${version}`);
    seen.set(version, name);
    const text = await fs.readFile(path.join(directory, name), 'utf8');
    const statements = splitStatements(text);
    if (statements.length === 0) throw new MigrationError(`migration file ${name} holds no statement`);
    migrations.push({ version, name, checksum: checksumOf(text), statements });
  }
  return migrations.sort((a, b) => a.version - b.version);
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

async function appliedMigrations(client: ClickHouseClient): Promise<Map<number, AppliedRow>> {
  const result = await client.query({
    // Two processes starting together may both record a file; any row of a version will do.
    query: 'SELECT version, any(name) AS name, any(checksum) AS checksum FROM schema_migrations GROUP BY version',
    format: 'JSONEachRow',
  });
  const rows = await result.json<AppliedRow>();
  return new Map(rows.map((row) => [Number(row.version), row]));
}

/** The schema form the configuration asks for. */
export function schemaShapeOf(
  config: Pick<Config, 'clickhouseCluster' | 'clickhouseSharding' | 'clickhouseReplicaPath' | 'clickhouseReplicaName'>,
): SchemaShape {
  if (config.clickhouseCluster === undefined) return { form: 'single' };
  return {
    form: config.clickhouseSharding === 'tenant' ? 'sharded' : 'replicated',
    cluster: config.clickhouseCluster,
    replicaPath: config.clickhouseReplicaPath,
    replicaName: config.clickhouseReplicaName,
  };
}

export interface MigrationPlan {
  shape: SchemaShape;
  /** The statements creating schema_migrations (run first, every time). */
  history: string[];
  /** Every migration file with the statements of its form. */
  migrations: (Migration & { ddl: string[] })[];
  /**
   * The raw events' TTL when RAW_RETENTION_DAYS is set (none when unset: an existing TTL is
   * removed), and the id tables' when INGEST_DEDUP_WINDOW_HOURS is not 24.
   */
  retention: string[];
}

/** Reads the files and translates them (and schema_migrations) into `shape`; applies nothing. */
export async function planMigrations(
  shape: SchemaShape,
  directory = MIGRATIONS_DIRECTORY,
  rawRetentionDays?: number,
  dedupWindowHours?: number,
): Promise<MigrationPlan> {
  const migrations = await readMigrations(directory);
  let translated;
  try {
    translated = translateFiles([{ name: 'schema_migrations', statements: [CREATE_SCHEMA_MIGRATIONS] }, ...migrations], shape);
  } catch (error) {
    if (error instanceof DdlError) throw new MigrationError(error.message, { cause: error });
    throw error;
  }
  const [history, ...files] = translated;
  return {
    shape,
    history: history?.statements ?? [],
    migrations: migrations.map((migration, index) => ({ ...migration, ddl: files[index]?.statements ?? [] })),
    retention: [...retentionStatements(shape, rawRetentionDays), ...idWindowStatements(shape, dedupWindowHours)],
  };
}

function describeShape(shape: SchemaShape): string {
  if (shape.form === 'single') return 'one server (CLICKHOUSE_CLUSTER unset)';
  const where = `on cluster '${shape.cluster}', Keeper path '${shape.replicaPath}', replica '${shape.replicaName}'`;
  return shape.form === 'sharded' ? `sharded by tenant ${where}` : `replicated ${where}`;
}

/** The DDL of a plan as `migrate --print` shows it: every statement, in the order it is applied. */
export function renderPlan(plan: MigrationPlan): string {
  const parts = [
    `-- sending-metrics migrate: ${describeShape(plan.shape)}.`,
    '-- Applied in this order; a file schema_migrations already records is skipped.',
    '',
    '-- schema_migrations',
    ...plan.history.map((statement) => `${statement};\n`),
  ];
  for (const migration of plan.migrations) {
    parts.push(`-- ${migration.name}`, ...migration.ddl.map((statement) => `${statement};\n`));
  }
  if (plan.retention.length > 0) {
    parts.push(
      '-- retention: raw events (RAW_RETENTION_DAYS), event ids (INGEST_DEDUP_WINDOW_HOURS); applied when the TTL differs',
      ...plan.retention.map((s) => `${s};\n`),
    );
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

/** Refuses a cluster the server does not know, before any ON CLUSTER statement hangs or fails on it. */
async function checkCluster(client: ClickHouseClient, cluster: string): Promise<void> {
  let name = cluster;
  const macro = /^\{([A-Za-z0-9_]+)\}$/.exec(cluster);
  if (macro) {
    try {
      const result = await client.query({
        query: 'SELECT getMacro({macro:String}) AS name',
        query_params: { macro: macro[1] },
        format: 'JSONEachRow',
      });
      name = (await result.json<{ name: string }>())[0]?.name ?? cluster;
    } catch (error) {
      throw new MigrationError(`CLICKHOUSE_CLUSTER=${cluster}: the server has no macro ${macro[1]} (${messageOf(error)})`, {
        cause: error,
      });
    }
  }
  const result = await client.query({
    query: 'SELECT count() AS shards FROM system.clusters WHERE cluster = {name:String}',
    query_params: { name },
    format: 'JSONEachRow',
  });
  const shards = Number((await result.json<{ shards: string | number }>())[0]?.shards ?? 0);
  if (shards === 0) {
    throw new MigrationError(
      `CLICKHOUSE_CLUSTER=${cluster}: the server has no cluster ${JSON.stringify(name)} in system.clusters ` +
        '(the embedded engine has none: a cluster needs CLICKHOUSE_URL)',
    );
  }
}

export interface ApplyMigrationsOptions {
  directory?: string;
  /** The schema form; default: one server. */
  shape?: SchemaShape;
  /** Days raw events are kept (RAW_RETENTION_DAYS); undefined: for ever (a TTL set before is removed). */
  rawRetentionDays?: number;
  /** Hours event ids are kept for deduplication (INGEST_DEDUP_WINDOW_HOURS): the id tables keep one more. Default 24. */
  dedupWindowHours?: number;
}

/** Applies the migrations not yet recorded, in order; returns the names of those it applied. */
export async function applyMigrations(
  client: ClickHouseClient,
  logger: Logger,
  options: ApplyMigrationsOptions = {},
): Promise<{ applied: string[] }> {
  const log = logger.child({ component: 'migrate' });
  const shape = options.shape ?? { form: 'single' };
  const plan = await planMigrations(shape, options.directory);
  const migrations = plan.migrations;
  if (shape.form !== 'single') await checkCluster(client, shape.cluster);
  for (const statement of plan.history) await client.command({ query: statement });
  const done = await appliedMigrations(client);

  for (const migration of migrations) {
    const recorded = done.get(migration.version);
    if (!recorded) continue;
    if (recorded.checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.name} was changed after it was applied (as ${recorded.name}); ` +
          'add a new migration file instead of editing an applied one',
      );
    }
  }

  const applied: string[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    const started = performance.now();
    for (const [index, statement] of migration.ddl.entries()) {
      try {
        await client.command({ query: statement });
      } catch (error) {
        throw new MigrationError(
          `migration ${migration.name}, statement ${index + 1} of ${migration.ddl.length} failed: ${messageOf(error)}`,
          { cause: error },
        );
      }
    }
    await client.insert({
      table: 'schema_migrations',
      values: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      format: 'JSONEachRow',
    });
    applied.push(migration.name);
    log.info(
      { migration: migration.name, statements: migration.ddl.length, ms: Math.round(performance.now() - started) },
      'applied migration',
    );
  }
  if (applied.length === 0) log.debug({ migrations: migrations.length }, 'schema up to date');
  try {
    await applyRawRetention(client, log, shape, options.rawRetentionDays);
  } catch (error) {
    throw new MigrationError(`setting the raw events' retention (RAW_RETENTION_DAYS) failed: ${messageOf(error)}`, { cause: error });
  }
  try {
    await applyIdWindowTtl(client, log, shape, options.dedupWindowHours ?? 24);
  } catch (error) {
    throw new MigrationError(`setting the event id window (INGEST_DEDUP_WINDOW_HOURS) failed: ${messageOf(error)}`, { cause: error });
  }
  return { applied };
}
