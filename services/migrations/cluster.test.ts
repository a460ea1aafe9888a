import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../platform/config.js';
import { SHARDED_ROOT_TABLES, shardedTables, TENANT_SHARDING_KEY, translateFiles, type SchemaShape } from './cluster.js';
import { DdlError, parseStatement, renderStatement, type CreateTable } from './ddl.js';
import { planMigrations, readMigrations, renderPlan, schemaShapeOf } from './migrate.js';

/** The golden files: what `migrate --print` prints in each form (UPDATE_GOLDEN=1 rewrites them). */
const GOLDEN = path.resolve(import.meta.dirname, '../../test/golden');

const cluster = { cluster: 'c', replicaPath: '/clickhouse/tables/{shard}/{database}/{table}', replicaName: '{replica}' };
const SHAPES: Record<'single' | 'replicated' | 'sharded', SchemaShape> = {
  single: { form: 'single' },
  replicated: { form: 'replicated', ...cluster },
  sharded: { form: 'sharded', ...cluster },
};

function tables(statements: string[]): CreateTable[] {
  return statements.map((s) => parseStatement(s)).filter((s): s is CreateTable => s.kind === 'create-table');
}

describe('migrate --print golden files', () => {
  for (const [form, shape] of Object.entries(SHAPES)) {
    it(`the ${form} form is the golden file migrate-print-${form}.sql`, async () => {
      const text = renderPlan(await planMigrations(shape));
      const file = path.join(GOLDEN, `migrate-print-${form}.sql`);
      if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, text);
      expect(text).toBe(fs.readFileSync(file, 'utf8'));
    });
  }

  it('the configuration picks the form: one server by default, replicated with a cluster, sharded with CLICKHOUSE_SHARDING=tenant', () => {
    expect(schemaShapeOf(loadConfig({}))).toEqual(SHAPES.single);
    expect(schemaShapeOf(loadConfig({ CLICKHOUSE_CLUSTER: 'c' }))).toEqual(SHAPES.replicated);
    expect(schemaShapeOf(loadConfig({ CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_SHARDING: 'tenant' }))).toEqual(SHAPES.sharded);
    expect(
      schemaShapeOf(
        loadConfig({
          CLICKHOUSE_CLUSTER: '{cluster}',
          CLICKHOUSE_REPLICA_PATH: '/ch/{shard}/{uuid}',
          CLICKHOUSE_REPLICA_NAME: 'r-{replica}',
        }),
      ),
    ).toEqual({ form: 'replicated', cluster: '{cluster}', replicaPath: '/ch/{shard}/{uuid}', replicaName: 'r-{replica}' });
  });

  it('bad cluster settings are ConfigErrors naming the variable', () => {
    expect(() => loadConfig({ CLICKHOUSE_SHARDING: 'tenant' })).toThrow(/^CLICKHOUSE_SHARDING="tenant" needs a cluster/);
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_SHARDING: 'customer' })).toThrow(
      /^CLICKHOUSE_SHARDING="customer" is not a sharding/,
    );
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: "c' ; DROP" })).toThrow(/^CLICKHOUSE_CLUSTER=.* does not name a cluster/);
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_REPLICA_PATH: '/clickhouse/{shard}' })).toThrow(
      /^CLICKHOUSE_REPLICA_PATH=/,
    );
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_REPLICA_PATH: "/x/{table}'" })).toThrow(/^CLICKHOUSE_REPLICA_PATH=/);
    expect(() =>
      loadConfig({ CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_SHARDING: 'tenant', CLICKHOUSE_REPLICA_PATH: '/clickhouse/{database}/{table}' }),
    ).toThrow(/^CLICKHOUSE_REPLICA_PATH=.* has no \{shard\}/);
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_REPLICA_NAME: 'a b' })).toThrow(/^CLICKHOUSE_REPLICA_NAME=/);
  });
});

describe('the translation', () => {
  it('leaves the single form exactly as the files say', async () => {
    const migrations = await readMigrations();
    const single = await planMigrations(SHAPES.single);
    expect(single.migrations.map((m) => m.ddl)).toEqual(migrations.map((m) => m.statements));
  });

  it('replicated: every table Replicated* with the path and replica, ON CLUSTER, replicated deduplication, same columns and keys', async () => {
    const migrations = await readMigrations();
    const plan = await planMigrations(SHAPES.replicated);
    for (const [index, migration] of plan.migrations.entries()) {
      const originals = migrations[index]?.statements.map((s) => parseStatement(s)) ?? [];
      const translated = migration.ddl.map((s) => parseStatement(s.replace(/ ON CLUSTER 'c'/, '')));
      // Every statement runs on the whole cluster but a backfill, which runs once (replication copies its rows).
      expect(migration.ddl.every((s, i) => s.includes(" ON CLUSTER 'c'") === (originals[i]?.kind !== 'insert-select'))).toBe(true);
      expect(translated.length).toBe(originals.length);
      for (const [i, original] of originals.entries()) {
        const result = translated[i];
        if (original.kind !== 'create-table') {
          expect(result).toEqual(original);
          continue;
        }
        if (result?.kind !== 'create-table') throw new Error('a table became something else');
        expect(result.name).toBe(original.name);
        expect(result.columns).toBe(original.columns);
        expect(result.clauses).toEqual(original.clauses);
        expect(result.engine).toEqual({
          name: `Replicated${original.engine.name}`,
          args: ["'/clickhouse/tables/{shard}/{database}/{table}'", "'{replica}'", ...original.engine.args],
        });
        // The non-replicated deduplication window becomes the replicated one; other settings stay.
        expect(result.settings).toEqual(
          original.settings.flatMap((s) =>
            s.name === 'non_replicated_deduplication_window'
              ? [
                  { name: 'replicated_deduplication_window', value: '10000' },
                  { name: 'replicated_deduplication_window_seconds', value: '604800' },
                ]
              : [s],
          ),
        );
      }
    }
    expect(plan.history.join('')).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')");
  });

  it('sharded: the raw tables and everything their views fill are <name>_local + Distributed by the tenant hash; the rest replicated on every node', async () => {
    const plan = await planMigrations(SHAPES.sharded);
    const all = plan.migrations.flatMap((m) => m.ddl.map((s) => s.replace(/ ON CLUSTER 'c'/, '')));
    const distributed = all.filter((s) => s.includes('ENGINE = Distributed'));
    const sharded = [
      'assignment_events',
      'delivery_events',
      'assignment_counts_15m',
      'delivery_counts_15m',
      'campaign_names',
      'assignment_counts_1d',
      'delivery_counts_1d',
      'ingest_event_ids',
      'ingest_event_ids_by_id',
      'ingest_event_id_hashes',
    ];
    expect(distributed).toEqual(
      sharded.map(
        (name) =>
          `CREATE TABLE IF NOT EXISTS ${name} AS ${name}_local\nENGINE = Distributed('c', currentDatabase(), '${name}_local', ${TENANT_SHARDING_KEY})`,
      ),
    );
    const created = tables(all.filter((s) => !s.includes('ENGINE = Distributed')));
    for (const table of created) {
      const local = table.name.endsWith('_local');
      expect(table.engine.args.slice(0, 2)).toEqual(
        local
          ? ["'/clickhouse/tables/{shard}/{database}/{table}'", "'{replica}'"]
          : ["'/clickhouse/tables/all-shards/{database}/{table}'", "'{shard}-{replica}'"],
      );
    }
    expect(created.filter((t) => t.name.endsWith('_local')).map((t) => t.name.replace(/_local$/, ''))).toEqual(sharded);
    expect(created.filter((t) => !t.name.endsWith('_local')).map((t) => t.name)).toEqual([
      'ingest_batches',
      'downloads',
      'ingest_progress',
      'alert_rules',
      'alert_events',
      'ingest_skipped',
      'ingest_written',
      'download_submissions',
      'api_keys',
      'privacy_erasures',
    ]);
    const views = all.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW')).map((s) => parseStatement(s));
    expect(views).toHaveLength(11);
    for (const view of views) {
      if (view.kind !== 'create-materialized-view') throw new Error('not a view');
      expect([view.from, view.to].every((name) => name.endsWith('_local'))).toBe(true);
    }
    expect(plan.history.join('')).toContain("ReplicatedMergeTree('/clickhouse/tables/all-shards/{database}/{table}', '{shard}-{replica}')");
  });

  it('drops a sharded table in both its parts and a view once, ON CLUSTER; runs a backfill once, as written', () => {
    const files = [
      { name: '001_a.sql', statements: ['CREATE TABLE IF NOT EXISTS ids (tenant_id String) ENGINE = MergeTree ORDER BY tenant_id'] },
      {
        name: '002_b.sql',
        statements: ['CREATE MATERIALIZED VIEW IF NOT EXISTS ids_mv TO ids AS SELECT tenant_id FROM assignment_events'],
      },
      {
        name: '003_c.sql',
        statements: [
          'DROP VIEW IF EXISTS ids_mv',
          'DROP TABLE IF EXISTS ids',
          'DROP TABLE IF EXISTS downloads',
          'INSERT INTO other (tenant_id) SELECT tenant_id FROM ids SETTINGS insert_distributed_sync = 1',
        ],
      },
    ];
    expect(translateFiles(files, SHAPES.sharded)[2]?.statements).toEqual([
      "DROP VIEW IF EXISTS ids_mv ON CLUSTER 'c'",
      "DROP TABLE IF EXISTS ids ON CLUSTER 'c'",
      "DROP TABLE IF EXISTS ids_local ON CLUSTER 'c'",
      "DROP TABLE IF EXISTS downloads ON CLUSTER 'c'",
      'INSERT INTO other (tenant_id) SELECT tenant_id FROM ids SETTINGS insert_distributed_sync = 1',
    ]);
    expect(translateFiles(files, SHAPES.replicated)[2]?.statements).toEqual([
      "DROP VIEW IF EXISTS ids_mv ON CLUSTER 'c'",
      "DROP TABLE IF EXISTS ids ON CLUSTER 'c'",
      "DROP TABLE IF EXISTS downloads ON CLUSTER 'c'",
      'INSERT INTO other (tenant_id) SELECT tenant_id FROM ids SETTINGS insert_distributed_sync = 1',
    ]);
  });

  it('shards a table fed by a view of a view of a raw table, and only those', () => {
    const statements = [
      'CREATE TABLE IF NOT EXISTS a (tenant_id String) ENGINE = MergeTree ORDER BY tenant_id',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS v1 TO b AS SELECT tenant_id FROM assignment_events',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS v2 TO c AS SELECT tenant_id FROM b',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS v3 TO e AS SELECT tenant_id FROM a',
    ].map((s) => parseStatement(s));
    expect([...shardedTables(statements)].sort()).toEqual([...SHARDED_ROOT_TABLES, 'b', 'c'].sort());
  });

  it('refuses what it cannot translate, naming the file and statement', () => {
    const translate = (statement: string) => translateFiles([{ name: '010_x.sql', statements: [statement] }], SHAPES.sharded);
    expect(() => translate('ALTER TABLE downloads ADD COLUMN x String')).toThrow(/^010_x\.sql, statement 1: the cluster translation knows/);
    expect(() => translate('CREATE TABLE IF NOT EXISTS t (x String) ENGINE = Memory')).toThrow(
      /engine Memory, which has no Replicated form/,
    );
    expect(() => translate('CREATE TABLE IF NOT EXISTS assignment_events (x String) ENGINE = MergeTree ORDER BY x')).toThrow(
      /sharded by tenant but has no tenant_id column/,
    );
    expect(() => translate('CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT a.x FROM a JOIN b ON a.x = b.x')).toThrow(
      /must read exactly one table/,
    );
    expect(() => translate('CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT x FROM (SELECT x FROM a)')).toThrow(
      /must read exactly one table/,
    );
    expect(() => translate('CREATE MATERIALIZED VIEW IF NOT EXISTS v TO assignment_events AS SELECT tenant_id FROM downloads')).toThrow(
      /both must be sharded or neither/,
    );
    // The single form never parses: it is the files' text.
    expect(translateFiles([{ name: '010_x.sql', statements: ['ALTER TABLE t ADD COLUMN x String'] }], SHAPES.single)).toEqual([
      { name: '010_x.sql', statements: ['ALTER TABLE t ADD COLUMN x String'] },
    ]);
    expect(() => parseStatement('CREATE TABLE IF NOT EXISTS t (x String ENGINE = MergeTree')).toThrow(DdlError);
  });

  it('reads comments, quotes and nested parentheses in a column list and keeps them in the output', () => {
    const statement = parseStatement(`-- a comment (with a parenthesis
CREATE TABLE IF NOT EXISTS t
(
    tenant_id String, -- the tenant, ("quoted"), with commas
    \`odd name\` Map(String, Array(Tuple(a UInt8, b String))) DEFAULT map('k,)', ['v']),
    n Decimal(10, 2) /* block ( comment */
)
ENGINE = ReplacingMergeTree(n)
ORDER BY (tenant_id, n)
TTL toDateTime(n) + INTERVAL 1 DAY
SETTINGS index_granularity = 8192, storage_policy = 'a,b'`);
    expect(statement).toMatchObject({
      kind: 'create-table',
      name: 't',
      columnNames: ['tenant_id', 'odd name', 'n'],
      engine: { name: 'ReplacingMergeTree', args: ['n'] },
      clauses: [
        { keyword: 'ORDER BY', text: '(tenant_id, n)' },
        { keyword: 'TTL', text: 'toDateTime(n) + INTERVAL 1 DAY' },
      ],
      settings: [
        { name: 'index_granularity', value: '8192' },
        { name: 'storage_policy', value: "'a,b'" },
      ],
    });
    expect(parseStatement(renderStatement(statement))).toEqual(statement);
  });
});
