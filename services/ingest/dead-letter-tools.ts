import type { Admin, Consumer, IHeaders, Kafka, Producer } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from './steps/dead-letter.js';

/**
 * The operators' side of the dead-letter topic: read its letters (with the reason and where each
 * came from) and replay the original bytes of chosen letters to their original topics, once.
 *
 * Reading stops at the end the topic had when the command started (high watermarks read first),
 * so a command always ends. `list` reads with a throwaway group and commits nothing. `replay`
 * uses a consumer group of its own (`<ingest group>.dead-letter-replay`): it commits past every
 * letter it looked at (replayed or not), so a second run starts where the first ended and never
 * replays a letter twice; a replayed record is read by the ingest like any other, and its
 * eventId deduplication makes a record that was counted after all count once.
 */

export interface DeadLetterEntry {
  /** The letter on the dead-letter topic. */
  partition: number;
  offset: string;
  /** When the letter was written (the record's timestamp, epoch ms). */
  timestampMs: number;
  reason: string;
  original: { topic: string; partition: number; offset: string };
  /** Only a prefix of the original was kept (too large): it cannot be replayed. */
  truncated: boolean;
  key: Buffer | null;
  value: Buffer | null;
}

export interface LetterFilter {
  /** Letters written at or after this instant (epoch ms). */
  sinceMs?: number;
  /** Letters whose reason contains this text (case-insensitive). */
  reason?: string;
}

export function matches(letter: DeadLetterEntry, filter: LetterFilter): boolean {
  if (filter.sinceMs !== undefined && letter.timestampMs < filter.sinceMs) return false;
  if (filter.reason !== undefined && !letter.reason.toLowerCase().includes(filter.reason.toLowerCase())) return false;
  return true;
}

function text(headers: IHeaders | undefined, name: string): string {
  const value = headers?.[name];
  if (value === undefined) return '';
  return (Array.isArray(value) ? value[0] : value)?.toString() ?? '';
}

export function toEntry(
  partition: number,
  message: { offset: string; timestamp: string; headers?: IHeaders; key: Buffer | null; value: Buffer | null },
): DeadLetterEntry {
  return {
    partition,
    offset: message.offset,
    timestampMs: Number(message.timestamp),
    reason: text(message.headers, DEAD_LETTER_HEADERS.reason),
    original: {
      topic: text(message.headers, DEAD_LETTER_HEADERS.topic),
      partition: Number(text(message.headers, DEAD_LETTER_HEADERS.partition)),
      offset: text(message.headers, DEAD_LETTER_HEADERS.offset),
    },
    truncated: text(message.headers, DEAD_LETTER_HEADERS.truncated) === 'true',
    key: message.key,
    value: message.value,
  };
}

/** A short, printable view of a value: text when it is text, else hex. */
export function preview(value: Buffer | null, max = 48): string {
  if (!value || value.length === 0) return '(empty)';
  const head = value.subarray(0, max);
  const printable = [...head].every((byte) => byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127));
  const shown = printable ? JSON.stringify(head.toString('utf8')) : `0x${head.toString('hex')}`;
  return value.length > max ? `${shown}… (${value.length} bytes)` : shown;
}

/** The offset each partition ends at now, and where reading starts (earliest, or the first at/after `sinceMs`). */
async function bounds(admin: Admin, topic: string, sinceMs: number | undefined): Promise<Map<number, { start: string; end: string }>> {
  const ends = await admin.fetchTopicOffsets(topic);
  const starts = sinceMs === undefined ? undefined : await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
  const result = new Map<number, { start: string; end: string }>();
  for (const { partition, high, low } of ends) {
    const fromTime = starts?.find((entry) => entry.partition === partition)?.offset;
    const start = fromTime !== undefined && Number(fromTime) >= 0 ? fromTime : low;
    result.set(partition, { start, end: high });
  }
  return result;
}

/**
 * Reads `topic` from `start(partition)` up to the end it had when called, handing every message
 * to `each`; `afterBatch` runs once a batch's messages are handed (replay publishes and commits
 * there). Resolves when every partition has reached its end.
 */
async function readToEnd(
  consumer: Consumer,
  topic: string,
  ends: Map<number, { start: string; end: string }>,
  startOf: (partition: number) => string | undefined,
  each: (entry: DeadLetterEntry) => void,
  afterBatch: (partition: number, lastOffset: string) => Promise<void> = async () => undefined,
): Promise<void> {
  const pending = new Set(
    [...ends.entries()].filter(([partition, { end }]) => Number(startOf(partition) ?? end) < Number(end)).map(([p]) => p),
  );
  if (pending.size === 0) return;
  let done: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  consumer.on(consumer.events.CRASH, (event) => fail(event.payload.error));
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const end = Number(ends.get(batch.partition)?.end ?? 0);
      let last: string | undefined;
      for (const message of batch.messages) {
        if (Number(message.offset) >= end) break;
        each(toEntry(batch.partition, message));
        last = message.offset;
      }
      if (last !== undefined) await afterBatch(batch.partition, last);
      if (Number(batch.lastOffset()) + 1 >= end || (last !== undefined && Number(last) + 1 >= end)) {
        pending.delete(batch.partition);
        if (pending.size === 0) done();
      }
    },
  });
  for (const [partition] of ends) {
    const start = startOf(partition);
    if (start !== undefined && pending.has(partition)) consumer.seek({ topic, partition, offset: start });
  }
  await finished;
}

export interface ListOptions extends LetterFilter {
  limit?: number;
}

/** Every letter matching `options`, oldest first per partition (at most `limit`). */
export async function listDeadLetters(kafka: Kafka, topic: string, options: ListOptions = {}): Promise<DeadLetterEntry[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `sending-metrics-dead-letters-list-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  const letters: DeadLetterEntry[] = [];
  try {
    const ends = await bounds(admin, topic, options.sinceMs);
    await consumer.connect();
    await readToEnd(
      consumer,
      topic,
      ends,
      (partition) => ends.get(partition)?.start,
      (entry) => {
        if (matches(entry, options)) letters.push(entry);
      },
    );
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  letters.sort((a, b) => a.timestampMs - b.timestampMs || a.partition - b.partition || Number(a.offset) - Number(b.offset));
  return options.limit === undefined ? letters : letters.slice(0, options.limit);
}

export interface ReplayReport {
  /** Letters looked at (from where the previous replay ended). */
  read: number;
  replayed: number;
  /** Letters not chosen by the filter (also moved past). */
  skipped: number;
  /** Chosen letters that hold only a prefix of the original: not replayable. */
  truncated: number;
  /** Per original topic, records republished. */
  byTopic: Record<string, number>;
}

export function replayGroup(ingestGroupId: string): string {
  return `${ingestGroupId}.dead-letter-replay`;
}

/**
 * Republishes the original key and value of every chosen letter to its original topic (with
 * header dlq-replayed-from), from where the previous replay ended up to the end the topic has
 * now, committing past each batch once its records are acknowledged (acks=all). `dryRun` reads
 * from the same place and reports what it would do, publishing and committing nothing.
 */
export async function replayDeadLetters(
  kafka: Kafka,
  topic: string,
  groupId: string,
  filter: LetterFilter,
  dryRun: boolean,
): Promise<ReplayReport> {
  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  let producer: Producer | undefined;
  const report: ReplayReport = { read: 0, replayed: 0, skipped: 0, truncated: 0, byTopic: {} };
  try {
    const ends = await bounds(admin, topic, undefined);
    const committed = new Map<number, string>();
    for (const entry of await admin.fetchOffsets({ groupId, topics: [topic] }))
      for (const p of entry.partitions) if (Number(p.offset) >= 0) committed.set(p.partition, p.offset);
    // First run: from the earliest letter (or the first at --since); later runs: where the last ended.
    const sinceStarts = filter.sinceMs === undefined ? undefined : await bounds(admin, topic, filter.sinceMs);
    const startOf = (partition: number) => committed.get(partition) ?? (sinceStarts ?? ends).get(partition)?.start;
    if (!dryRun) {
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
    }
    let chosen: DeadLetterEntry[] = [];
    await consumer.connect();
    await readToEnd(
      consumer,
      topic,
      ends,
      startOf,
      (entry) => {
        report.read += 1;
        if (!matches(entry, filter)) report.skipped += 1;
        else if (entry.truncated || !entry.original.topic) report.truncated += 1;
        else chosen.push(entry);
      },
      async (partition, lastOffset) => {
        const batch = chosen;
        chosen = [];
        if (!dryRun && batch.length > 0) {
          await producer!.sendBatch({
            acks: -1,
            topicMessages: [...new Set(batch.map((entry) => entry.original.topic))].map((original) => ({
              topic: original,
              messages: batch
                .filter((entry) => entry.original.topic === original)
                .map((entry) => ({
                  key: entry.key,
                  value: entry.value,
                  headers: { 'dlq-replayed-from': `${topic}/${entry.partition}@${entry.offset}` },
                })),
            })),
          });
        }
        for (const entry of batch) {
          report.replayed += 1;
          report.byTopic[entry.original.topic] = (report.byTopic[entry.original.topic] ?? 0) + 1;
        }
        if (!dryRun) await consumer.commitOffsets([{ topic, partition, offset: String(Number(lastOffset) + 1) }]);
      },
    );
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin.disconnect();
  }
  return report;
}
