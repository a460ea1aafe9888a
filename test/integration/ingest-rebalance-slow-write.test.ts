import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { Admin, Kafka } from 'kafkajs';
import { topicNames } from '../../services/events/topics.js';
import { IngestPipeline } from '../../services/ingest/pipeline.js';
import { verifyOffsets } from '../../services/operations/offsets.js';
import { createPublisher } from '../../services/producer/publisher.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
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
 * The revocation contract under a slow write: the first member's batch bookkeeping (its batch
 * intents) takes seconds while a second member joins, so the rebalance lands in the middle of a
 * flush. Every event still counts once, and no partition's committed offset ever moves back.
 */

/** The client, with every insert into `ingest_batches` held for `delayMs` first (and `onHeld` told). */
function slowIntents(client: ClickHouseClient, delayMs: number, onHeld: () => void): ClickHouseClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'insert')
        return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
          if (params.table === 'ingest_batches') {
            onHeld();
            await new Promise((resolve) => setTimeout(resolve, delayMs));
          }
          return target.insert(params);
        };
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Polls the group's committed offsets and remembers every time one moved back. */
function watchCommits(admin: Admin, groupId: string, topics: string[]): { stop: () => Promise<string[]> } {
  const last = new Map<string, number>();
  const backwards: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const entry of await admin.fetchOffsets({ groupId, topics })) {
        for (const { partition, offset } of entry.partitions) {
          const key = `${entry.topic}[${partition}]`;
          const now = Number(offset);
          const before = last.get(key);
          if (before !== undefined && now < before) backwards.push(`${key}: ${before} → ${now}`);
          last.set(key, now);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return backwards;
    },
  };
}

describe('ingest: a rebalance during a slow flush', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let kafka: Kafka;
  let admin: Admin;
  const logger = createLogger(process.env.LOG_LEVEL ?? 'error');
  const members: IngestPipeline[] = [];

  beforeAll(async () => {
    const opened = await openTestClickHouse('ingest-rebalance-slow');
    clickhouse = opened.handle;
    const stamp = Date.now();
    config = {
      ...opened.config,
      topicPrefix: `rebalance-slow-${stamp}.`,
      ingest: {
        ...opened.config.ingest,
        groupId: `rebalance-slow-${stamp}`,
        batchMaxRows: 2000,
        batchMaxMs: 150,
        sessionTimeoutMs: 10_000,
      },
    };
    await applyMigrations(clickhouse.client, logger);
    kafka = createKafka(config, logger, 'ingest-rebalance-slow-test');
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.allSettled(members.map((member) => member.stop()));
    await admin?.disconnect();
    await deleteTopics(kafka, Object.values(topicNames(config.topicPrefix)));
    await clickhouse?.close();
  });

  const member = async (client: ClickHouseClient) => {
    const pipeline = new IngestPipeline({
      config,
      kafka: createKafka(config, logger, `slow-member-${members.length}`),
      clickhouse: client,
      logger,
      registry: new Registry(),
    });
    members.push(pipeline);
    await pipeline.start();
    return pipeline;
  };

  it('counts every event once and never commits backwards', async () => {
    const topics = topicNames(config.topicPrefix);
    const events = shuffle(generateEvents({ seed: 57, count: 30_000, startMs: Date.UTC(2026, 10, 1), spanMs: 3 * 86_400_000 }), 8);
    const publisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger });
    await publisher.connect();
    let held = 0;
    let firstHeld: () => void = () => undefined;
    const flushing = new Promise<void>((resolve) => (firstHeld = resolve));
    await member(
      slowIntents(clickhouse.client, 3000, () => {
        held += 1;
        firstHeld();
      }),
    );
    await publisher.publish(events.slice(0, 15_000));
    await flushing; // the first member is in the middle of a flush
    const watch = watchCommits(admin, config.ingest.groupId, [topics.assignments, topics.deliveries]);
    await member(clickhouse.client); // joins now: the group rebalances during that flush
    await publisher.publish(events.slice(15_000));
    await publisher.disconnect();
    await waitFor(
      'the group to commit every record',
      async () => {
        const progress = await groupProgress(admin, config.ingest.groupId, [topics.assignments, topics.deliveries]);
        return progress.end === events.length && progress.committed === progress.end;
      },
      180_000,
      500,
    );
    expect(held).toBeGreaterThan(0);
    expect(await watch.stop()).toEqual([]);
    expect(await countRaw(clickhouse.client)).toBe(events.length);
    expect(diffTruth(groundTruth(events), await readAggregates(clickhouse.client))).toEqual([]);
    const offsets = await verifyOffsets(clickhouse.client, admin, config.ingest.groupId, [
      { topic: topics.assignments, table: 'assignment_events' },
      { topic: topics.deliveries, table: 'delivery_events' },
    ]);
    expect(offsets.missing).toBe(0);
  }, 240_000);
});
