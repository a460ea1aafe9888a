import type { Admin } from 'kafkajs';
import type { ClickHouseClient } from '../platform/clickhouse.js';

/**
 * Silent loss, detected by offset: every offset of an event topic below the ingest group's
 * committed offset must be a raw row (kafka_partition/kafka_offset), a dead letter or a duplicate
 * (both recorded in `ingest_skipped` with their batch, before its commit). From the partition's
 * low watermark on (older records are gone from Kafka). Offsets committed before migration 010
 * recorded no skipped offsets: their dead letters and duplicates show as missing.
 */

export interface PartitionCheck {
  topic: string;
  partition: number;
  /** [from, to): the low watermark to the committed offset. */
  from: number;
  to: number;
  accounted: number;
  missing: number;
  /** The first missing offsets. */
  examples: number[];
}

export interface OffsetReport {
  partitions: PartitionCheck[];
  missing: number;
}

export async function verifyOffsets(
  client: ClickHouseClient,
  admin: Admin,
  groupId: string,
  topics: Array<{ topic: string; table: 'assignment_events' | 'delivery_events' }>,
): Promise<OffsetReport> {
  const report: OffsetReport = { partitions: [], missing: 0 };
  // A topic that does not exist (yet) has no offsets to account for.
  const existing = new Set(await admin.listTopics());
  topics = topics.filter((t) => existing.has(t.topic));
  if (topics.length === 0) return report;
  const committed = new Map<string, number>();
  for (const entry of await admin.fetchOffsets({ groupId, topics: topics.map((t) => t.topic) }))
    for (const p of entry.partitions) committed.set(`${entry.topic}/${p.partition}`, Number(p.offset));
  for (const { topic, table } of topics) {
    for (const { partition, low } of await admin.fetchTopicOffsets(topic)) {
      const to = committed.get(`${topic}/${partition}`) ?? -1;
      const from = Number(low);
      if (to <= from) {
        report.partitions.push({ topic, partition, from, to: Math.max(from, to), accounted: 0, missing: 0, examples: [] });
        continue;
      }
      const params = { groupId, topic, partition, from, to };
      const accountedFor = `SELECT kafka_offset AS offset FROM ${table}
          WHERE kafka_partition = {partition:UInt32} AND kafka_offset >= {from:UInt64} AND kafka_offset < {to:UInt64}
        UNION ALL
        SELECT offset FROM ingest_skipped
          WHERE group_id = {groupId:String} AND topic = {topic:String} AND partition = {partition:UInt32}
            AND offset >= {from:UInt64} AND offset < {to:UInt64}`;
      const counted = await client.query({
        query: `SELECT uniqExact(offset) AS n FROM (${accountedFor})`,
        query_params: params,
        format: 'JSONEachRow',
      });
      const accounted = Number((await counted.json<{ n: string | number }>())[0]?.n ?? 0);
      const missing = to - from - accounted;
      let examples: number[] = [];
      if (missing > 0) {
        const gaps = await client.query({
          query: `SELECT {from:UInt64} + number AS offset FROM numbers({count:UInt64})
            WHERE offset NOT IN (SELECT offset FROM (${accountedFor})) ORDER BY offset LIMIT 5`,
          query_params: { ...params, count: to - from },
          format: 'JSONEachRow',
        });
        examples = (await gaps.json<{ offset: string | number }>()).map((row) => Number(row.offset));
      }
      report.partitions.push({ topic, partition, from, to, accounted, missing, examples });
      report.missing += Math.max(0, missing);
    }
  }
  return report;
}
