import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Kafka } from 'kafkajs';
import { encodeEvent } from '../../services/events/codec.js';
import { topicNames } from '../../services/events/topics.js';
import type { DeliveryEvent, SendingEvent } from '../../services/events/types.js';
import type { IngestPipeline } from '../../services/ingest/pipeline.js';
import { DEAD_LETTER_HEADERS } from '../../services/ingest/steps/dead-letter.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { generateEvents, random } from '../../fixtures/events.js';
import { countRaw } from '../support/tables.js';
import { partitionProgress } from '../support/group-progress.js';
import { readDeadLetters } from '../support/dead-letters.js';
import { waitFor } from '../support/wait-for.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { recordsIn } from '../support/kafka.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const RECORDS = 500;
/** The source topics take records up to this size; the dead-letter topic keeps the broker default (~1 MB). */
const SOURCE_MAX_MESSAGE_BYTES = 3_000_000;

const sha256 = (value: Buffer | null) =>
  createHash('sha256')
    .update(value ?? Buffer.alloc(0))
    .digest('hex');

interface Published {
  topic: string;
  partition: number;
  key: Buffer;
  value: Buffer | null;
  kind: string;
}

/**
 * Every record is either counted or dead-lettered, and every partition's committed offset
 * reaches its end, whatever the bytes: a seeded mix of valid events and adversarial values
 * (empty, null, random bytes, truncated Avro, wrong fingerprints and magic, bit flips, valid
 * Avro with invalid fields or on the wrong topic, and values up to and over the dead-letter
 * topic's size limit). FUZZ_SEED=n repeats another mix.
 */
describe('ingest fuzz: every record counted or dead-lettered, every offset committed', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let kafka: Kafka;
  let admin: Admin;
  let ingest: IngestPipeline;
  let bed: IngestBed;

  beforeAll(async () => {
    // The guard is not under test here: a fuzz mix is mostly invalid on purpose.
    bed = await openIngestBed(
      'ingest-fuzz',
      { batchMaxRows: 64, batchMaxMs: 100, maxInvalidRatio: 1 },
      {
        // The source topics take records larger than the dead-letter topic does.
        beforeStart: async ({ config, admin }) => {
          const topics = topicNames(config.topicPrefix);
          await admin.createTopics({
            topics: [topics.assignments, topics.deliveries].map((topic) => ({
              topic,
              numPartitions: config.topicPartitions,
              replicationFactor: -1,
              configEntries: [{ name: 'max.message.bytes', value: String(SOURCE_MAX_MESSAGE_BYTES) }],
            })),
            waitForLeaders: true,
          });
        },
      },
    );
    ({ clickhouse, config, kafka, admin, ingest } = bed);
  });

  afterAll(async () => {
    await bed?.close();
  });

  it(`seed ${SEED}: ${RECORDS} records`, async () => {
    const topics = topicNames(config.topicPrefix);
    const next = random(SEED);
    const int = (max: number) => Math.floor(next() * max);
    const bytes = (size: number) => {
      const value = Buffer.alloc(size);
      for (let i = 0; i < size; i += 1) value[i] = int(256);
      return value;
    };
    // Unique ids everywhere, so that no record is dropped as a duplicate of another.
    const pool = generateEvents({ seed: SEED, count: RECORDS, startMs: Date.UTC(2026, 10, 6), spanMs: 86_400_000, idPrefix: 'fuzz' });
    let used = 0;
    const fresh = (): SendingEvent => pool[used++]!;
    const topicOf = (event: SendingEvent) => (event.type === 'assignment' ? topics.assignments : topics.deliveries);
    const otherTopic = (event: SendingEvent) => (event.type === 'assignment' ? topics.deliveries : topics.assignments);
    const oversized = (size: number) => {
      const value = bytes(size);
      value[0] = 0xc3; // a valid header, then garbage: "corrupt body"
      value[1] = 0x01;
      return value;
    };
    const generators: [number, string, () => { value: Buffer | null; event?: SendingEvent; wrongTopic?: boolean }][] = [
      [30, 'valid', () => ({ value: encodeEvent(fresh()), event: pool[used - 1] })],
      [3, 'empty', () => ({ value: Buffer.alloc(0) })],
      [3, 'null', () => ({ value: null })],
      [6, 'random bytes', () => ({ value: bytes(1 + int(3000)) })],
      [
        6,
        'truncated avro',
        () => {
          const whole = encodeEvent(fresh());
          return { value: whole.subarray(0, 1 + int(whole.length - 1)) };
        },
      ],
      [
        4,
        'wrong fingerprint',
        () => {
          const whole = Buffer.from(encodeEvent(fresh()));
          bytes(8).copy(whole, 2);
          return { value: whole };
        },
      ],
      [
        3,
        'wrong magic',
        () => {
          const whole = Buffer.from(encodeEvent(fresh()));
          whole[1] = 0x02;
          return { value: whole };
        },
      ],
      [
        6,
        'bit flip',
        () => {
          const whole = Buffer.from(encodeEvent(fresh()));
          const at = 10 + int(whole.length - 10);
          whole[at] = whole[at]! ^ (1 << int(8));
          return { value: whole };
        },
      ],
      [3, 'trailing bytes', () => ({ value: Buffer.concat([encodeEvent(fresh()), bytes(1 + int(50))]) })],
      [
        4,
        'invalid fields',
        () => {
          const event = fresh();
          const bad: SendingEvent =
            event.type === 'delivery'
              ? ({ ...event, channel: 'sms', status: 'delivered' } as DeliveryEvent)
              : { ...event, occurredAt: '1990-01-01T00:00:00.000Z' };
          return { value: encodeEvent(bad), event: bad };
        },
      ],
      [3, 'wrong topic', () => ({ value: encodeEvent(fresh()), event: pool[used - 1], wrongTopic: true })],
      [2, 'json', () => ({ value: Buffer.from(JSON.stringify(fresh())) })],
      [2, 'oversized < 1 MB', () => ({ value: oversized(400_000 + int(600_000)) })],
      [1, 'at the broker limit', () => ({ value: oversized(1_048_400) })],
      [1, 'over 1 MB', () => ({ value: oversized(1_048_577 + int(1_500_000)) })],
    ];
    const weight = generators.reduce((sum, [w]) => sum + w, 0);
    const published: Published[] = [];
    for (let i = 0; i < RECORDS; i += 1) {
      let pick = next() * weight;
      const [, kind, make] = generators.find(([w]) => (pick -= w) < 0) ?? generators[0]!;
      const made = make();
      const topic = made.event
        ? made.wrongTopic
          ? otherTopic(made.event)
          : topicOf(made.event)
        : next() < 0.5
          ? topics.assignments
          : topics.deliveries;
      published.push({ topic, partition: int(config.topicPartitions), key: Buffer.from(`fuzz-key-${int(40)}`), value: made.value, kind });
    }
    // The three size classes are always in the mix, whatever the seed.
    for (const size of [999_000, 1_048_400, 2_000_000]) {
      published.push({
        topic: topics.assignments,
        partition: int(config.topicPartitions),
        key: Buffer.from('big'),
        value: oversized(size),
        kind: `size ${size}`,
      });
    }

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const offsets = new Map<string, Published>();
    for (const record of published) {
      const [result] = await producer.send({
        topic: record.topic,
        acks: -1,
        messages: [{ partition: record.partition, key: record.key, value: record.value }],
      });
      offsets.set(`${record.topic}/${record.partition}/${result!.baseOffset}`, record);
    }
    await producer.disconnect();
    console.log(
      `[fuzz] seed ${SEED}: ${published.length} records; ${[...new Set(published.map((p) => p.kind))].map((k) => `${k} ${published.filter((p) => p.kind === k).length}`).join(', ')}`,
    );

    await waitFor(
      'the committed offset of every partition to reach its end',
      async () => {
        for (const topic of [topics.assignments, topics.deliveries]) {
          for (const p of await partitionProgress(admin, config.ingest.groupId, topic))
            if (p.high > 0 && p.committed !== p.high) return false;
        }
        return true;
      },
      180_000,
    );

    const counted = await countRaw(clickhouse.client);
    const total = await recordsIn(kafka, [topics.deadLetter]);
    const letters = await readDeadLetters(kafka, topics.deadLetter, (list) => list.length >= total);
    const lettered = new Map<string, (typeof letters)[number]>();
    for (const letter of letters) {
      const source = `${letter.headers[DEAD_LETTER_HEADERS.topic]}/${letter.headers[DEAD_LETTER_HEADERS.partition]}/${letter.headers[DEAD_LETTER_HEADERS.offset]}`;
      expect(offsets.has(source), `a dead letter for ${source}, which was never published`).toBe(true);
      lettered.set(source, letter);
    }
    console.log(`[fuzz] counted ${counted}, dead-lettered ${lettered.size} (${letters.length} letters read)`);
    expect(counted + lettered.size).toBe(published.length);
    expect(counted).toBeGreaterThanOrEqual(published.filter((p) => p.kind === 'valid').length);

    for (const [source, letter] of lettered) {
      const original = offsets.get(source)!;
      expect(letter.headers[DEAD_LETTER_HEADERS.reason], source).not.toBe('');
      if (letter.headers[DEAD_LETTER_HEADERS.truncated] === 'true') {
        expect(letter.headers[DEAD_LETTER_HEADERS.originalSize]).toBe(String(original.value!.length));
        expect(letter.headers[DEAD_LETTER_HEADERS.originalSha256]).toBe(sha256(original.value));
        expect(original.value!.subarray(0, letter.value!.length).equals(letter.value!)).toBe(true);
      } else {
        expect(sha256(letter.value), `${source} (${original.kind}) is sent whole`).toBe(sha256(original.value));
      }
    }
    const truncated = [...lettered.values()].filter((l) => l.headers[DEAD_LETTER_HEADERS.truncated] === 'true');
    expect(truncated.length).toBeGreaterThanOrEqual(2);
    for (const letter of letters) expect((letter.value?.length ?? 0) + (letter.key?.length ?? 0)).toBeLessThanOrEqual(1_000_000);
    expect(ingest.health().ok).toBe(true);
  }, 300_000);
});
