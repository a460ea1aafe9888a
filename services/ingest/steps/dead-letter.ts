import { createHash } from 'node:crypto';
import type { Message, Producer } from 'kafkajs';
import type { SourceRecord } from '../record.js';

export const DEAD_LETTER_HEADERS = {
  reason: 'dlq-reason',
  topic: 'dlq-original-topic',
  partition: 'dlq-original-partition',
  offset: 'dlq-original-offset',
  /** "true" when the value (and maybe the key) is only a prefix of the original. */
  truncated: 'dlq-truncated',
  originalSize: 'dlq-original-size',
  originalSha256: 'dlq-original-sha256',
  originalKeySize: 'dlq-original-key-size',
} as const;

/** Bytes a record takes in a batch besides its key, value and header bytes (varints, attributes), rounded up. */
const RECORD_OVERHEAD_BYTES = 64;
const HEADER_OVERHEAD_BYTES = 10;
/** A record batch's own header (61 bytes), rounded up. */
export const BATCH_OVERHEAD_BYTES = 128;
/** A key longer than this share of the limit is cut too (the value keeps the room). */
const MAX_KEY_SHARE = 0.25;
const KEPT_KEY_BYTES = 1024;
const MAX_REASON_CHARS = 2000;

/** The kinds of reasons, for metrics (a reason itself is free text): empty, undecodable, invalid, wrong_topic, other. */
export const REASON_CLASSES = ['empty', 'undecodable', 'invalid', 'wrong_topic', 'other'] as const;
export type ReasonClass = (typeof REASON_CLASSES)[number];

export function reasonClass(reason: string): ReasonClass {
  if (reason.startsWith('empty')) return 'empty';
  if (reason.startsWith('undecodable')) return 'undecodable';
  if (reason.startsWith('invalid event')) return 'invalid';
  if (/^an? \w+ event on the /.test(reason)) return 'wrong_topic';
  return 'other';
}

export interface Letter {
  record: SourceRecord;
  reason: string;
}

type Headers = Record<string, string>;

function headersSize(headers: Headers): number {
  let size = 0;
  for (const [name, value] of Object.entries(headers)) size += Buffer.byteLength(name) + Buffer.byteLength(value) + HEADER_OVERHEAD_BYTES;
  return size;
}

/** The bytes a message adds to a record batch (an upper bound). */
export function messageSize(message: { key: Buffer | null; value: Buffer | null; headers: Headers }): number {
  return (message.key?.length ?? 0) + (message.value?.length ?? 0) + headersSize(message.headers) + RECORD_OVERHEAD_BYTES;
}

/**
 * The dead letter of a bad record: its key and value unchanged, with the reason and where it
 * came from in headers. When that would be larger than `maxBytes` (a record near the broker's
 * size limit grows past it by the headers), the letter carries a prefix of the value instead,
 * marked dlq-truncated=true with the original size and SHA-256, so it can always be delivered.
 */
export function deadLetterMessage(
  { record, reason }: Letter,
  maxBytes: number,
): { key: Buffer | null; value: Buffer | null; headers: Headers; truncated: boolean } {
  const headers: Headers = {
    [DEAD_LETTER_HEADERS.reason]: reason.slice(0, MAX_REASON_CHARS),
    [DEAD_LETTER_HEADERS.topic]: record.topic,
    [DEAD_LETTER_HEADERS.partition]: String(record.partition),
    [DEAD_LETTER_HEADERS.offset]: String(record.offset),
  };
  const whole = { key: record.key, value: record.value, headers, truncated: false };
  if (messageSize(whole) <= maxBytes) return whole;
  const value = record.value ?? Buffer.alloc(0);
  headers[DEAD_LETTER_HEADERS.truncated] = 'true';
  headers[DEAD_LETTER_HEADERS.originalSize] = String(value.length);
  headers[DEAD_LETTER_HEADERS.originalSha256] = createHash('sha256').update(value).digest('hex');
  let key = record.key;
  if (key && key.length > maxBytes * MAX_KEY_SHARE) {
    headers[DEAD_LETTER_HEADERS.originalKeySize] = String(key.length);
    key = key.subarray(0, KEPT_KEY_BYTES);
  }
  const room = Math.max(0, maxBytes - messageSize({ key, value: null, headers }));
  return { key, value: record.value ? value.subarray(0, Math.min(room, value.length)) : null, headers, truncated: true };
}

/** Splits letters into produce requests of at most `maxBytes` each (one letter always fits: see deadLetterMessage). */
export function sizeBoundedRequests<T extends { key: Buffer | null; value: Buffer | null; headers: Headers }>(
  messages: T[],
  maxBytes: number,
): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let size = BATCH_OVERHEAD_BYTES;
  for (const message of messages) {
    const bytes = messageSize(message);
    if (current.length > 0 && size + bytes > maxBytes) {
      requests.push(current);
      current = [];
      size = BATCH_OVERHEAD_BYTES;
    }
    current.push(message);
    size += bytes;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * dead-letter: republishes bad records on the dead-letter topic, with the reason and the
 * original topic, partition and offset in headers, in produce requests bounded in bytes (so no
 * request exceeds the broker's message size limit) and one letter at most `maxBytes()` (larger
 * ones are truncated). Resolves once the broker has them all, so the source offsets may then be
 * committed; returns how many letters were truncated.
 */
export function createDeadLetterStep(
  producer: Pick<Producer, 'send'>,
  deadLetterTopic: string,
  maxBytes: () => number,
): (letters: Letter[]) => Promise<{ truncated: number }> {
  return async function deadLetterStep(letters: Letter[]): Promise<{ truncated: number }> {
    if (letters.length === 0) return { truncated: 0 };
    const limit = maxBytes();
    // The letter itself leaves room for the batch header of a request that holds only it.
    const messages = letters.map((letter) => deadLetterMessage(letter, limit - BATCH_OVERHEAD_BYTES));
    for (const request of sizeBoundedRequests(messages, limit)) {
      await producer.send({
        topic: deadLetterTopic,
        acks: -1,
        messages: request.map(({ key, value, headers }): Message => ({ key, value, headers })),
      });
    }
    return { truncated: messages.filter((m) => m.truncated).length };
  };
}
