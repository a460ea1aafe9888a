import type { ClickHouseClient } from '../../platform/clickhouse.js';
import type { AssignmentEvent, DeliveryEvent, SendingEvent } from '../../events/types.js';
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

export function assignmentRow({ event, partition, offset }: WritableEvent): unknown[] {
  const e = event as AssignmentEvent;
  return [
    e.tenantId,
    clickhouseTime(e.occurredAt),
    e.eventId,
    e.customerId,
    e.playbookId,
    e.playbookName,
    e.campaignId,
    e.campaignName,
    e.action,
    partition,
    offset,
  ];
}

export function deliveryRow({ event, partition, offset }: WritableEvent): unknown[] {
  const e = event as DeliveryEvent;
  return [
    e.tenantId,
    clickhouseTime(e.occurredAt),
    e.eventId,
    e.customerId,
    e.messageId,
    e.channel,
    e.status,
    e.playbookId ?? '',
    e.campaignId ?? '',
    e.reason,
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
  const toRow = assignments ? assignmentRow : deliveryRow;
  if (!topology) return [{ table, columns, values: rows.map(toRow), token }];
  return splitByShard(rows, (row) => row.event.tenantId, token, topology).map((block) => ({
    table,
    columns,
    values: block.rows.map(toRow),
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

/** Where an event id was written: partition and offset of its record (within one event type). */
type Location = `${number}/${number}`;

/**
 * The ids of `rows` written in the last 24 hours, with every location they were written at.
 * One query per batch against ingest_event_ids_by_id (ordered by type, tenant, id).
 */
async function writtenLocations(client: ClickHouseClient, kind: EventKind, rows: WritableEvent[]): Promise<Map<string, Set<Location>>> {
  const found = new Map<string, Set<Location>>();
  if (rows.length === 0) return found;
  const ids = [...new Set(rows.map((r) => r.event.eventId))];
  const tenants = [...new Set(rows.map((r) => r.event.tenantId))];
  const result = await client.query({
    query: `SELECT tenant_id, event_id, kafka_partition, kafka_offset FROM ingest_event_ids_by_id
            WHERE kafka_topic = {kind:String} AND tenant_id IN {tenants:Array(String)} AND event_id IN {ids:Array(String)}
              AND ingested_at >= now() - INTERVAL 24 HOUR`,
    query_params: { kind, tenants, ids },
    format: 'JSONCompactEachRow',
  });
  for (const [tenant, id, partition, offset] of (await result.json()) as [string, string, number, string | number][]) {
    const key = `${tenant}\u0000${id}`;
    let locations = found.get(key);
    if (!locations) found.set(key, (locations = new Set()));
    locations.add(`${Number(partition)}/${Number(offset)}`);
  }
  return found;
}

type EventKind = 'assignment' | 'delivery';

/**
 * write, deduplicated across partitions: before a batch is inserted, its ids are looked up among
 * the ids written in the last 24 hours; a row whose id (for the same tenant and event type) was
 * written from another partition or offset is dropped as a duplicate. A row whose own
 * partition/offset is among them was written by an earlier attempt of this very batch (a crash
 * after the insert, before the commit) and is kept, so a batch written again has the same rows
 * (and its token makes ClickHouse drop it). Lookups and inserts of one process run one at a time,
 * so two copies consumed at once from two partitions count once.
 */
export function createUniqueWriteStep(client: ClickHouseClient, options: WriteOptions = {}) {
  const write = createWriteStep(client, options);
  let queue: Promise<unknown> = Promise.resolve();
  return function uniqueWriteStep(
    kind: EventKind,
    rows: WritableEvent[],
    token: string,
  ): Promise<{ duplicates: number; droppedOffsets: number[] }> {
    const run = queue.then(async () => {
      const written = await writtenLocations(client, kind, rows);
      const kept = rows.filter(({ event, partition, offset }) => {
        const locations = written.get(`${event.tenantId}\u0000${event.eventId}`);
        return !locations || locations.has(`${partition}/${offset}`);
      });
      await write(RAW_TABLES[kind], kept, token);
      const keptOffsets = new Set(kept.map((row) => row.offset));
      return {
        duplicates: rows.length - kept.length,
        droppedOffsets: rows.filter((row) => !keptOffsets.has(row.offset)).map((row) => row.offset),
      };
    });
    queue = run.catch(() => undefined);
    return run;
  };
}
