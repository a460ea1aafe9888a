import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../services/events/codec.js';
import { topicNames } from '../../services/events/topics.js';
import { validateEvent } from '../../services/events/validate.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { runCli } from '../support/cli.js';
import { deleteTopics, recordsIn } from '../support/kafka.js';

/** `simulate` against the real broker: the rate is kept over the whole run, and every record is a valid event. */
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const prefix = `simulate-test-${Date.now()}-${process.pid}.`;
const topics = topicNames(prefix);
let kafka: Kafka;

beforeAll(() => {
  kafka = createKafka(config, createLogger('warn'), 'simulate-test');
});

afterAll(async () => {
  await deleteTopics(kafka, [topics.assignments, topics.deliveries]);
});

describe('simulate', () => {
  it('--rate 2000 --duration 30 publishes 60k valid events (±5%) at that rate, timed now', async () => {
    const startedAt = Date.now();
    const result = await runCli(['simulate', '--rate', '2000', '--duration', '30', '--tenants', '4', '--campaigns', '5'], {
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    });
    const endedAt = Date.now();
    expect(result.code, result.stderr).toBe(0);
    const summary = /^published (\d+) events in (\d+\.\d) s \((\d+) events\/s\)\n$/.exec(result.stdout);
    expect(summary, result.stdout).not.toBeNull();
    const [, published, seconds] = summary!.map(Number);
    expect(seconds).toBeGreaterThanOrEqual(29.5);
    expect(seconds).toBeLessThan(31.5);

    const counts = [await recordsIn(kafka, [topics.assignments]), await recordsIn(kafka, [topics.deliveries])];
    const total = counts[0]! + counts[1]!;
    expect(total).toBe(published);
    expect(Math.abs(total - 60_000)).toBeLessThanOrEqual(3000);
    expect(counts[0]).toBeGreaterThan(5000);
    expect(counts[1]).toBeGreaterThan(20_000);

    const consumer = kafka.consumer({ groupId: `${prefix}reader` });
    const problems: string[] = [];
    const tenants = new Set<string>();
    let read = 0;
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.assignments, topics.deliveries], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${read} of ${total} records arrived`)), 30_000);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            const event = decodeEvent(message.value as Buffer);
            const at = Date.parse(event.occurredAt);
            const verdict = validateEvent(event);
            if (!verdict.ok) problems.push(...verdict.errors);
            if (at < startedAt || at > endedAt) problems.push(`${event.eventId}: occurredAt ${event.occurredAt} is outside the run`);
            tenants.add(event.tenantId);
            read++;
          }
          if (read >= total) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(problems.slice(0, 10)).toEqual([]);
    expect(tenants.size).toBe(4);
  });
});
