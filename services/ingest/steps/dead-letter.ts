import type { Producer } from 'kafkajs';
import type { SourceRecord } from '../record.js';

export const DEAD_LETTER_HEADERS = {
  reason: 'dlq-reason',
  topic: 'dlq-original-topic',
  partition: 'dlq-original-partition',
  offset: 'dlq-original-offset',
} as const;

/**
 * dead-letter: republishes bad records unchanged (key and value) on the dead-letter topic, with
 * the reason and the original topic, partition and offset in headers. Resolves once the broker
 * has them, so the source offsets may then be committed.
 */
export function createDeadLetterStep(producer: Producer, deadLetterTopic: string) {
  return async function deadLetterStep(letters: { record: SourceRecord; reason: string }[]): Promise<void> {
    if (letters.length === 0) return;
    await producer.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: letters.map(({ record, reason }) => ({
        key: record.key,
        value: record.value,
        headers: {
          [DEAD_LETTER_HEADERS.reason]: reason.slice(0, 2000),
          [DEAD_LETTER_HEADERS.topic]: record.topic,
          [DEAD_LETTER_HEADERS.partition]: String(record.partition),
          [DEAD_LETTER_HEADERS.offset]: String(record.offset),
        },
      })),
    });
  };
}
