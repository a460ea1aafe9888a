import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../services/events/codec.js';
import { topicNames, type TopicNames } from '../../services/events/topics.js';
import type { SendingEvent } from '../../services/events/types.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka, ensureTopics } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { createSimulator } from '../../services/producer/simulator.js';
import { runCli } from '../support/cli.js';
import { deleteTopics, recordsIn } from '../support/kafka.js';

/** `produce --file` against the real broker, run as a user runs it (the command line, from the sources). */
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const logger = createLogger('warn');
const run = `produce-test-${Date.now()}-${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-produce-'));
const created: string[] = [];
let kafka: Kafka;

function eventTopics(name: string): TopicNames {
  const topics = topicNames(`${run}-${name}.`);
  created.push(topics.assignments, topics.deliveries);
  return topics;
}

function writeLines(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const recordsOf = (topics: TopicNames) => recordsIn(kafka, [topics.assignments, topics.deliveries]);

/** Reads the topics from the beginning until `count` records have arrived. */
async function consume(topics: TopicNames, count: number): Promise<{ topic: string; key: string; event: SendingEvent }[]> {
  const consumer = kafka.consumer({ groupId: `${run}-reader-${created.length}` });
  const records: { topic: string; key: string; event: SendingEvent }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topics.assignments, topics.deliveries], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${records.length} of ${count} records arrived`)), 30_000);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            records.push({ topic: batch.topic, key: message.key?.toString() ?? '', event: decodeEvent(message.value as Buffer) });
          }
          if (records.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

beforeAll(() => {
  kafka = createKafka(config, logger, 'produce-test');
});

afterAll(async () => {
  await deleteTopics(kafka, created);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('produce --file', () => {
  it('publishes every line of a 10k-line file: a consumer decodes exactly those events', async () => {
    const topics = eventTopics('good');
    const events = createSimulator({
      seed: 11,
      tenants: 5,
      campaigns: 9,
      startMs: Date.parse('2026-11-01T00:00:00.000Z'),
      spreadMs: 86_400_000,
    }).take(10_000);
    // Every 100th line in another accepted form: an offset instead of Z, no fraction, absent optional fields.
    const lines = events.map((event, index) => {
      if (index % 100 !== 7) return JSON.stringify(event);
      const shifted = new Date(Date.parse(event.occurredAt) + 2 * 3_600_000).toISOString().slice(0, 23);
      const variant: Record<string, unknown> = { ...event, occurredAt: `${shifted}+02:00` };
      if (event.type === 'delivery')
        for (const field of ['playbookId', 'campaignId', 'reason'] as const) if (event[field] === null) delete variant[field];
      return JSON.stringify(variant);
    });
    lines.splice(5000, 0, '', '   ');
    const file = writeLines('good.ndjson', lines);

    const result = await runCli(['produce', '--file', file], { TOPIC_PREFIX: `${run}-good.`, LOG_LEVEL: 'warn' });
    // Nothing but progress lines, which a slow run prints (at most one per interval).
    expect(result.stderr.split('\n').filter((line) => line !== '' && !/^published \d+ of 10000 events$/.test(line))).toEqual([]);
    expect(result.stdout).toMatch(/^published 10000 events in \d+\.\d s \(\d+ events\/s\)\n$/);
    expect(result.code).toBe(0);

    const records = await consume(topics, events.length);
    expect(records).toHaveLength(events.length);
    const byId = new Map(records.map((record) => [record.event.eventId, record]));
    expect(byId.size).toBe(events.length);
    for (const event of events) {
      const record = byId.get(event.eventId);
      expect(record?.event).toEqual(event);
      expect(record?.key).toBe(`${event.tenantId}:${event.customerId}`);
      expect(record?.topic).toBe(event.type === 'assignment' ? topics.assignments : topics.deliveries);
    }
  });

  it('reads standard input with --file -', async () => {
    const topics = eventTopics('stdin');
    const events = createSimulator({ seed: 12 }).take(50);
    const result = await runCli(
      ['produce', '--file', '-'],
      { TOPIC_PREFIX: `${run}-stdin.`, LOG_LEVEL: 'warn' },
      events.map((event) => JSON.stringify(event)).join('\n'),
    );
    expect(result.stdout).toMatch(/^published 50 events in /);
    expect(result.code).toBe(0);
    expect(new Set((await consume(topics, 50)).map((record) => record.event.eventId))).toEqual(
      new Set(events.map((event) => event.eventId)),
    );
  });

  it('publishes nothing when any line is invalid, and names every bad line with its reason', async () => {
    const topics = eventTopics('bad');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, config.topicPartitions, [topics.assignments, topics.deliveries]);
    await admin.disconnect();

    const lines = createSimulator({ seed: 13 })
      .take(10_000)
      .map((event) => JSON.stringify(event));
    const sms = {
      type: 'delivery',
      eventId: 'e-sms',
      tenantId: 'acme',
      occurredAt: '2026-11-27T10:16:02.000Z',
      customerId: 'c-1',
      messageId: 'm-1',
      channel: 'sms',
      status: 'delivered',
    };
    const { customerId: _dropped, ...missingCustomer } = { ...sms, channel: 'email' };
    lines[0] = '{"type":"assignment",';
    lines[499] = JSON.stringify(missingCustomer);
    lines[4999] = JSON.stringify(sms);
    lines[9999] = JSON.stringify({ ...sms, channel: 'email', occurredAt: '2026-02-30T10:00:00Z' });
    const file = writeLines('bad.ndjson', lines);

    const result = await runCli(['produce', '--file', file], { TOPIC_PREFIX: `${run}-bad.`, LOG_LEVEL: 'warn' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^line 1: not valid JSON \(.+\)$/),
      'line 500: customerId: is required',
      'line 5000: status: "delivered" is an email-only status; an sms never takes delivered, bounced, blocked or spam_reported',
      'line 10000: occurredAt: "2026-02-30T10:00:00Z" is not a real date (February 2026 has 28 days)',
      `4 invalid lines in ${file}; nothing was published`,
    ]);
    expect(await recordsOf(topics)).toBe(0);
  });
});
