import { InsertCoalescer } from './insert-coalescer.js';
import type { ClickHouseClient } from '../platform/clickhouse.js';

/** The offset range of one partition's batch, recorded before the batch is written. */
export interface BatchIntent {
  firstOffset: number;
  lastOffset: number;
}

/**
 * Batch intents make batches deterministic: before a batch is written its range is recorded,
 * and whoever consumes the partition after a crash or a rebalance cuts its batches at the very
 * same offsets, so the retried insert carries the same deduplication token.
 */
export class BatchIntentLog {
  /** Intents of several partitions recorded at once go in one insert. */
  private readonly inserts: InsertCoalescer<[string, string, number, number, number]>;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly groupId: string,
  ) {
    this.inserts = new InsertCoalescer((values) =>
      this.client
        .insert({
          table: 'ingest_batches',
          columns: ['group_id', 'topic', 'partition', 'first_offset', 'last_offset'],
          format: 'JSONCompactEachRow',
          values,
          clickhouse_settings: { insert_deduplicate: 0 },
        })
        .then(() => undefined),
    );
  }

  async pending(topic: string, partition: number, fromOffset: number): Promise<BatchIntent[]> {
    const result = await this.client.query({
      query: `SELECT first_offset, last_offset FROM ingest_batches
              WHERE group_id = {group:String} AND topic = {topic:String} AND partition = {partition:UInt32}
                AND last_offset >= {from:UInt64}
              GROUP BY first_offset, last_offset
              ORDER BY first_offset`,
      query_params: { group: this.groupId, topic, partition, from: fromOffset },
      format: 'JSONCompactEachRow',
    });
    const rows = (await result.json()) as [string | number, string | number][];
    return rows.map(([first, last]) => ({ firstOffset: Number(first), lastOffset: Number(last) }));
  }

  async record(topic: string, partition: number, intent: BatchIntent): Promise<void> {
    await this.inserts.add([[this.groupId, topic, partition, intent.firstOffset, intent.lastOffset]]);
  }
}

/**
 * How far each partition is written (ingest_written): recorded after a batch is written and
 * before its offsets are committed, so that records read again later — a replay of any age — are
 * skipped instead of written twice (the insert deduplication token is remembered for only the
 * last 1,000 blocks).
 */
export class WrittenMarks {
  /**
   * Marks of several partitions recorded at once go in one insert. A partition has at most one
   * mark waiting (its next batch is written after this one is committed), so one insert never
   * holds two marks of a partition with the same written_at.
   */
  private readonly inserts: InsertCoalescer<[string, string, number, number]>;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly groupId: string,
  ) {
    this.inserts = new InsertCoalescer((values) =>
      this.client
        .insert({
          table: 'ingest_written',
          columns: ['group_id', 'topic', 'partition', 'last_offset'],
          format: 'JSONCompactEachRow',
          values: latestPerPartition(values),
          clickhouse_settings: { insert_deduplicate: 0 },
        })
        .then(() => undefined),
    );
  }

  /** The partition's last written offset, or -1 when none is recorded. */
  async writtenThrough(topic: string, partition: number): Promise<number> {
    const result = await this.client.query({
      query: `SELECT argMax(last_offset, written_at) FROM ingest_written
              WHERE group_id = {group:String} AND topic = {topic:String} AND partition = {partition:UInt32}
              HAVING count() > 0`,
      query_params: { group: this.groupId, topic, partition },
      format: 'JSONCompactEachRow',
    });
    const rows = (await result.json()) as [string | number][];
    return rows.length === 0 ? -1 : Number(rows[0]![0]);
  }

  async record(topic: string, partition: number, lastOffset: number): Promise<void> {
    await this.inserts.add([[this.groupId, topic, partition, lastOffset]]);
  }
}

/** The highest mark of each partition among `marks` (rows of one insert share their written_at). */
function latestPerPartition(marks: [string, string, number, number][]): [string, string, number, number][] {
  const latest = new Map<string, [string, string, number, number]>();
  for (const mark of marks) {
    const key = `${mark[0]}\u0000${mark[1]}\u0000${mark[2]}`;
    const known = latest.get(key);
    if (!known || known[3] < mark[3]) latest.set(key, mark);
  }
  return [...latest.values()];
}

/** Loads the last `limit` event ids written to a partition within the window, oldest first, for duplicate detection. */
export async function loadRecentEventIds(
  client: ClickHouseClient,
  kind: 'assignment' | 'delivery',
  partition: number,
  { limit, windowHours }: { limit: number; windowHours: number },
  visit: (tenantId: string, eventId: string, offset: number) => void,
): Promise<void> {
  if (limit === 0) return;
  const result = await client.query({
    query: `SELECT tenant_id, event_id, kafka_offset FROM (
              SELECT tenant_id, event_id, kafka_offset FROM ingest_event_ids
              WHERE kafka_topic = {kind:String} AND kafka_partition = {partition:UInt32}
                AND ingested_at >= now() - INTERVAL {hours:UInt32} HOUR
              ORDER BY kafka_offset DESC LIMIT {limit:UInt64})
            ORDER BY kafka_offset`,
    query_params: { kind, partition, limit, hours: windowHours },
    format: 'JSONCompactEachRow',
  });
  const rows = (await result.json()) as [string, string, string | number][];
  for (const [tenantId, eventId, offset] of rows) visit(tenantId, eventId, Number(offset));
}
