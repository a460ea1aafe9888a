import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { Admin, Kafka } from 'kafkajs';
import { topicNames } from '../../services/events/topics.js';
import { IngestPipeline } from '../../services/ingest/pipeline.js';
import { createPublisher } from '../../services/producer/publisher.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { faultyClient, openTestClickHouse } from '../support/clickhouse.js';
import { diffTruth, generateEvents, groundTruth } from '../../fixtures/events.js';
import { groupProgress } from '../support/group-progress.js';
import { readAggregates } from '../support/tables.js';
import { waitFor } from '../support/wait-for.js';
import { deleteTopics, topicOffsets } from '../support/kafka.js';

/** Per partition: every record below the committed offset is in the raw tables (no duplicates in this test). */
async function committedIsWritten(
  admin: Admin,
  client: ClickHouseClient,
  groupId: string,
  topics: { topic: string; table: string }[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const { topic, table } of topics) {
    const low = new Map((await topicOffsets(admin, topic)).map((p) => [p.partition, Number(p.low)]));
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const { partition, offset } of committed!.partitions) {
      const upTo = Number(offset);
      if (upTo < 0) continue;
      const result = await client.query({
        query: `SELECT count() FROM ${table} WHERE kafka_partition = {p:UInt32} AND kafka_offset < {upTo:UInt64}`,
        query_params: { p: partition, upTo },
        format: 'JSONCompactEachRow',
      });
      const [[written]] = (await result.json()) as [[string]];
      const expected = upTo - (low.get(partition) ?? 0);
      if (Number(written) !== expected)
        problems.push(`${topic}[${partition}] committed ${upTo} but only ${written} of ${expected} records are written`);
    }
  }
  return problems;
}

describe('ingest while ClickHouse inserts fail', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let kafka: Kafka;
  let ingest: IngestPipeline;
  let faults: ReturnType<typeof faultyClient>;
  const logger = createLogger(process.env.LOG_LEVEL ?? 'error');

  beforeAll(async () => {
    const opened = await openTestClickHouse('ingest-outage');
    clickhouse = opened.handle;
    config = {
      ...opened.config,
      topicPrefix: `outage-${Date.now()}.`,
      ingest: { ...opened.config.ingest, groupId: `outage-${Date.now()}`, batchMaxRows: 2000, batchMaxMs: 100 },
    };
    await applyMigrations(clickhouse.client, logger);
    kafka = createKafka(config, logger, 'ingest-outage-test');
    faults = faultyClient(clickhouse.client);
    ingest = new IngestPipeline({ config, kafka, clickhouse: faults.client, logger, registry: new Registry() });
    await ingest.start();
  });

  afterAll(async () => {
    await ingest?.stop();
    await deleteTopics(kafka, Object.values(topicNames(config.topicPrefix)));
    await clickhouse?.close();
  });

  it('commits nothing it has not written, reports not ready, and after recovery the counts are exact', async () => {
    const topics = topicNames(config.topicPrefix);
    const pairs = [
      { topic: topics.assignments, table: 'assignment_events' },
      { topic: topics.deliveries, table: 'delivery_events' },
    ];
    const events = generateEvents({ seed: 3, count: 30_000, startMs: Date.UTC(2026, 10, 1), spanMs: 2 * 86_400_000 });
    const publisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger });
    await publisher.connect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await publisher.publish(events.slice(0, 10_000));
      await waitFor(
        'the first third to be committed',
        async () => (await groupProgress(admin, config.ingest.groupId, [topics.assignments, topics.deliveries])).committed === 10_000,
      );

      faults.failInserts(true);
      await publisher.publish(events.slice(10_000, 20_000));
      await waitFor('inserts to fail', async () => faults.failures() >= 3);
      await waitFor('not ready', async () => !ingest.health().ok);
      expect(ingest.health().detail).toMatch(/injected fault/);
      for (let check = 0; check < 4; check += 1) {
        const progress = await groupProgress(admin, config.ingest.groupId, [topics.assignments, topics.deliveries]);
        expect(progress.committed).toBe(10_000);
        expect(await committedIsWritten(admin, clickhouse.client, config.ingest.groupId, pairs)).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }

      faults.failInserts(false);
      await publisher.publish(events.slice(20_000));
      await waitFor(
        'every record to be committed',
        async () =>
          (await groupProgress(admin, config.ingest.groupId, [topics.assignments, topics.deliveries])).committed === events.length,
        120_000,
      );
      expect(ingest.health().ok).toBe(true);
      expect(await committedIsWritten(admin, clickhouse.client, config.ingest.groupId, pairs)).toEqual([]);
      expect(diffTruth(groundTruth(events), await readAggregates(clickhouse.client))).toEqual([]);
    } finally {
      await publisher.disconnect();
      await admin.disconnect();
    }
  });
});
