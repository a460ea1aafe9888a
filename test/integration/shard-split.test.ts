import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssignmentEvent } from '../../services/events/types.js';
import { shardOfTenant, shardTopology, splitByShard, xxHash64 } from '../../services/ingest/shard-split.js';
import { createWriteStep, insertBlocks, type WritableEvent } from '../../services/ingest/steps/write.js';
import { parseStatement, renderStatement } from '../../services/migrations/ddl.js';
import { planMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { openTestClickHouse } from '../support/clickhouse.js';

/**
 * The sharded write (CLICKHOUSE_SHARDING=tenant) on what runs here. The embedded engine has no
 * cluster, so no Distributed table runs: the engine is used (1) to evaluate the generated
 * Distributed DDL's own sharding expression, proving the writer's split sends every tenant where
 * the Distributed table would; (2) as three stand-in shards — one database each holding the
 * single-server form of the sharded tables (MergeTree with non_replicated_deduplication_window,
 * the local analog of a shard's Replicated* table) — into which the writer's per-shard blocks are
 * inserted, to show a batch re-cut after a crash lands exactly once on every shard.
 */

const TOPOLOGY = shardTopology([
  { num: 1, weight: 1 },
  { num: 2, weight: 1 },
  { num: 3, weight: 1 },
]);

let handle: ClickHouseHandle;
let client: ClickHouseClient;

beforeAll(async () => {
  ({ handle } = await openTestClickHouse('shard-split'));
  client = handle.client;
});

afterAll(async () => {
  await handle?.close();
});

/** A partition's batch as decoded from Kafka: 120 records of 25 tenants, offsets 1000…1119. */
function batch(): WritableEvent[] {
  return Array.from({ length: 120 }, (_, i) => {
    const event: AssignmentEvent = {
      type: 'assignment',
      eventId: `e-${i}`,
      tenantId: `tenant-${(i * 7) % 25}`,
      occurredAt: `2026-11-05T10:${String(i % 60).padStart(2, '0')}:00.${String(i).padStart(3, '0')}Z`,
      customerId: `c-${i % 13}`,
      playbookId: 'pb',
      playbookName: 'Playbook',
      campaignId: `cm-${i % 3}`,
      campaignName: 'Campaign',
      action: i % 4 === 0 ? 'exited' : 'entered',
    };
    return { event, partition: 3, offset: 1000 + i };
  });
}

const TOKEN = 'sending-metrics-ingest/assignments/3/1000-1119';

interface SentInsert {
  table: string;
  token: string;
  /** The body as the client sends JSONCompactEachRow: one JSON array per line. */
  body: string;
}

/** A client that records the inserts it is given (and may fail the n-th one: a crash mid-batch). */
function recordingClient(failAt?: number): { client: ClickHouseClient; sent: SentInsert[] } {
  const sent: SentInsert[] = [];
  const fake = {
    insert: async (params: { table: string; values: unknown[][]; clickhouse_settings?: Record<string, unknown> }) => {
      if (failAt !== undefined && sent.length === failAt) throw new Error('crash: the process died during this insert');
      sent.push({
        table: params.table,
        token: String(params.clickhouse_settings?.insert_deduplication_token),
        body: params.values.map((row) => JSON.stringify(row)).join('\n'),
      });
      expect(params.clickhouse_settings).toMatchObject({ insert_deduplicate: 1, insert_distributed_sync: 1 });
    },
  };
  return { client: fake as unknown as ClickHouseClient, sent };
}

async function distributedShardingKey(): Promise<string> {
  const plan = await planMigrations({
    form: 'sharded',
    cluster: 'c',
    replicaPath: '/clickhouse/tables/{shard}/{database}/{table}',
    replicaName: '{replica}',
  });
  const statement = plan.migrations.flatMap((m) => m.ddl).find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS assignment_events '));
  const match = /ENGINE = Distributed\('c', currentDatabase\(\), 'assignment_events_local', (.+)\)$/.exec(statement ?? '');
  if (!match?.[1]) throw new Error(`no Distributed statement for assignment_events: ${statement}`);
  return match[1];
}

describe('the split is the Distributed table’s', () => {
  it('the TypeScript hash equals the engine’s evaluation of the generated sharding expression, for every length and for non-ASCII tenants', async () => {
    const key = await distributedShardingKey();
    expect(key).toBe('xxHash64(tenant_id)');
    const tenants = [
      '',
      ...Array.from({ length: 80 }, (_, n) => 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, n)),
      'acme',
      'tenant-ß-東京-🚀',
      'a'.repeat(1000),
      ...Array.from({ length: 200 }, (_, i) => `tenant-${i}`),
    ];
    const result = await client.query({
      query: `SELECT tenant_id, toString(${key}) AS hash, ${key} % 3 AS slot3, ${key} % 4 AS slot4
              FROM (SELECT arrayJoin({tenants:Array(String)}) AS tenant_id)`,
      query_params: { tenants },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ tenant_id: string; hash: string; slot3: number | string; slot4: number | string }>();
    expect(rows).toHaveLength(tenants.length);
    const weighted = shardTopology([
      { num: 1, weight: 1 },
      { num: 2, weight: 2 },
      { num: 3, weight: 1 },
    ]);
    for (const row of rows) {
      expect(xxHash64(row.tenant_id).toString(), row.tenant_id).toBe(row.hash);
      // Distributed: slot = key % (sum of weights); slots go to the shards in shard_num order by weight.
      expect(shardOfTenant(row.tenant_id, TOPOLOGY)).toBe(Number(row.slot3) + 1);
      expect(shardOfTenant(row.tenant_id, weighted)).toBe([1, 2, 2, 3][Number(row.slot4)]);
    }
  });
});

describe('a batch re-cut after a crash', () => {
  it('gives byte-identical per-shard blocks and tokens', async () => {
    // First attempt: the process dies during the second shard's insert.
    const first = recordingClient(1);
    await expect(
      createWriteStep(first.client, { sharding: { cluster: 'c' }, topology: async () => TOPOLOGY })('assignment_events', batch(), TOKEN),
    ).rejects.toThrow(/crash/);
    expect(first.sent).toHaveLength(1);
    // After the restart: a new writer, the same offsets re-cut from the recorded intent, decoded anew.
    const recut: WritableEvent[] = JSON.parse(JSON.stringify(batch()));
    const second = recordingClient();
    await createWriteStep(second.client, {
      sharding: { cluster: 'c' },
      topology: async () => shardTopology([...TOPOLOGY.shards].reverse()),
    })('assignment_events', recut, TOKEN);
    expect(second.sent.map((s) => s.token)).toEqual([1, 2, 3].map((n) => `${TOKEN}/shard-${n}-of-3`));
    expect(second.sent[0]).toEqual(first.sent[0]);
    // And a third, independent computation agrees byte for byte.
    const again = insertBlocks('assignment_events', batch(), TOKEN, TOPOLOGY).map((b) => ({
      table: b.table,
      token: b.token,
      body: b.values.map((row) => JSON.stringify(row)).join('\n'),
    }));
    expect(again).toEqual(second.sent);
    // Every row once, in batch order within its shard, every tenant on one shard only.
    const blocks = splitByShard(batch(), (r) => r.event.tenantId, TOKEN, TOPOLOGY);
    expect(blocks.flatMap((b) => b.rows.map((r) => r.offset)).sort((a, b) => a - b)).toEqual(batch().map((r) => r.offset));
    for (const block of blocks) expect(block.rows.map((r) => r.offset)).toEqual([...block.rows.map((r) => r.offset)].sort((a, b) => a - b));
    const shardsOfTenant = new Map<string, Set<number>>();
    for (const block of blocks)
      for (const row of block.rows)
        shardsOfTenant.set(row.event.tenantId, (shardsOfTenant.get(row.event.tenantId) ?? new Set()).add(block.shardNum));
    expect([...shardsOfTenant.values()].every((shards) => shards.size === 1)).toBe(true);
    expect(blocks.every((b) => b.rows.length > 0)).toBe(true);
  });

  it('lands exactly once on every (stand-in) shard: the crashed attempt, the retry and a second retry', async () => {
    // Three stand-in shards: the raw table and its 15-minute rollup in their single-server form.
    const plan = await planMigrations({ form: 'single' });
    const ddl = plan.migrations.flatMap((m) => m.ddl).map((s) => parseStatement(s));
    const raw = ddl.find((s) => s.kind === 'create-table' && s.name === 'assignment_events');
    const rollup = ddl.find((s) => s.kind === 'create-table' && s.name === 'assignment_counts_15m');
    const view = ddl.find((s) => s.kind === 'create-materialized-view' && s.name === 'assignment_counts_15m_mv');
    if (raw?.kind !== 'create-table' || rollup?.kind !== 'create-table' || view?.kind !== 'create-materialized-view')
      throw new Error('the files changed: no assignment_events / rollup / view');
    for (const n of [1, 2, 3]) {
      await client.command({ query: `CREATE DATABASE IF NOT EXISTS shard_${n}` });
      await client.command({ query: renderStatement({ ...raw, name: `shard_${n}.assignment_events` }) });
      await client.command({ query: renderStatement({ ...rollup, name: `shard_${n}.assignment_counts_15m` }) });
      await client.command({
        query: renderStatement({
          ...view,
          name: `shard_${n}.mv`,
          from: `shard_${n}.assignment_events`,
          to: `shard_${n}.assignment_counts_15m`,
        }),
      });
    }
    /** Sends each block to its shard's database, as the Distributed table sends it to the shard's local table. */
    const shards = (failAt?: number) => {
      let sent = 0;
      return {
        insert: async (params: Parameters<ClickHouseClient['insert']>[0]) => {
          if (failAt !== undefined && sent === failAt) throw new Error('crash');
          sent += 1;
          const shard = /\/shard-(\d+)-of-3$/.exec(String(params.clickhouse_settings?.insert_deduplication_token))?.[1];
          const { insert_distributed_sync: _sync, ...settings } = params.clickhouse_settings ?? {};
          await client.insert({ ...params, table: `shard_${shard}.${params.table}`, clickhouse_settings: settings });
        },
      } as unknown as ClickHouseClient;
    };
    const options = { sharding: { cluster: 'c' }, topology: async () => TOPOLOGY };
    await expect(createWriteStep(shards(1), options)('assignment_events', batch(), TOKEN)).rejects.toThrow('crash');
    await createWriteStep(shards(), options)('assignment_events', batch(), TOKEN);
    await createWriteStep(shards(), options)('assignment_events', JSON.parse(JSON.stringify(batch())), TOKEN);

    const expected = new Map<number, number>();
    for (const row of batch()) {
      const shard = shardOfTenant(row.event.tenantId, TOPOLOGY);
      expected.set(shard, (expected.get(shard) ?? 0) + 1);
    }
    for (const n of [1, 2, 3]) {
      const result = await client.query({
        query: `SELECT (SELECT count() FROM shard_${n}.assignment_events) AS raw,
                       (SELECT sum(entries + exits) FROM shard_${n}.assignment_counts_15m) AS rolled,
                       (SELECT groupUniqArray(tenant_id) FROM shard_${n}.assignment_events) AS tenants`,
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ raw: string; rolled: string; tenants: string[] }>();
      expect(Number(row?.raw)).toBe(expected.get(n) ?? 0);
      expect(Number(row?.rolled)).toBe(expected.get(n) ?? 0);
      expect(row?.tenants.every((tenant) => shardOfTenant(tenant, TOPOLOGY) === n)).toBe(true);
    }
    expect([...expected.values()].reduce((a, b) => a + b, 0)).toBe(120);
    expect(expected.size).toBe(3);
  });
});
