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
export function createUniqueWriteStep(client: ClickHouseClient) {
  const write = createWriteStep(client);
  let queue: Promise<unknown> = Promise.resolve();
  return function uniqueWriteStep(kind: EventKind, rows: WritableEvent[], token: string): Promise<{ duplicates: number }> {
    const run = queue.then(async () => {
      const written = await writtenLocations(client, kind, rows);
      const kept = rows.filter(({ event, partition, offset }) => {
        const locations = written.get(`${event.tenantId}\u0000${event.eventId}`);
        return !locations || locations.has(`${partition}/${offset}`);
      });
      await write(RAW_TABLES[kind], kept, token);
      return { duplicates: rows.length - kept.length };
    });
    queue = run.catch(() => undefined);
    return run;
  };
}
