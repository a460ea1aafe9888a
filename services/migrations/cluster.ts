import {
  DdlError,
  parseStatement,
  quoteString as quote,
  renderDistributedTable,
  renderStatement,
  type CreateTable,
  type Statement,
} from './ddl.js';

/**
 * The three forms of the schema, from the same migration files:
 *
 * - `single`: one server or the embedded engine: the files' statements exactly as written.
 * - `replicated` (CLICKHOUSE_CLUSTER): every table `Replicated*` with the Keeper path and replica
 *   name, every statement `ON CLUSTER`, `non_replicated_deduplication_window` turned into the
 *   replicated deduplication window. For a cluster of one shard and any number of replicas.
 * - `sharded` (CLICKHOUSE_SHARDING=tenant): the tables fed by the ingest (the raw event tables and
 *   every table a materialized view fills from them) become `<name>_local` on every shard, with a
 *   `Distributed` table under the original name sharded by `TENANT_SHARDING_KEY`; the views read
 *   and fill the local tables, so each shard aggregates its own tenants. The other tables (the
 *   ingest's bookkeeping, downloads, alerts, schema_migrations: small, and read right after they
 *   are written) are replicated on every node of the cluster, one replica set across all shards.
 *
 * See deploy/clickhouse/README.md for the reasoning.
 */
export type SchemaShape =
  | { form: 'single' }
  | { form: 'replicated' | 'sharded'; cluster: string; replicaPath: string; replicaName: string };

/** The hash the Distributed tables shard by; the ingest's writer splits its batches with the same one (services/ingest/shard-split.ts). */
export const TENANT_SHARDING_KEY = 'xxHash64(tenant_id)';

/** The tables sharded by tenant; every table a materialized view fills from a sharded table is sharded too. */
export const SHARDED_ROOT_TABLES = ['assignment_events', 'delivery_events'] as const;

export const LOCAL_SUFFIX = '_local';

/**
 * Blocks a replicated table remembers for deduplication, and for how long. A batch retried after a
 * crash must still find its first attempt's hash: see deploy/clickhouse/README.md for the sizing
 * (10 000 blocks ≈ 7 minutes of the fastest default ingest; 7 days = how long batch intents are kept).
 */
export const REPLICATED_DEDUPLICATION_WINDOW = 10_000;
export const REPLICATED_DEDUPLICATION_WINDOW_SECONDS = 7 * 24 * 3600;

const MERGE_TREE_FAMILY = new Set([
  'MergeTree',
  'SummingMergeTree',
  'ReplacingMergeTree',
  'AggregatingMergeTree',
  'CollapsingMergeTree',
  'VersionedCollapsingMergeTree',
  'GraphiteMergeTree',
]);

export interface TranslatedFile {
  name: string;
  statements: string[];
}

/** Where a table lives in the sharded form. */
type Placement = 'sharded' | 'everywhere';

/** The tables sharded by tenant: the roots, then every view target fed from a sharded table. */
export function shardedTables(statements: Statement[]): Set<string> {
  const sharded = new Set<string>(SHARDED_ROOT_TABLES);
  for (let grew = true; grew; ) {
    grew = false;
    for (const statement of statements) {
      if (statement.kind === 'create-materialized-view' && sharded.has(statement.from) && !sharded.has(statement.to)) {
        sharded.add(statement.to);
        grew = true;
      }
    }
  }
  return sharded;
}

/** The Keeper path and replica name of a table replicated on every node (one replica set across the shards). */
export function everywhereReplica(shape: { replicaPath: string; replicaName: string }): { path: string; name: string } {
  return { path: shape.replicaPath.replaceAll('{shard}', 'all-shards'), name: `{shard}-${shape.replicaName}` };
}

function replicatedTable(
  table: CreateTable,
  shape: Exclude<SchemaShape, { form: 'single' }>,
  placement: Placement,
  name: string,
  context: string,
): CreateTable {
  if (!MERGE_TREE_FAMILY.has(table.engine.name)) {
    throw new DdlError(`${context}: table ${table.name} has engine ${table.engine.name}, which has no Replicated form`);
  }
  const replica =
    shape.form === 'sharded' && placement === 'everywhere'
      ? everywhereReplica(shape)
      : { path: shape.replicaPath, name: shape.replicaName };
  const settings = table.settings.flatMap((setting) =>
    setting.name === 'non_replicated_deduplication_window'
      ? [
          { name: 'replicated_deduplication_window', value: String(REPLICATED_DEDUPLICATION_WINDOW) },
          { name: 'replicated_deduplication_window_seconds', value: String(REPLICATED_DEDUPLICATION_WINDOW_SECONDS) },
        ]
      : [setting],
  );
  return {
    ...table,
    name,
    engine: { name: `Replicated${table.engine.name}`, args: [quote(replica.path), quote(replica.name), ...table.engine.args] },
    settings,
  };
}

/**
 * Translates the statements of the migration files (in order) into `shape`. The single form is
 * the files' text unchanged; the cluster forms are rendered from the parsed statements. The
 * whole list is needed at once: which tables are sharded depends on views of later files.
 */
export function translateFiles(files: { name: string; statements: string[] }[], shape: SchemaShape): TranslatedFile[] {
  if (shape.form === 'single') return files.map((file) => ({ name: file.name, statements: [...file.statements] }));
  const parsed = files.map((file) => ({
    name: file.name,
    statements: file.statements.map((statement, index) => {
      try {
        return parseStatement(statement);
      } catch (error) {
        if (error instanceof DdlError) throw new DdlError(`${file.name}, statement ${index + 1}: ${error.message}`);
        throw error;
      }
    }),
  }));
  const sharded = shape.form === 'sharded' ? shardedTables(parsed.flatMap((file) => file.statements)) : new Set<string>();
  const local = (name: string) => (sharded.has(name) ? `${name}${LOCAL_SUFFIX}` : name);
  const options = { onCluster: shape.cluster };
  return parsed.map((file) => ({
    name: file.name,
    statements: file.statements.flatMap((statement, index) => {
      const context = `${file.name}, statement ${index + 1}`;
      if (statement.kind === 'insert-select') return [renderStatement(statement)];
      if (statement.kind === 'drop') {
        // A sharded table is two: the Distributed table under its name and the shards' local tables.
        const names =
          statement.object === 'TABLE' && sharded.has(statement.name) ? [statement.name, local(statement.name)] : [statement.name];
        return names.map((name) => renderStatement({ ...statement, name }, options));
      }
      if (statement.kind === 'create-materialized-view') {
        if (sharded.has(statement.from) !== sharded.has(statement.to)) {
          throw new DdlError(
            `${context}: view ${statement.name} reads ${statement.from} and fills ${statement.to}; both must be sharded or neither`,
          );
        }
        return [renderStatement({ ...statement, from: local(statement.from), to: local(statement.to) }, options)];
      }
      if (!sharded.has(statement.name)) {
        return [renderStatement(replicatedTable(statement, shape, 'everywhere', statement.name, context), options)];
      }
      if (!statement.columnNames.includes('tenant_id')) {
        throw new DdlError(`${context}: table ${statement.name} is sharded by tenant but has no tenant_id column`);
      }
      const localName = local(statement.name);
      return [
        renderStatement(replicatedTable(statement, shape, 'sharded', localName, context), options),
        renderDistributedTable(statement.name, localName, shape.cluster, TENANT_SHARDING_KEY, options),
      ];
    }),
  }));
}
