import type { Admin, Kafka } from 'kafkajs';

/** A topic's partition offsets, retried while a topic just created still moves its leaders. */
export async function topicOffsets(admin: Admin, topic: string): Promise<{ partition: number; low: string; high: string }[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** Records now held by the topics (high watermark minus low, summed over partitions). */
export async function recordsIn(kafka: Kafka, topics: string[]): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let total = 0;
    for (const topic of topics) {
      for (const partition of await topicOffsets(admin, topic)) total += Number(partition.high) - Number(partition.low);
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Deletes a test's topics (those that exist) through a fresh admin client: one that has read
 * a topic keeps asking for its metadata once it is gone.
 */
export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length > 0) await admin.deleteTopics({ topics: present });
  } finally {
    await admin.disconnect();
  }
}
