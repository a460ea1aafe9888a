import type { ClickHouseClient } from '../../platform/clickhouse.js';
import type { SendingEvent } from '../../events/types.js';
import { utcIsoToDateTime64Text as clickhouseTime } from '../../platform/clickhouse-values.js';
import type { Config } from '../../platform/config.js';
import { splitByShard, type ShardTopology } from '../shard-split.js';
import { loadShardTopology } from '../shard-topology.js';

export const ASSIGNMENT_COLUMNS = [
  'tenant_id',
  'occurred_at',
  'event_id',
  'customer_id',
  'playbook_id',
  'playbook_name',
  'campaign_id',
  'campaign_name',
  'action',
  'kafka_partition',
  'kafka_offset',
] as const;

export const DELIVERY_COLUMNS = [
  'tenant_id',
  'occurred_at',
  'event_id',
  'customer_id',
  'message_id',
  'channel',
  'status',
  'playbook_id',
  'campaign_id',
  'reason',
  'kafka_partition',
  'kafka_offset',
] as const;

/** The raw table of each event type. */
export const RAW_TABLES = { assignment: 'assignment_events', delivery: 'delivery_events' } as const;
export type RawTable = (typeof RAW_TABLES)[keyof typeof RAW_TABLES];

export interface WritableEvent {
  event: SendingEvent;
  partition: number;
  offset: number;
}

/** An event's row of its raw table, in the order of ASSIGNMENT_COLUMNS or DELIVERY_COLUMNS (by its type). */
export function rawRow({ event, partition, offset }: WritableEvent): unknown[] {
  const common = [event.tenantId, clickhouseTime(event.occurredAt), event.eventId, event.customerId];
  if (event.type === 'assignment') {
    return [...common, event.playbookId, event.playbookName, event.campaignId, event.campaignName, event.action, partition, offset];
  }
  return [
    ...common,
    event.messageId,
    event.channel,
    event.status,
    event.playbookId ?? '',
    event.campaignId ?? '',
    event.reason,
    partition,
    offset,
  ];
}

export interface WriteOptions {
  /**
   * CLICKHOUSE_SHARDING=tenant: the batch is split per shard (shard-split.ts), each shard's block
   * with its own token, and written through the Distributed table synchronously.
   */
  sharding?: { cluster: string };
  /** The shard layout; by default read from system.clusters on the first write. */
  topology?: () => Promise<ShardTopology>;
}

/** The writer's options the configuration asks for. */
export function writeOptionsOf(config: Pick<Config, 'clickhouseCluster' | 'clickhouseSharding'>): WriteOptions {
  return config.clickhouseSharding === 'tenant' && config.clickhouseCluster !== undefined
    ? { sharding: { cluster: config.clickhouseCluster } }
    : {};
}

/** One shard's insert: the table, the rows as sent (JSONCompactEachRow arrays) and the settings. */
export interface InsertBlock {
  table: RawTable;
  columns: [string, ...string[]];
  values: unknown[][];
  token: string;
  /** The shard the block is for; undefined when not sharded. */
  shardNum?: number;
}

/** The inserts of one batch: one block, or one block per shard with rows (same batch → same blocks). */
export function insertBlocks(table: RawTable, rows: WritableEvent[], token: string, topology?: ShardTopology): InsertBlock[] {
  if (rows.length === 0) return [];
  const assignments = table === 'assignment_events';
  const columns: [string, ...string[]] = assignments ? [...ASSIGNMENT_COLUMNS] : [...DELIVERY_COLUMNS];
  if (!topology) return [{ table, columns, values: rows.map(rawRow), token }];
  return splitByShard(rows, (row) => row.event.tenantId, token, topology).map((block) => ({
    table,
    columns,
    values: block.rows.map(rawRow),
    token: block.token,
    shardNum: block.shardNum,
  }));
}

/**
 * write: inserts one partition's batch into its raw table; the materialized views fill the
 * rollups in the same statement. The deduplication token names the exact offset range, so a
 * batch written again (after a crash, a rebalance or a failed acknowledgement) is dropped by
 * ClickHouse in the raw table and in every rollup alike.
 *
 * Sharded, each shard's block goes through the Distributed table with insert_distributed_sync,
 * so the insert returns once the shard has it (the Kafka offset is committed only after every
 * shard's block), and the shard's local table drops a block it already has by its token.
 */
export function createWriteStep(client: ClickHouseClient, options: WriteOptions = {}) {
  const { sharding } = options;
  let topology: Promise<ShardTopology> | undefined;
  const layout = (): Promise<ShardTopology> => {
    if (!sharding) throw new Error('not sharded');
    topology ??= (options.topology ?? (() => loadShardTopology(client, sharding.cluster)))();
    topology.catch(() => (topology = undefined));
    return topology;
  };
  return async function writeStep(table: RawTable, rows: WritableEvent[], token: string): Promise<void> {
    if (rows.length === 0) return;
    const blocks = insertBlocks(table, rows, token, sharding ? await layout() : undefined);
    for (const block of blocks) {
      await client.insert({
        table: block.table,
        columns: block.columns,
        format: 'JSONCompactEachRow',
        values: block.values,
        clickhouse_settings: {
          insert_deduplicate: 1,
          insert_deduplication_token: block.token,
          deduplicate_blocks_in_dependent_materialized_views: 1,
          // One block per insert so that a retried batch splits into the very same blocks.
          max_insert_block_size: '10000000',
          min_insert_block_size_rows: '0',
          min_insert_block_size_bytes: '0',
          // Sharded: the insert returns once the shard has written the block, not when it is queued.
          ...(sharding ? { insert_distributed_sync: 1 } : {}),
        },
      });
    }
  };
}
