import { createHash } from 'node:crypto';
import type { Message, ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { SourceRecord } from '../record.js';
import { BATCH_OVERHEAD_BYTES, createDeadLetterStep, DEAD_LETTER_HEADERS, messageSize, reasonClass } from './dead-letter.js';

const record = (offset: number, size: number, key: string | Buffer | null = 'k'): SourceRecord => ({
  topic: 'assignments',
  partition: 2,
  offset,
  key: typeof key === 'string' ? Buffer.from(key) : key,
  value: Buffer.alloc(size, offset % 251),
});

function fakeProducer() {
  const requests: ProducerRecord[] = [];
  return {
    requests,
    producer: {
      send: async (request: ProducerRecord) => {
        requests.push(request);
        return [];
      },
    },
  };
}

const bytesOf = (messages: Message[]) =>
  BATCH_OVERHEAD_BYTES +
  messages
    .map((m) =>
      messageSize({
        key: m.key as Buffer | null,
        value: m.value as Buffer | null,
        headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
      }),
    )
    .reduce((a, b) => a + b, 0);

describe('dead-letter step', () => {
  it('keeps every produce request within the limit: three 400 KB letters on one key go in separate requests, whole', async () => {
    const { producer, requests } = fakeProducer();
    const step = createDeadLetterStep(producer, 'dlq', () => 1_000_000);
    const letters = [0, 1, 2].map((o) => ({ record: record(o, 400_000), reason: 'bad' }));
    expect(await step(letters)).toEqual({ truncated: 0 });
    expect(requests.length).toBeGreaterThanOrEqual(2);
    for (const request of requests) expect(bytesOf(request.messages)).toBeLessThanOrEqual(1_000_000);
    const sent = requests.flatMap((r) => r.messages);
    expect(sent.map((m) => (m.value as Buffer).equals(letters[sent.indexOf(m)]!.record.value!))).toEqual([true, true, true]);
    expect(sent.every((m) => m.headers?.[DEAD_LETTER_HEADERS.truncated] === undefined)).toBe(true);
  });

  it('many small letters share requests', async () => {
    const { producer, requests } = fakeProducer();
    const step = createDeadLetterStep(producer, 'dlq', () => 1_000_000);
    await step(Array.from({ length: 100 }, (_, o) => ({ record: record(o, 100), reason: 'bad' })));
    expect(requests).toHaveLength(1);
    expect(requests[0]!.messages).toHaveLength(100);
  });

  it('sends a letter too large for the limit as a prefix of its value, with the original size and digest', async () => {
    const { producer, requests } = fakeProducer();
    const step = createDeadLetterStep(producer, 'dlq', () => 1_000_000);
    const huge = record(7, 1_048_400);
    expect(await step([{ record: huge, reason: 'undecodable (bad-header): x'.repeat(500) }])).toEqual({ truncated: 1 });
    const [message] = requests[0]!.messages;
    expect(bytesOf(requests[0]!.messages)).toBeLessThanOrEqual(1_000_000);
    const value = message!.value as Buffer;
    expect(value.length).toBeGreaterThan(900_000);
    expect(huge.value!.subarray(0, value.length).equals(value)).toBe(true);
    expect(message!.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.truncated]: 'true',
      [DEAD_LETTER_HEADERS.originalSize]: '1048400',
      [DEAD_LETTER_HEADERS.originalSha256]: createHash('sha256').update(huge.value!).digest('hex'),
      [DEAD_LETTER_HEADERS.topic]: 'assignments',
      [DEAD_LETTER_HEADERS.partition]: '2',
      [DEAD_LETTER_HEADERS.offset]: '7',
    });
  });

  it('cuts a key that takes most of the limit, and still fits', async () => {
    const { producer, requests } = fakeProducer();
    const step = createDeadLetterStep(producer, 'dlq', () => 100_000);
    await step([{ record: record(1, 50_000, Buffer.alloc(80_000, 1)), reason: 'bad' }]);
    const [message] = requests[0]!.messages;
    expect(bytesOf(requests[0]!.messages)).toBeLessThanOrEqual(100_000);
    expect((message!.key as Buffer).length).toBeLessThan(80_000);
    expect(message!.headers?.[DEAD_LETTER_HEADERS.originalKeySize]).toBe('80000');
  });
});

describe('reasonClass', () => {
  it('names the kind of every reason the decode step gives, for the metric label', () => {
    expect(reasonClass('empty record value')).toBe('empty');
    expect(reasonClass('undecodable (unknown-schema): fingerprint 0x12')).toBe('undecodable');
    expect(reasonClass('invalid event: occurredAt is outside the supported range')).toBe('invalid');
    expect(reasonClass('an assignment event on the x.deliveries topic, which holds delivery events')).toBe('wrong_topic');
    expect(reasonClass('a delivery event on the x.assignments topic, which holds assignment events')).toBe('wrong_topic');
    expect(reasonClass('something new')).toBe('other');
  });
});
