import type { Kafka } from 'kafkajs';

export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/**
 * Reads the dead-letter topic from the beginning until `until(letters)` holds (a fresh group
 * each time), then returns every letter read so far.
 */
export async function readDeadLetters(
  kafka: Kafka,
  topic: string,
  until: (letters: DeadLetter[]) => boolean,
  timeoutMs = 120_000,
): Promise<DeadLetter[]> {
  const consumer = kafka.consumer({ groupId: `dlq-reader-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 200 });
  const letters: DeadLetter[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = value?.toString() ?? '';
        letters.push({ key: message.key, value: message.value, headers, partition, offset: message.offset });
        if (until(letters)) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${letters.length} dead letters arrived within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([finished, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return letters;
  } finally {
    await consumer.disconnect();
  }
}
