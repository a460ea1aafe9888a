import type { Consumer } from 'kafkajs';

/**
 * commit: the last step. Commits the offset after a batch only once the batch is written (and
 * its dead letters published); records that were dropped as duplicates or dead-lettered move the
 * offset too.
 */
export function createCommitStep(consumer: Pick<Consumer, 'commitOffsets'>) {
  return async function commitStep(topic: string, partition: number, lastOffset: number): Promise<void> {
    await consumer.commitOffsets([{ topic, partition, offset: String(lastOffset + 1) }]);
  };
}
