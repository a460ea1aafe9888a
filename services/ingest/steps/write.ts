import type { ClickHouseClient } from '../../platform/clickhouse.js';
import type { AssignmentEvent, DeliveryEvent, SendingEvent } from '../../events/types.js';
import { utcIsoToDateTime64Text as clickhouseTime } from '../../platform/clickhouse-values.js';

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

/**
 * write: inserts one partition's batch into its raw table; the materialized views fill the
 * rollups in the same statement. The deduplication token names the exact offset range, so a
 * batch written again (after a crash, a rebalance or a failed acknowledgement) is dropped by
 * ClickHouse in the raw table and in every rollup alike.
 */
export function createWriteStep(client: ClickHouseClient) {
  return async function writeStep(table: RawTable, rows: WritableEvent[], token: string): Promise<void> {
    if (rows.length === 0) return;
    const assignments = table === 'assignment_events';
    await client.insert({
      table,
      columns: [...(assignments ? ASSIGNMENT_COLUMNS : DELIVERY_COLUMNS)],
      format: 'JSONCompactEachRow',
      values: rows.map(assignments ? assignmentRow : deliveryRow),
      clickhouse_settings: {
        insert_deduplicate: 1,
        insert_deduplication_token: token,
        deduplicate_blocks_in_dependent_materialized_views: 1,
        // One block per insert so that a retried batch splits into the very same blocks.
        max_insert_block_size: '10000000',
        min_insert_block_size_rows: '0',
        min_insert_block_size_bytes: '0',
      },
    });
  };
}
