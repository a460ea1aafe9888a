import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../services/events/codec.js';
import { SCHEMA_DIR } from '../../services/events/schema-registry.js';
import { topicNames, type TopicNames } from '../../services/events/topics.js';
import type { DeliveryEvent, SendingEvent } from '../../services/events/types.js';
import { DEAD_LETTER_HEADERS } from '../../services/ingest/steps/dead-letter.js';
import { createLogger } from '../../services/platform/logger.js';
import { createSchemaRegistryClient } from '../../services/platform/schema-registry-client.js';
import { createPublisher, valueSubject } from '../../services/producer/publisher.js';
import { generateEvents } from '../../fixtures/events.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { partitionProgress } from '../support/group-progress.js';
import { readDeadLetters } from '../support/dead-letters.js';
import { waitFor } from '../support/wait-for.js';
import { runCli } from '../support/cli.js';
import { recordsIn, topicOffsets } from '../support/kafka.js';
import { openStandInSchemaRegistry, openTestSchemaRegistry, type TestSchemaRegistry } from '../support/schema-registry.js';

const schemaFile = (name: string) => JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, name), 'utf8')) as avro.Schema;

/**
 * The Confluent wire format exactly as the stock Confluent serializers write it: magic byte 0,
 * the schema id as 4 big-endian bytes, then the Avro binary body of the writer schema (built
 * here with plain avsc from the registered schema text, timestamps as epoch milliseconds).
 */
function confluentBytes(schemaId: number, writer: avro.Type, event: SendingEvent, extra: Record<string, unknown> = {}): Buffer {
  const { type: _type, ...fields } = event;
  const body = writer.toBuffer({ ...fields, occurredAt: Date.parse(event.occurredAt), ...extra });
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

async function eventIds(bed: IngestBed): Promise<{ assignment: string[]; delivery: string[] }> {
  const read = async (table: string) => {
    const result = await bed.clickhouse.client.query({
      query: `SELECT event_id FROM ${table} ORDER BY event_id`,
      format: 'JSONCompactEachRow',
    });
    return ((await result.json()) as [string][]).map(([id]) => id);
  };
  return { assignment: await read('assignment_events'), delivery: await read('delivery_events') };
}

async function highWatermarks(bed: IngestBed, topics: TopicNames): Promise<Map<string, number>> {
  const highs = new Map<string, number>();
  for (const topic of [topics.assignments, topics.deliveries]) {
    for (const p of await topicOffsets(bed.admin, topic)) highs.set(`${topic}/${p.partition}`, Number(p.high));
  }
  return highs;
}

async function drained(bed: IngestBed, topics: TopicNames): Promise<boolean> {
  for (const topic of [topics.assignments, topics.deliveries]) {
    for (const p of await partitionProgress(bed.admin, bed.config.ingest.groupId, topic))
      if (p.high > 0 && p.committed !== p.high) return false;
  }
  return true;
}

/**
 * A mixed topic ingests exactly: Avro single-object, Confluent-framed Avro from two writer
 * schema versions registered in a schema registry, JSON events, and garbage (bad magic, an
 * unknown schema id, a registered schema that is no event record, a corrupt body, broken JSON,
 * JSON failing validation). Every valid record is counted once; every bad one is in the
 * dead-letter topic with a reason that names its problem.
 */
describe('ingest: Avro single-object, Confluent-framed Avro and JSON on one topic', () => {
  let registry: TestSchemaRegistry;
  let bed: IngestBed;
  let topics: TopicNames;
  const previousUrl = process.env.SCHEMA_REGISTRY_URL;

  beforeAll(async () => {
    registry = await openTestSchemaRegistry();
    process.env.SCHEMA_REGISTRY_URL = registry.url;
    bed = await openIngestBed('ingest-encodings', { batchMaxRows: 25, batchMaxMs: 100, maxInvalidRatio: 1 });
    topics = topicNames(bed.config.topicPrefix);
  }, 600_000); // the first start builds the registry (about 1.5 minutes; `make test` does it before)

  afterAll(async () => {
    await bed?.close();
    await registry?.close();
    if (previousUrl === undefined) delete process.env.SCHEMA_REGISTRY_URL;
    else process.env.SCHEMA_REGISTRY_URL = previousUrl;
  });

  it('the producer library in Confluent mode registers <topic>-value (BACKWARD) and publishes records the ingest counts', async () => {
    const logger = createLogger('silent');
    const client = createSchemaRegistryClient(bed.config.schemaRegistry!);
    const publisher = createPublisher({ kafka: bed.kafka, topics, partitions: bed.config.topicPartitions, logger, schemaRegistry: client });
    const events = generateEvents({ seed: 9, count: 60, startMs: Date.UTC(2026, 10, 22), spanMs: 86_400_000, idPrefix: 'lib' });
    const { assignment: a0, delivery: d0 } = await eventIds(bed);
    await publisher.connect();
    try {
      await publisher.publish(events);
    } finally {
      await publisher.disconnect();
    }
    await waitFor('the published events to be counted', async () => {
      const { assignment, delivery } = await eventIds(bed);
      return assignment.length + delivery.length === a0.length + d0.length + events.length;
    });
    const { assignment, delivery } = await eventIds(bed);
    for (const event of events) expect((event.type === 'assignment' ? assignment : delivery).includes(event.eventId)).toBe(true);
    const config = await fetch(`${registry.url}/config/${encodeURIComponent(valueSubject(topics.deliveries))}`);
    expect(((await config.json()) as { compatibilityLevel: string }).compatibilityLevel).toBe('BACKWARD');
  });

  it('`produce --file` with SCHEMA_REGISTRY_URL publishes Confluent-framed records that the ingest counts', async () => {
    const events = generateEvents({ seed: 10, count: 30, startMs: Date.UTC(2026, 10, 23), spanMs: 86_400_000, idPrefix: 'cli' });
    const file = path.join(os.tmpdir(), `encodings-${Date.now()}.ndjson`);
    fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n'));
    const before = await eventIds(bed);
    const highBefore = await highWatermarks(bed, topics);
    const result = await runCli(['produce', '--file', file], {
      TOPIC_PREFIX: bed.config.topicPrefix,
      SCHEMA_REGISTRY_URL: registry.url,
      LOG_LEVEL: 'warn',
    });
    fs.rmSync(file, { force: true });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^published 30 events/);
    await waitFor('the published events to be counted', async () => {
      const { assignment, delivery } = await eventIds(bed);
      return assignment.length + delivery.length === before.assignment.length + before.delivery.length + events.length;
    });
    // What went on the wire is the Confluent framing (magic 0 and a schema id).
    const consumer = bed.kafka.consumer({ groupId: `encodings-peek-${Date.now()}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    const firstBytes: number[] = [];
    await consumer.subscribe({ topics: [topics.assignments, topics.deliveries], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        if (Number(message.offset) >= (highBefore.get(`${topic}/${partition}`) ?? 0)) firstBytes.push(message.value![0]!);
      },
    });
    await waitFor('the new records to be read back', async () => firstBytes.length === events.length);
    await consumer.disconnect();
    expect(new Set(firstBytes)).toEqual(new Set([0]));
  });

  it('counts every valid record once and dead-letters every bad one with its reason', async () => {
    const assignmentV1 = schemaFile('assignment.v1.avsc');
    const deliveryV1 = schemaFile('delivery.v1.avsc');
    const deliveryV2 = schemaFile('delivery.v2.avsc');
    const other = { type: 'record', name: 'Other', namespace: 'com.example', fields: [{ name: 'x', type: 'string' }] };
    // As a producer in another language registers them (topic-name strategy).
    const ids = {
      assignmentV1: await registry.register(valueSubject(topics.assignments), assignmentV1 as object),
      deliveryV1: await registry.register(valueSubject(topics.deliveries), deliveryV1 as object),
      deliveryV2: await registry.register(valueSubject(topics.deliveries), deliveryV2 as object),
      other: await registry.register('other-value', other),
    };
    expect(new Set(Object.values(ids)).size).toBe(4);
    const writers = {
      assignmentV1: avro.Type.forSchema(assignmentV1),
      deliveryV1: avro.Type.forSchema(deliveryV1),
      deliveryV2: avro.Type.forSchema(deliveryV2),
    };

    const before = await eventIds(bed);
    const events = generateEvents({ seed: 7, count: 200, startMs: Date.UTC(2026, 10, 20), spanMs: 86_400_000, idPrefix: 'enc' });
    const records: { topic: string; value: Buffer; event?: SendingEvent; reason?: RegExp }[] = [];
    const topicOf = (event: SendingEvent) => (event.type === 'assignment' ? topics.assignments : topics.deliveries);
    events.forEach((event, i) => {
      const topic = topicOf(event);
      switch (i % 4) {
        case 0:
          records.push({ topic, value: encodeEvent(event), event });
          break;
        case 1:
          records.push({
            topic,
            event,
            value:
              event.type === 'assignment'
                ? confluentBytes(ids.assignmentV1, writers.assignmentV1, event)
                : confluentBytes(ids.deliveryV1, writers.deliveryV1, event),
          });
          break;
        case 2:
          records.push({
            topic,
            event,
            value:
              event.type === 'assignment'
                ? confluentBytes(ids.assignmentV1, writers.assignmentV1, event)
                : confluentBytes(ids.deliveryV2, writers.deliveryV2, event, { provider: 'twilio' }),
          });
          break;
        default:
          records.push({ topic, value: Buffer.from(`  ${JSON.stringify(event)}\n`), event });
      }
    });
    const sample = events.find((e): e is DeliveryEvent => e.type === 'delivery')!;
    const bad = (eventId: string): DeliveryEvent => ({ ...sample, eventId });
    const garbage: { value: Buffer; reason: RegExp }[] = [
      { value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x13]), reason: /^undecodable \(bad-header\): neither Avro single-object/ },
      {
        value: confluentBytes(99_999, writers.deliveryV1, bad('bad-unknown-id')),
        reason: /^undecodable \(unknown-schema\): schema id 99999 is not in the schema registry/,
      },
      {
        value: Buffer.concat([Buffer.from([0, 0, 0, 0, ids.other]), avro.Type.forSchema(other as avro.Schema).toBuffer({ x: 'y' })]),
        reason: new RegExp(
          `^undecodable \\(unreadable-schema\\): schema id ${ids.other}: the registered schema is the record com.example.Other`,
        ),
      },
      {
        value: confluentBytes(ids.deliveryV2, writers.deliveryV2, bad('bad-cut'), { provider: 'x' }).subarray(0, 12),
        reason: /^undecodable \(corrupt-body\): corrupt record of schema id/,
      },
      { value: Buffer.from('{"type":"delivery","eventId":'), reason: /^undecodable \(json\): not a valid JSON event/ },
      {
        value: Buffer.from(JSON.stringify({ ...bad('bad-sms'), channel: 'sms', status: 'delivered' })),
        reason: /^invalid event: status: "delivered" is an email-only status/,
      },
      {
        value: confluentBytes(ids.deliveryV1, writers.deliveryV1, { ...bad('bad-sms-avro'), channel: 'sms', status: 'bounced' }),
        reason: /^invalid event: status: "bounced"/,
      },
    ];
    for (const { value, reason } of garbage) records.push({ topic: topics.deliveries, value, reason });

    const producer = bed.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const sent = new Map<string, (typeof records)[number]>();
    for (const record of records) {
      const [result] = await producer.send({ topic: record.topic, acks: -1, messages: [{ key: 'k', value: record.value }] });
      sent.set(`${record.topic}/${result!.partition}/${result!.baseOffset}`, record);
    }
    await producer.disconnect();

    await waitFor('every partition committed to its end', () => drained(bed, topics), 120_000);
    const expected = {
      assignment: [...before.assignment, ...events.filter((e) => e.type === 'assignment').map((e) => e.eventId)].sort(),
      delivery: [...before.delivery, ...events.filter((e) => e.type === 'delivery').map((e) => e.eventId)].sort(),
    };
    expect(await eventIds(bed)).toEqual(expected);

    const total = await recordsIn(bed.kafka, [topics.deadLetter]);
    expect(total).toBe(garbage.length); // the producer library's records before were all counted
    const letters = await readDeadLetters(bed.kafka, topics.deadLetter, (list) => list.length >= total);
    const reasons = new Map<string, string>();
    for (const letter of letters) {
      const source = `${letter.headers[DEAD_LETTER_HEADERS.topic]}/${letter.headers[DEAD_LETTER_HEADERS.partition]}/${letter.headers[DEAD_LETTER_HEADERS.offset]}`;
      reasons.set(source, letter.headers[DEAD_LETTER_HEADERS.reason]!);
    }
    for (const [source, record] of sent) {
      if (record.reason) expect(reasons.get(source), source).toMatch(record.reason);
      else expect(reasons.has(source), `${source} is valid`).toBe(false);
    }
    expect(bed.ingest.schemaRegistryHealth()).toEqual({ ok: true });
  });
});

/**
 * A registry that fails (here a stand-in answering 503 on cue) never turns records into dead
 * letters: the partition waits, retrying with backoff, the `schema-registry` readiness check
 * says why, and the records are counted once it answers again.
 */
describe('ingest: a failing schema registry', () => {
  let standIn: TestSchemaRegistry;
  let bed: IngestBed;
  let topics: TopicNames;
  const previousUrl = process.env.SCHEMA_REGISTRY_URL;

  beforeAll(async () => {
    standIn = await openStandInSchemaRegistry();
    process.env.SCHEMA_REGISTRY_URL = standIn.url;
    bed = await openIngestBed('ingest-encodings-held', { batchMaxRows: 25, batchMaxMs: 100 });
    topics = topicNames(bed.config.topicPrefix);
  });

  afterAll(async () => {
    await bed?.close();
    await standIn?.close();
    if (previousUrl === undefined) delete process.env.SCHEMA_REGISTRY_URL;
    else process.env.SCHEMA_REGISTRY_URL = previousUrl;
  });

  it('a registry that cannot be asked holds the partition (no dead letter) and /readyz says so; it resumes when the registry answers', async () => {
    const delivery = generateEvents({ seed: 8, count: 20, startMs: Date.UTC(2026, 10, 21), spanMs: 1000, idPrefix: 'held' }).find(
      (e): e is DeliveryEvent => e.type === 'delivery',
    )!;
    const v2 = avro.Type.forSchema(schemaFile('delivery.v2.avsc'));
    // A schema id the ingest has not seen yet: registered now, looked up when the record comes.
    const id = await standIn.register('held-value', { ...(schemaFile('delivery.v2.avsc') as object), doc: 'another registration' });
    const lettersBefore = await recordsIn(bed.kafka, [topics.deadLetter]);
    const { delivery: before } = await eventIds(bed);
    standIn.setDown!(true);
    const producer = bed.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: topics.deliveries,
      acks: -1,
      messages: [
        { key: 'k', value: confluentBytes(id, v2, delivery, { provider: null }) },
        { key: 'k', value: confluentBytes(id, v2, delivery, { provider: null }) },
        { key: 'k', value: confluentBytes(id, v2, delivery, { provider: null }) },
      ],
    });
    await producer.disconnect();
    const health = await waitFor('the schema-registry check to fail', async () => {
      const result = bed.ingest.schemaRegistryHealth();
      return result && !result.ok ? result : undefined;
    });
    expect(health.detail).toMatch(new RegExp(`cannot look up schema id ${id}`));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await recordsIn(bed.kafka, [topics.deadLetter])).toBe(lettersBefore);
    expect((await eventIds(bed)).delivery).toEqual(before);
    standIn.setDown!(false);
    await waitFor('the held record to be counted', async () => (await eventIds(bed)).delivery.includes(delivery.eventId), 60_000);
    expect(bed.ingest.schemaRegistryHealth()).toEqual({ ok: true });
    expect(await recordsIn(bed.kafka, [topics.deadLetter])).toBe(lettersBefore);
    // Three records of one new id: one successful lookup (and the failed attempts before it).
    expect(standIn.lookups!.filter((looked) => looked === id).length).toBeGreaterThanOrEqual(1);
    expect(new Set(standIn.lookups).size).toBe(1);
  });
});
