/**
 * Producer throughput: N events published through the library (validate, encode, key,
 * batch, idempotent send with acks=all), then the same N events pre-encoded into the same
 * produce requests and sent by a bare kafkajs producer with the same settings — the bound the
 * library can reach on this machine and broker. Both paths first send a small untimed warm-up
 * (JIT, connections, metadata). Own topics, deleted at the end.
 *
 *   npx tsx bench/produce.ts [--events 1000000] [--batch-size 20000]
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Admin, TopicMessages } from 'kafkajs';
import { topicNames, type TopicNames } from '../services/events/topics.js';
import type { SendingEvent } from '../services/events/types.js';
import { loadConfig } from '../services/platform/config.js';
import { createKafka, ensureTopics } from '../services/platform/kafka.js';
import { createLogger } from '../services/platform/logger.js';
import { createPublisher, PRODUCER_OPTIONS, produceRequests, PUBLISH_BATCH_SIZE, SEND_OPTIONS } from '../services/producer/publisher.js';
import { createSimulator } from '../services/producer/simulator.js';

const WARM_UP_EVENTS = 50_000;

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'batch-size': { type: 'string', default: String(PUBLISH_BATCH_SIZE) },
  },
});
const count = Number(values.events);
const batchSize = Number(values['batch-size']);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(batchSize) || batchSize < 1) {
  console.error('usage: npx tsx bench/produce.ts [--events N] [--batch-size N]  (whole numbers ≥ 1)');
  process.exit(2);
}

const config = loadConfig();
const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));
const kafka = createKafka(config, logger, 'bench-produce');
const prefix = `bench-produce-${Date.now()}.`;
const libraryTopics = topicNames(`${prefix}library.`);
const boundTopics = topicNames(`${prefix}bound.`);

function seconds(fromMs: number): number {
  return (performance.now() - fromMs) / 1000;
}

function report(label: string, elapsed: number): number {
  const rate = count / elapsed;
  console.log(`${label.padEnd(40)} ${count} events in ${elapsed.toFixed(2)} s = ${Math.round(rate)} events/s`);
  return rate;
}

async function recordsIn(admin: Admin, topics: TopicNames): Promise<number> {
  let total = 0;
  for (const topic of [topics.assignments, topics.deliveries]) {
    for (const partition of await admin.fetchTopicOffsets(topic)) total += Number(partition.high) - Number(partition.low);
  }
  return total;
}

async function throughLibrary(warmUp: SendingEvent[], events: SendingEvent[]): Promise<number> {
  const publisher = createPublisher({ kafka, topics: libraryTopics, partitions: config.topicPartitions, logger, batchSize });
  await publisher.connect();
  try {
    await publisher.publish(warmUp);
    const start = performance.now();
    await publisher.publish(events);
    return report('library (validate + encode + send):', seconds(start));
  } finally {
    await publisher.disconnect();
  }
}

async function bareProducer(admin: Admin, warmUp: SendingEvent[], events: SendingEvent[]): Promise<number> {
  await ensureTopics(admin, config.topicPartitions, [boundTopics.assignments, boundTopics.deliveries]);
  const warmUpRequests = [...produceRequests(warmUp, boundTopics, batchSize)];
  const requests: TopicMessages[][] = [...produceRequests(events, boundTopics, batchSize)];
  const producer = kafka.producer(PRODUCER_OPTIONS);
  await producer.connect();
  try {
    for (const topicMessages of warmUpRequests) await producer.sendBatch({ ...SEND_OPTIONS, topicMessages });
    const start = performance.now();
    for (const topicMessages of requests) await producer.sendBatch({ ...SEND_OPTIONS, topicMessages });
    return report('bound (bare kafkajs, pre-encoded):', seconds(start));
  } finally {
    await producer.disconnect();
  }
}

const admin = kafka.admin();
await admin.connect();
try {
  const start = performance.now();
  const simulator = createSimulator({
    seed: 1,
    tenants: 10,
    campaigns: 12,
    startMs: Date.parse('2026-11-01T00:00:00.000Z'),
    spreadMs: 30 * 86_400_000,
  });
  const warmUp = simulator.take(Math.min(WARM_UP_EVENTS, count));
  const events = simulator.take(count);
  console.log(`${count} simulated events (+${warmUp.length} warm-up) generated in ${seconds(start).toFixed(2)} s`);
  console.log(
    `requests of at most ${batchSize} events, acks=all, idempotent producer, no compression, ${config.topicPartitions} partitions per topic`,
  );
  const libraryRate = await throughLibrary(warmUp, events);
  const boundRate = await bareProducer(admin, warmUp, events);
  const expected = count + warmUp.length;
  const found = [await recordsIn(admin, libraryTopics), await recordsIn(admin, boundTopics)];
  if (found.some((n) => n !== expected))
    throw new Error(`expected ${expected} records in each pair of topics, found ${found.join(' and ')}`);
  console.log(`verified: ${expected} records in the library's topics and in the bound's`);
  console.log(`RESULT produce_events_per_s=${Math.round(libraryRate)} ratio_to_bound=${(libraryRate / boundRate).toFixed(3)}`);
} finally {
  await admin.disconnect();
  // A fresh admin: kafkajs keeps refreshing metadata of topics a client has used, which fails once they are gone.
  const cleaner = kafka.admin();
  await cleaner.connect();
  await cleaner.deleteTopics({
    topics: [libraryTopics.assignments, libraryTopics.deliveries, boundTopics.assignments, boundTopics.deliveries],
  });
  await cleaner.disconnect();
}
