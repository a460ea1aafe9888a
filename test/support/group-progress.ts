import type { Admin } from 'kafkajs';
import { topicOffsets } from './kafka.js';

/** Total records in the topics, and how many the group has committed past. */
export async function groupProgress(admin: Admin, groupId: string, topics: string[]): Promise<{ end: number; committed: number }> {
  let end = 0;
  let committed = 0;
  for (const topic of topics) {
    for (const partition of await topicOffsets(admin, topic)) end += Number(partition.high) - Number(partition.low);
  }
  const offsets = await admin.fetchOffsets({ groupId, topics });
  for (const topic of offsets) for (const partition of topic.partitions) committed += Math.max(0, Number(partition.offset));
  return { end, committed };
}

/** Per partition of one topic: its high watermark and the group's committed offset (-1: none). */
export async function partitionProgress(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<{ partition: number; low: number; high: number; committed: number }[]> {
  const offsets = await topicOffsets(admin, topic);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const byPartition = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
  return offsets.map((p) => ({
    partition: p.partition,
    low: Number(p.low),
    high: Number(p.high),
    committed: byPartition.get(p.partition) ?? -1,
  }));
}
