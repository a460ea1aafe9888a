import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestClickHouse } from '../support/clickhouse.js';
import { ROOT, runCli } from '../support/cli.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import type { SchemaShape } from '../../services/migrations/cluster.js';
import { applyMigrations, MigrationError, planMigrations } from '../../services/migrations/migrate.js';

/**
 * The cluster forms of the schema on what runs here: every generated statement parses in the
 * embedded engine (EXPLAIN AST), `migrate --print` prints the golden files, and applying a cluster
 * form to the embedded engine (no clusters) stops with a clear error before creating anything.
 * Nothing here runs a Replicated or Distributed table: the embedded engine has no cluster.
 */

const GOLDEN = path.join(ROOT, 'test/golden');
const cluster = { cluster: 'c', replicaPath: '/clickhouse/tables/{shard}/{database}/{table}', replicaName: '{replica}' };
const SHAPES: Record<string, SchemaShape> = {
  single: { form: 'single' },
  replicated: { form: 'replicated', ...cluster },
  sharded: { form: 'sharded', ...cluster },
};
const ENV: Record<string, Record<string, string>> = {
  single: { CLICKHOUSE_CLUSTER: '', CLICKHOUSE_SHARDING: 'none' },
  replicated: { CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_SHARDING: 'none' },
  sharded: { CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_SHARDING: 'tenant' },
};
const CLEAN = { CLICKHOUSE_REPLICA_PATH: undefined, CLICKHOUSE_REPLICA_NAME: undefined, CLICKHOUSE_URL: undefined };

let handle: ClickHouseHandle;

beforeAll(async () => {
  ({ handle } = await openTestClickHouse('migrations-cluster'));
});

afterAll(async () => {
  await handle?.close();
});

describe('every generated statement parses in the embedded engine', () => {
  for (const [form, shape] of Object.entries(SHAPES)) {
    it(`the ${form} form`, async () => {
      const plan = await planMigrations(shape);
      const statements = [...plan.history, ...plan.migrations.flatMap((m) => m.ddl)];
      expect(statements.length).toBeGreaterThan(form === 'sharded' ? 30 : 20);
      for (const statement of statements) {
        // As text: an AST holding the literal '\0' (011's hash key) is not valid JSON in the
        // engine's JSON output; the embedded engine's connection may quote the lines.
        const result = await handle.client.query({ query: `EXPLAIN AST ${statement}`, format: 'TabSeparatedRaw' });
        const ast = (await result.text()).split('\n').map((line) => line.replace(/^"/, ''));
        expect(ast[0], statement).toMatch(/^(CreateQuery|DropQuery|InsertQuery) /);
        // A backfill runs once, where the migrations run: replication or the Distributed table carries its rows.
        if (form !== 'single' && !ast[0]?.startsWith('InsertQuery')) expect(statement).toMatch(/ ON CLUSTER 'c'/);
      }
    });
  }
});

describe('migrate --print', () => {
  for (const form of Object.keys(SHAPES)) {
    it(`prints the ${form} form as the golden file, without a ClickHouse`, async () => {
      const run = await runCli(['migrate', '--print'], { ...CLEAN, ...ENV[form] });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(fs.readFileSync(path.join(GOLDEN, `migrate-print-${form}.sql`), 'utf8'));
    });
  }

  it('uses the configured Keeper path and replica name', async () => {
    const run = await runCli(['migrate', '--print'], {
      ...CLEAN,
      ...ENV.sharded,
      CLICKHOUSE_REPLICA_PATH: '/ch/{cluster}/{shard}/{table}',
      CLICKHOUSE_REPLICA_NAME: 'r_{replica}',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("ENGINE = ReplicatedMergeTree('/ch/{cluster}/{shard}/{table}', 'r_{replica}')");
    expect(run.stdout).toContain("ENGINE = ReplicatedMergeTree('/ch/{cluster}/all-shards/{table}', '{shard}-r_{replica}')");
  });

  it('refuses sharding without a cluster in one line, exit 78', async () => {
    const run = await runCli(['migrate', '--print'], { ...CLEAN, CLICKHOUSE_CLUSTER: '', CLICKHOUSE_SHARDING: 'tenant' });
    expect(run.code).toBe(78);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('CLICKHOUSE_SHARDING="tenant" needs a cluster to shard over');
  });
});

describe('applying a cluster form where there is no cluster', () => {
  it('stops before creating anything, naming the cluster and why', async () => {
    for (const shape of [SHAPES.replicated, SHAPES.sharded]) {
      const attempt = applyMigrations(handle.client, createLogger('silent'), { shape });
      await expect(attempt).rejects.toThrow(MigrationError);
      await expect(attempt).rejects.toThrow(
        /CLICKHOUSE_CLUSTER=c: the server has no cluster "c" in system.clusters .*needs CLICKHOUSE_URL/,
      );
    }
    const result = await handle.client.query({
      query: 'SELECT count() AS n FROM system.tables WHERE database = currentDatabase()',
      format: 'JSONEachRow',
    });
    expect(Number((await result.json<{ n: string }>())[0]?.n)).toBe(0);
  });
});
