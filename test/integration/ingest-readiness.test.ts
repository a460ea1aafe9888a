import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { AssignerProtocol, type Kafka } from 'kafkajs';
import { topicNames } from '../../services/events/topics.js';
import { IngestPipeline } from '../../services/ingest/pipeline.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createKafka, ensureTopics } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { waitFor } from '../support/wait-for.js';
import { deleteTopics } from '../support/kafka.js';

/**
 * /readyz for the ingest: ready means the consumer has joined its group and owns its
 * partitions. A member that left without a word (a crashed process) still holds the group:
 * a new member's join waits until the broker gives up on it, and the ingest must not say it
 * is ready meanwhile.
 */
describe('ingest readiness', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let kafka: Kafka;
  const logger = createLogger(process.env.LOG_LEVEL ?? 'error');
  let ingest: IngestPipeline | undefined;

  beforeAll(async () => {
    const opened = await openTestClickHouse('ingest-readiness');
    clickhouse = opened.handle;
    const stamp = Date.now();
    config = {
      ...opened.config,
      topicPrefix: `ready-${stamp}.`,
      ingest: { ...opened.config.ingest, groupId: `ready-${stamp}`, sessionTimeoutMs: 6000 },
    };
    await applyMigrations(clickhouse.client, logger);
    kafka = createKafka(config, logger, 'ingest-readiness-test');
  });

  afterAll(async () => {
    await ingest?.stop();
    await deleteTopics(kafka, Object.values(topicNames(config.topicPrefix)));
    await clickhouse?.close();
  });

  it('is not ready until the consumer has joined the group with its partitions, however long the join takes', async () => {
    const topics = topicNames(config.topicPrefix);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, config.topicPartitions, Object.values(topics));

    // A member that stops heartbeating while holding every partition (its batch never ends).
    const stale = createKafka(config, logger, 'stale-member').consumer({
      groupId: config.ingest.groupId,
      sessionTimeout: 6000,
      heartbeatInterval: 600,
    });
    await stale.connect();
    await stale.subscribe({ topics: [topics.assignments, topics.deliveries], fromBeginning: true });
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    let inBatch = false;
    await stale.run({
      eachBatch: async () => {
        inBatch = true;
        await stuck;
      },
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.assignments, messages: [{ key: 'k', value: Buffer.from('not an event') }] });
    await producer.disconnect();
    await waitFor('the stale member to be inside its batch', async () => inBatch);

    try {
      ingest = new IngestPipeline({ config, kafka, clickhouse: clickhouse.client, logger, registry: new Registry() });
      const starting = ingest.start();
      const pipeline = ingest;
      await waitFor('the ingest to say it is ready', async () => pipeline.health().ok, 60_000, 20);

      // At the moment it says ready, the group has settled and this member owns partitions.
      const [group] = (await admin.describeGroups([config.ingest.groupId])).groups;
      expect(group!.state).toBe('Stable');
      const owned = group!.members.flatMap((member) => {
        if (member.clientId !== 'ingest-readiness-test' || member.memberAssignment.length === 0) return [];
        const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment ?? {};
        return Object.values(assignment).flat();
      });
      expect(owned.length).toBe(2 * config.topicPartitions);
      await starting;
    } finally {
      release();
      await stale.disconnect();
      await admin.disconnect();
    }
  });
});
