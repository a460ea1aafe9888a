import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { Kafka } from 'kafkajs';
import { encodeEvent } from '../../services/events/codec.js';
import { topicNames } from '../../services/events/topics.js';
import type { DeliveryEvent, SendingEvent } from '../../services/events/types.js';
import { IngestPipeline } from '../../services/ingest/pipeline.js';
import { DEAD_LETTER_HEADERS } from '../../services/ingest/steps/dead-letter.js';
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

describe('ingest: every valid event counted exactly once', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let kafka: Kafka;
  let ingest: IngestPipeline;
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');

  beforeAll(async () => {
    const opened = await openTestClickHouse('ingest-once');
    clickhouse = opened.handle;
    config = {
      ...opened.config,
      topicPrefix: `once-${Date.now()}.`,
      ingest: { ...opened.config.ingest, groupId: `once-${Date.now()}`, batchMaxRows: 5000, batchMaxMs: 200 },
    };
    await applyMigrations(clickhouse.client, logger);
    kafka = createKafka(config, logger, 'ingest-once-test');
    ingest = new IngestPipeline({ config, kafka, clickhouse: clickhouse.client, logger, registry: new Registry() });
    await ingest.start();
  });

  afterAll(async () => {
    await ingest?.stop();
    await deleteTopics(kafka, Object.values(topicNames(config.topicPrefix)));
    await clickhouse?.close();
  });

  it('100k events with 3% exact duplicates sent again later and shuffled times: every hourly aggregate equals the distinct truth', async () => {
    const events = shuffle(generateEvents({ seed: 7, count: 100_000, startMs: Date.UTC(2026, 10, 1), spanMs: 10 * 86_400_000 }), 11);
    const duplicates = shuffle([...events], 13).slice(0, 3_000);
    const publisher = createPublisher({ kafka, topics: topicNames(config.topicPrefix), partitions: config.topicPartitions, logger });
    await publisher.connect();
    await publisher.publish(events);
    await publisher.publish(duplicates);
    await publisher.disconnect();

    const admin = kafka.admin();
    await admin.connect();
    const topics = [topicNames(config.topicPrefix).assignments, topicNames(config.topicPrefix).deliveries];
    await waitFor('the group to commit every record', async () => {
      const progress = await groupProgress(admin, config.ingest.groupId, topics);
      return progress.end === events.length + duplicates.length && progress.committed === progress.end;
    });
    await admin.disconnect();

    expect(await countRaw(clickhouse.client)).toBe(events.length);
    expect(diffTruth(groundTruth([...events, ...duplicates]), await readAggregates(clickhouse.client))).toEqual([]);
  });

  it('poison records go to the dead-letter topic with their reasons; the valid records around them are all counted', async () => {
    const topics = topicNames(config.topicPrefix);
    const before = await countRaw(clickhouse.client);
    const valid = generateEvents({
      seed: 99,
      count: 200,
      startMs: Date.UTC(2026, 10, 20),
      spanMs: 3_600_000,
      idPrefix: 'poison-neighbour',
    });
    const smsDelivered: DeliveryEvent = {
      type: 'delivery',
      eventId: 'bad-sms',
      tenantId: 'tenant-0',
      occurredAt: '2026-11-20T10:00:00.000Z',
      customerId: 'c-1',
      messageId: 'm-x',
      channel: 'sms',
      status: 'delivered',
      playbookId: null,
      campaignId: null,
      reason: null,
    };
    const unknownSchema = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 0x42), Buffer.from('payload')]);
    const poison = [
      { topic: topics.deliveries, value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x13]), reason: /undecodable \(bad-header\)/ },
      { topic: topics.deliveries, value: unknownSchema, reason: /undecodable \(unknown-schema\)/ },
      { topic: topics.assignments, value: Buffer.from(JSON.stringify(valid[0]).slice(0, -5)), reason: /undecodable \(json\)/ },
      { topic: topics.deliveries, value: encodeEvent(smsDelivered), reason: /invalid event: status/ },
      {
        topic: topics.deliveries,
        value: encodeEvent(valid.find((e) => e.type === 'assignment') as SendingEvent),
        reason: /an assignment event on the .*deliveries topic/,
      },
    ];
    const producer = kafka.producer();
    await producer.connect();
    const half = valid.length / 2;
    const messagesFor = (list: SendingEvent[], topic: string, type: string) =>
      list
        .filter((e) => e.type === type)
        .map((e) => ({ key: `${e.tenantId}:${e.customerId}`, value: encodeEvent(e) }))
        .map((m) => ({ ...m, topic }));
    const send = async (list: { topic: string; key?: string; value: Buffer }[]) => {
      for (const item of list) await producer.send({ topic: item.topic, messages: [{ key: item.key ?? 'poison', value: item.value }] });
    };
    await send([
      ...messagesFor(valid.slice(0, half), topics.assignments, 'assignment'),
      ...messagesFor(valid.slice(0, half), topics.deliveries, 'delivery'),
    ]);
    await send(poison.map(({ topic, value }) => ({ topic, key: 'poison', value })));
    await send([
      ...messagesFor(valid.slice(half), topics.assignments, 'assignment'),
      ...messagesFor(valid.slice(half), topics.deliveries, 'delivery'),
    ]);
    await producer.disconnect();

    await waitFor('the valid neighbours to be written', async () => (await countRaw(clickhouse.client)) === before + valid.length);

    const consumer = kafka.consumer({ groupId: `${config.ingest.groupId}-dlq-reader`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.deadLetter], fromBeginning: true });
    const letters: { reason: string; topic: string; offset: string; value: Buffer }[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const header = (name: string) => message.headers?.[name]?.toString() ?? '';
          letters.push({
            reason: header(DEAD_LETTER_HEADERS.reason),
            topic: header(DEAD_LETTER_HEADERS.topic),
            offset: header(DEAD_LETTER_HEADERS.offset),
            value: message.value!,
          });
          if (letters.length >= poison.length) resolve();
        },
      });
    });
    await consumer.disconnect();
    for (const item of poison) {
      const letter = letters.find((l) => l.value.equals(item.value));
      expect(letter, `dead letter for ${item.reason}`).toBeDefined();
      expect(letter!.reason).toMatch(item.reason);
      expect(letter!.topic).toBe(item.topic);
      expect(Number(letter!.offset)).toBeGreaterThanOrEqual(0);
    }
    expect(ingest.health().ok).toBe(true);
  });
});
