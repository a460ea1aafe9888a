import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';

/** The two real systems end to end: kafkajs → broker → kafkajs consumer → @clickhouse/client → engine. */
describe('Kafka to ClickHouse round trip', () => {
  let clickhouse: ClickHouseHandle;
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const kafka = createKafka({ kafkaBrokers: brokers }, createLogger('warn'), 'roundtrip-test');
  const topic = `roundtrip-${Date.now()}`;

  beforeAll(async () => {
    ({ handle: clickhouse } = await openTestClickHouse('roundtrip'));
    await clickhouse.client.command({
      query: "CREATE TABLE roundtrip (k String, v UInt32, at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY k",
    });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, 3, [topic]);
    await admin.disconnect();
  });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await clickhouse?.close();
  });

  it('publishes, consumes, writes and reads back 1000 records', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 1000 }, (_, i) => ({
      k: `key-${i}`,
      v: i,
      at: new Date(Date.UTC(2026, 10, 27, 10, 0, 0, i)).toISOString(),
    }));
    await producer.send({ topic, acks: -1, messages: sent.map((row) => ({ key: row.k, value: JSON.stringify(row) })) });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            const rows = batch.messages.map((message) => {
              const row = JSON.parse(message.value!.toString()) as { k: string; v: number; at: string };
              return [row.k, row.v, row.at.replace('T', ' ').replace('Z', '')];
            });
            await clickhouse.client.insert({ table: 'roundtrip', values: rows, format: 'JSONCompactEachRow' });
            received += rows.length;
            if (received >= sent.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    const result = await clickhouse.client.query({
      query: 'SELECT count() AS n, sum(v) AS total, min(at) AS first, max(at) AS last FROM roundtrip',
      format: 'JSONEachRow',
    });
    const [summary] = (await result.json()) as { n: string; total: string; first: string; last: string }[];
    expect(Number(summary!.n)).toBe(1000);
    expect(Number(summary!.total)).toBe((999 * 1000) / 2);
    expect(summary!.first).toBe('2026-11-27 10:00:00.000');
    expect(summary!.last).toBe('2026-11-27 10:00:00.999');
  });
});
