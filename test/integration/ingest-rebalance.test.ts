import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { Kafka } from 'kafkajs';
import { topicNames } from '../../services/events/topics.js';
import { IngestPipeline } from '../../services/ingest/pipeline.js';
import { createPublisher } from '../../services/producer/publisher.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { diffTruth, generateEvents, groundTruth, shuffle } from '../../fixtures/events.js';
import { countRaw, readAggregates } from '../support/tables.js';
import { groupProgress } from '../support/group-progress.js';
import { waitFor } from '../support/wait-for.js';
import { deleteTopics } from '../support/kafka.js';

/**
 * Two members of one consumer group (in one process, sharing the engine): a second member joins
 * while batches are in flight, then the first leaves. Partitions move twice; every event still
 * counts once.
 */
describe('ingest across rebalances', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let kafka: Kafka;
  const logger = createLogger(process.env.LOG_LEVEL ?? 'error');
  const members: IngestPipeline[] = [];

  beforeAll(async () => {
    const opened = await openTestClickHouse('ingest-rebalance');
    clickhouse = opened.handle;
    const stamp = Date.now();
    config = {
      ...opened.config,
      topicPrefix: `rebalance-${stamp}.`,
      ingest: { ...opened.config.ingest, groupId: `rebalance-${stamp}`, batchMaxRows: 3000, batchMaxMs: 150, sessionTimeoutMs: 6000 },
    };
    await applyMigrations(clickhouse.client, logger);
    kafka = createKafka(config, logger, 'ingest-rebalance-test');
  });

  afterAll(async () => {
    await Promise.allSettled(members.map((member) => member.stop()));
    await deleteTopics(kafka, Object.values(topicNames(config.topicPrefix)));
    await clickhouse?.close();
  });

  const member = async () => {
    const pipeline = new IngestPipeline({
      config,
      kafka: createKafka(config, logger, `member-${members.length}`),
      clickhouse: clickhouse.client,
      logger,
      registry: new Registry(),
    });
    members.push(pipeline);
    await pipeline.start();
    return pipeline;
  };

  it('a member joining and another leaving mid-stream: the aggregates equal the truth', async () => {
    const topics = topicNames(config.topicPrefix);
    const events = shuffle(generateEvents({ seed: 31, count: 90_000, startMs: Date.UTC(2026, 10, 1), spanMs: 5 * 86_400_000 }), 4);
    const duplicates = events.slice(0, 2_000);
    const stream = [...events, ...duplicates];
    const publisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger });
    await publisher.connect();
    const first = await member();
    await publisher.publish(stream.slice(0, 30_000));
    const second = await member(); // joins while the first is writing: partitions are split
    await publisher.publish(stream.slice(30_000, 60_000));
    await first.stop(); // leaves: its partitions move to the second
    await publisher.publish(stream.slice(60_000));
    await publisher.disconnect();

    const admin = kafka.admin();
    await admin.connect();
    await waitFor(
      'the group to commit every record',
      async () => {
        const progress = await groupProgress(admin, config.ingest.groupId, [topics.assignments, topics.deliveries]);
        return progress.end === stream.length && progress.committed === progress.end;
      },
      180_000,
      500,
    );
    await admin.disconnect();
    expect(second.health()).toEqual({ ok: true });
    expect(await countRaw(clickhouse.client)).toBe(events.length);
    expect(diffTruth(groundTruth(stream), await readAggregates(clickhouse.client))).toEqual([]);
  }, 240_000);
});
