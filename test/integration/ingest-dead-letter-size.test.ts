import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { Admin, Kafka } from 'kafkajs';
import { encodeEvent } from '../../services/events/codec.js';
import { topicNames } from '../../services/events/topics.js';
import { DEAD_LETTER_HEADERS } from '../../services/ingest/steps/dead-letter.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { faultyClient } from '../support/clickhouse.js';
import { generateEvents, random } from '../../fixtures/events.js';
import { countRaw } from '../support/tables.js';
import { metricSamples } from '../support/metric-samples.js';
import { partitionProgress } from '../support/group-progress.js';
import { readDeadLetters } from '../support/dead-letters.js';
import { waitFor } from '../support/wait-for.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';

const sha256 = (value: Buffer) => createHash('sha256').update(value).digest('hex');

/** Bytes that are no event (no single-object header), of the given size, seeded. */
function garbage(size: number, seed: number): Buffer {
  const next = random(seed);
  const value = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) value[i] = Math.floor(next() * 256);
  value[0] = 0x7b; // never the 0xC3 magic byte
  return value;
}

describe('ingest: dead letters of any size, and a true lag', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let kafka: Kafka;
  let admin: Admin;
  let bed: IngestBed;
  let faults: ReturnType<typeof faultyClient>;
  let registry: Registry;

  beforeAll(async () => {
    bed = await openIngestBed(
      'ingest-dlq-size',
      { batchMaxRows: 500, batchMaxMs: 100, lagRefreshMs: 200 },
      { client: (client) => (faults = faultyClient(client)).client },
    );
    ({ clickhouse, config, kafka, admin, registry } = bed);
  });

  afterAll(async () => {
    await bed?.close();
  });

  it('one invalid record at the size limit, and three of 400 KB on one key, are dead-lettered and everything behind them counts', async () => {
    const topics = topicNames(config.topicPrefix);
    const valid = generateEvents({ seed: 5, count: 400, startMs: Date.UTC(2026, 10, 2), spanMs: 3_600_000 }).filter(
      (e) => e.type === 'assignment',
    );
    const huge = garbage(1_048_400, 1);
    const large = [garbage(400_000, 2), garbage(400_000, 3), garbage(400_000, 4)];
    const producer = kafka.producer();
    await producer.connect();
    const sendValid = (list: typeof valid, partition: number) =>
      producer.send({
        topic: topics.assignments,
        messages: list.map((e) => ({ partition, key: `${e.tenantId}:${e.customerId}`, value: encodeEvent(e) })),
      });
    const third = Math.floor(valid.length / 3);
    await sendValid(valid.slice(0, third), 0);
    await producer.send({ topic: topics.assignments, messages: [{ partition: 0, key: 'huge', value: huge }] });
    await sendValid(valid.slice(third, 2 * third), 0);
    // One request each, so the three are fetched (and dead-lettered) together.
    for (const value of large) await producer.send({ topic: topics.assignments, messages: [{ partition: 1, key: 'one-key', value }] });
    await sendValid(valid.slice(2 * third), 1);
    await producer.disconnect();

    await waitFor(
      'every record to be committed',
      async () => {
        const partitions = await partitionProgress(admin, config.ingest.groupId, topics.assignments);
        return partitions.every((p) => p.committed === p.high || (p.high === 0 && p.committed <= 0));
      },
      60_000,
    );
    expect(await countRaw(clickhouse.client)).toBe(valid.length);

    const letters = await readDeadLetters(kafka, topics.deadLetter, (list) => list.length >= 4);
    const byOffset = new Map(
      letters.map((l) => [`${l.headers[DEAD_LETTER_HEADERS.partition]}/${l.headers[DEAD_LETTER_HEADERS.offset]}`, l]),
    );
    expect(byOffset.size).toBe(4);
    const hugeLetter = letters.find((l) => l.key?.toString() === 'huge')!;
    expect(hugeLetter.headers['dlq-truncated']).toBe('true');
    expect(hugeLetter.headers['dlq-original-size']).toBe(String(huge.length));
    expect(hugeLetter.headers['dlq-original-sha256']).toBe(sha256(huge));
    expect(hugeLetter.headers[DEAD_LETTER_HEADERS.reason]).toMatch(/undecodable/);
    expect(hugeLetter.headers[DEAD_LETTER_HEADERS.topic]).toBe(topics.assignments);
    expect(hugeLetter.value!.length).toBeGreaterThan(0);
    expect(huge.subarray(0, hugeLetter.value!.length).equals(hugeLetter.value!)).toBe(true);
    const largeLetters = letters.filter((l) => l.key?.toString() === 'one-key');
    expect(largeLetters.map((l) => sha256(l.value!)).sort()).toEqual(large.map(sha256).sort());
    for (const letter of largeLetters) expect(letter.headers['dlq-truncated']).toBeUndefined();
  });

  it('the lag metric is the high watermark minus the committed offset while a partition is stuck', async () => {
    const topics = topicNames(config.topicPrefix);
    const events = generateEvents({ seed: 6, count: 600, startMs: Date.UTC(2026, 10, 3), spanMs: 3_600_000 }).filter(
      (e) => e.type === 'delivery',
    );
    faults.failInserts(true);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: topics.deliveries,
      messages: events.map((e, i) => ({ partition: i % 2, key: `${e.tenantId}:${e.customerId}`, value: encodeEvent(e) })),
    });
    await producer.disconnect();
    try {
      await waitFor('inserts to fail', async () => faults.failures() >= 3);
      const behind = async () => {
        const partitions = await partitionProgress(admin, config.ingest.groupId, topics.deliveries);
        return new Map(partitions.map((p) => [String(p.partition), p.high - (p.committed < 0 ? p.low : p.committed)]));
      };
      const truth = await behind();
      expect([...truth.values()].reduce((a, b) => a + b, 0)).toBe(events.length);
      await waitFor(
        'the lag metric to show what is not committed',
        async () => {
          const samples = (await metricSamples(registry, 'sending_metrics_ingest_lag')).filter((s) => s.labels.topic === topics.deliveries);
          return [...truth].every(([partition, lag]) => samples.find((s) => String(s.labels.partition) === partition)?.value === lag);
        },
        30_000,
      );
    } finally {
      faults.failInserts(false);
    }
    await waitFor('the stuck records to be committed once inserts work again', async () => {
      const partitions = await partitionProgress(admin, config.ingest.groupId, topics.deliveries);
      return partitions.every((p) => p.committed === p.high || p.high === 0);
    });
    await waitFor('the lag metric to drop to zero', async () => {
      const samples = (await metricSamples(registry, 'sending_metrics_ingest_lag')).filter((s) => s.labels.topic === topics.deliveries);
      return samples.length > 0 && samples.every((s) => s.value === 0);
    });
  });
});
