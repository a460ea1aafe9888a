import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../services/events/codec.js';
import { topicNames } from '../../services/events/topics.js';
import { DEAD_LETTER_HEADERS } from '../../services/ingest/steps/dead-letter.js';
import { verifyOffsets } from '../../services/operations/offsets.js';
import { createLogger } from '../../services/platform/logger.js';
import { createPublisher } from '../../services/producer/publisher.js';
import { generateEvents } from '../../fixtures/events.js';
import { runCli } from '../support/cli.js';
import { countRaw } from '../support/tables.js';
import { groupProgress } from '../support/group-progress.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { readDeadLetters } from '../support/dead-letters.js';
import { waitFor } from '../support/wait-for.js';

/**
 * `dead-letters list|replay` against the real broker and a running ingest: poison records and
 * letters whose originals are valid (dead-lettered by a consumer that could not read them then)
 * are listed with their reasons; replaying the fixable ones counts them exactly once, a second
 * replay changes nothing, and replaying the same originals again never double counts.
 */

let bed: IngestBed;
let env: Record<string, string>;
const events = generateEvents({ seed: 77, count: 230, startMs: Date.UTC(2026, 10, 1), spanMs: 86_400_000 });
const counted = events.slice(0, 200);
const fixable = events.slice(200);
const FIXABLE_REASON = 'undecodable (unknown-schema): writer schema fingerprint 0x1234 is not known to this consumer';

async function writeFixableLetters(): Promise<void> {
  const topics = topicNames(bed.config.topicPrefix);
  const producer = bed.kafka.producer();
  await producer.connect();
  await producer.send({
    topic: topics.deadLetter,
    acks: -1,
    messages: fixable.map((event, index) => ({
      key: event.tenantId,
      value: encodeEvent(event),
      headers: {
        [DEAD_LETTER_HEADERS.reason]: FIXABLE_REASON,
        [DEAD_LETTER_HEADERS.topic]: event.type === 'assignment' ? topics.assignments : topics.deliveries,
        [DEAD_LETTER_HEADERS.partition]: '0',
        [DEAD_LETTER_HEADERS.offset]: String(1000 + index),
      },
    })),
  });
  await producer.disconnect();
}

beforeAll(async () => {
  bed = await openIngestBed('dlq-tools', { batchMaxMs: 100, maxInvalidRatio: 1 });
  env = {
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sm-dlq-cli-')),
    TOPIC_PREFIX: bed.config.topicPrefix,
    INGEST_GROUP_ID: bed.config.ingest.groupId,
    LOG_LEVEL: 'warn',
  };
  const topics = topicNames(bed.config.topicPrefix);
  const logger = createLogger('warn');
  const publisher = createPublisher({ kafka: bed.kafka, topics, partitions: bed.config.topicPartitions, logger });
  await publisher.connect();
  await publisher.publish(counted);
  await publisher.disconnect();
  const producer = bed.kafka.producer();
  await producer.connect();
  await producer.send({
    topic: topics.deliveries,
    acks: -1,
    messages: Array.from({ length: 5 }, (_, i) => ({ key: `poison-${i}`, value: Buffer.from(`not an event ${i}`) })),
  });
  await producer.disconnect();
  await writeFixableLetters();
  await waitFor('the 200 events counted', async () => (await countRaw(bed.clickhouse.client)) === 200);
  await readDeadLetters(bed.kafka, topics.deadLetter, (letters) => letters.length >= 35);
});

afterAll(async () => {
  await bed?.close();
});

async function settledCount(): Promise<number> {
  const topics = topicNames(bed.config.topicPrefix);
  await waitFor('the ingest to commit everything published', async () => {
    const progress = await groupProgress(bed.admin, bed.config.ingest.groupId, [topics.assignments, topics.deliveries]);
    return progress.committed === progress.end;
  });
  return countRaw(bed.clickhouse.client);
}

describe('dead-letters list and replay', () => {
  it('lists every letter with its reason and original location, as a table or JSON lines, filtered by reason', async () => {
    const all = await runCli(['dead-letters', 'list', '--json'], env);
    expect(all.code, all.stderr).toBe(0);
    const letters = all.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { reason: string; original: { topic: string }; preview: string });
    expect(letters).toHaveLength(35);
    const poison = letters.filter((letter) => letter.reason !== FIXABLE_REASON);
    expect(poison).toHaveLength(5);
    for (const letter of poison) {
      expect(letter.reason).toMatch(/^undecodable/);
      expect(letter.original.topic).toBe(topicNames(bed.config.topicPrefix).deliveries);
      expect(letter.preview).toMatch(/^"not an event \d"$/);
    }
    const fixableOnly = await runCli(['dead-letters', 'list', '--reason', 'UNKNOWN-SCHEMA'], env);
    expect(fixableOnly.code).toBe(0);
    expect(fixableOnly.stdout).toContain('30 dead letters on');
    expect(fixableOnly.stdout).toContain('writer schema fingerprint 0x1234');
    const limited = await runCli(['dead-letters', 'list', '--json', '--limit', '3'], env);
    expect(limited.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('replays the chosen letters once: a dry run changes nothing, the replay counts them exactly once, a second replay nothing', async () => {
    const dry = await runCli(['dead-letters', 'replay', '--reason', 'unknown-schema', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: would replay 30 records .*; 35 letters read since the last replay, 5 not chosen, 0 truncated/);
    expect(await settledCount()).toBe(200);

    const replay = await runCli(['dead-letters', 'replay', '--reason', 'unknown-schema'], env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/^replayed 30 records/);
    await waitFor('the replayed records counted', async () => (await countRaw(bed.clickhouse.client)) === 230);

    const again = await runCli(['dead-letters', 'replay', '--reason', 'unknown-schema'], env);
    expect(again.stdout).toMatch(/^replayed 0 records; 0 letters read since the last replay/);
    expect(await settledCount()).toBe(230);

    // The same originals dead-lettered and replayed again: deduplication by eventId holds.
    await writeFixableLetters();
    const twice = await runCli(['dead-letters', 'replay', '--reason', 'unknown-schema'], env);
    expect(twice.stdout).toMatch(/^replayed 30 records/);
    expect(await settledCount()).toBe(230);
  });

  it('bad input: one clear line and exit 2, nothing changed', async () => {
    for (const [args, problem] of [
      [['dead-letters', 'list', '--since', '2026-11-01T00:00:00'], /--since "2026-11-01T00:00:00" .*offset/],
      [['dead-letters', 'frobnicate'], /expected list or replay/],
      [['dead-letters', 'list', '--limit', 'ten'], /--limit "ten" is not a whole number/],
      [['dead-letters', 'list', '--dry-run'], /--dry-run applies to replay/],
    ] as const) {
      const result = await runCli([...args], env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(problem);
    }
  });

  it('verify accounts for every committed offset (rows, dead letters, duplicates) and finds one deleted by hand', async () => {
    await settledCount();
    const topics = topicNames(bed.config.topicPrefix);
    const targets = [
      { topic: topics.assignments, table: 'assignment_events' as const },
      { topic: topics.deliveries, table: 'delivery_events' as const },
    ];
    const clean = await verifyOffsets(bed.clickhouse.client, bed.admin, bed.config.ingest.groupId, targets);
    expect(clean.missing).toBe(0);
    // 200 counted + 5 poison + 30 replayed twice (once counted, once duplicates).
    expect(clean.partitions.reduce((sum, p) => sum + p.to - p.from, 0)).toBe(265);
    expect(clean.partitions.reduce((sum, p) => sum + p.accounted, 0)).toBe(265);

    const [victim] = (await (
      await bed.clickhouse.client.query({
        query: 'SELECT kafka_partition, kafka_offset FROM delivery_events ORDER BY kafka_partition, kafka_offset LIMIT 1',
        format: 'JSONEachRow',
      })
    ).json<{ kafka_partition: number; kafka_offset: string }>())!;
    await bed.clickhouse.client.command({
      query: `ALTER TABLE delivery_events DELETE WHERE kafka_partition = ${Number(victim!.kafka_partition)} AND kafka_offset = ${Number(victim!.kafka_offset)}`,
      clickhouse_settings: { mutations_sync: '2' },
    });
    const gap = await verifyOffsets(bed.clickhouse.client, bed.admin, bed.config.ingest.groupId, targets);
    expect(gap.missing).toBe(1);
    expect(gap.partitions.find((p) => p.missing > 0)).toMatchObject({
      topic: topics.deliveries,
      partition: Number(victim!.kafka_partition),
      examples: [Number(victim!.kafka_offset)],
    });
  });
});
