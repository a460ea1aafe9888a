import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../services/events/codec.js';
import { topicNames, type TopicNames } from '../../services/events/topics.js';
import type { AssignmentEvent, SendingEvent } from '../../services/events/types.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { createPublisher, InvalidEventError, type Publisher } from '../../services/producer/publisher.js';
import { createSimulator } from '../../services/producer/simulator.js';
import { deleteTopics, topicOffsets } from '../support/kafka.js';

/** The publisher library against the real broker. */
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const logger = createLogger('warn');
const run = `publisher-test-${Date.now()}-${process.pid}`;
const created: string[] = [];
let kafka: Kafka;

async function connected(name: string): Promise<{ topics: TopicNames; publisher: Publisher }> {
  const topics = topicNames(`${run}-${name}.`);
  created.push(topics.assignments, topics.deliveries);
  const publisher = createPublisher({ kafka, topics, partitions: 3, logger });
  await publisher.connect();
  return { topics, publisher };
}

async function readAll(topics: TopicNames, count: number): Promise<SendingEvent[]> {
  const consumer = kafka.consumer({ groupId: `${run}-reader-${created.length}` });
  const events: SendingEvent[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topics.assignments, topics.deliveries], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${events.length} of ${count} records arrived`)), 30_000);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) events.push(decodeEvent(message.value as Buffer));
          if (events.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return events;
}

async function partitionsAndRecords(topics: TopicNames): Promise<{ partitions: number; records: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let partitions = 0;
    let records = 0;
    for (const topic of [topics.assignments, topics.deliveries]) {
      for (const partition of await topicOffsets(admin, topic)) {
        partitions++;
        records += Number(partition.high) - Number(partition.low);
      }
    }
    return { partitions, records };
  } finally {
    await admin.disconnect();
  }
}

beforeAll(() => {
  kafka = createKafka(config, logger, 'publisher-test');
});

afterAll(async () => {
  await deleteTopics(kafka, created);
});

describe('publisher', () => {
  it('creates missing topics, and sends nothing of a call holding an invalid event', async () => {
    const { topics, publisher } = await connected('invalid');
    const events = createSimulator({ seed: 21 }).take(100);
    const broken = [...events.slice(0, 40), { ...events[40]!, eventId: '' }, ...events.slice(41)];
    const error = await publisher.publish(broken).catch((caught: unknown) => caught);
    await publisher.disconnect();
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).invalid).toEqual([{ index: 40, errors: ['eventId: must not be empty'] }]);
    expect(await partitionsAndRecords(topics)).toEqual({ partitions: 6, records: 0 });
  });

  it('sends large events of one customer in requests the broker accepts', async () => {
    const { topics, publisher } = await connected('one-key');
    const base = createSimulator({ seed: 22 })
      .take(50)
      .find((event): event is AssignmentEvent => event.type === 'assignment')!;
    const events = Array.from({ length: 4000 }, (_, i) => ({
      ...base,
      eventId: `big-${i}`,
      playbookName: 'p'.repeat(500),
      campaignName: 'c'.repeat(500),
    }));
    await publisher.publish(events);
    await publisher.disconnect();
    const read = await readAll(topics, events.length);
    expect(read.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
  });

  it('publishes one event normalised', async () => {
    const { topics, publisher } = await connected('one');
    const [event] = createSimulator({ seed: 23 }).take(1) as [SendingEvent];
    await publisher.publishOne({ ...event, occurredAt: '2026-11-27T12:15:00+02:00' });
    await publisher.disconnect();
    expect(await readAll(topics, 1)).toEqual([{ ...event, occurredAt: '2026-11-27T10:15:00.000Z' }]);
  });
});
