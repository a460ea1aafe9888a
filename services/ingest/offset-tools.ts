import type { Admin } from 'kafkajs';
import { messageOf } from '../platform/errors.js';

/**
 * `replay`: moves the ingest group's committed offsets back so that records are read again —
 * to a time (the first record at or after it, per partition) or to offsets given per partition.
 * Only with the group stopped (a running member would overwrite the offsets with its own
 * commits), and only backwards: a move forward would skip records, which is never a replay.
 * Records read again are counted once, whatever their age: the ingest records how far each
 * partition is written (ingest_written) before it commits, and skips the records at or below that
 * offset when it reads them again; a batch cut but not recorded as written (a crash between its
 * insert and the record) is cut again at its recorded intent, with the same deduplication token.
 */

export class ReplayRefused extends Error {
  override name = 'ReplayRefused';
}

export interface PartitionMove {
  topic: string;
  partition: number;
  /** The committed offset now (the low watermark when the group never committed). */
  from: number;
  to: number;
  /** Records that will be read again. */
  records: number;
}

/** Offsets a file names: `{"<topic>": {"<partition>": <offset>, …}, …}`. */
export type OffsetsFile = Record<string, Record<string, number>>;

export function parseOffsetsFile(text: string): OffsetsFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ReplayRefused(`the offsets file is not JSON: ${messageOf(error)}`);
  }
  const shape = 'expected {"<topic>": {"<partition>": <offset>}}';
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ReplayRefused(`the offsets file: ${shape}`);
  for (const [topic, partitions] of Object.entries(parsed)) {
    if (typeof partitions !== 'object' || partitions === null || Array.isArray(partitions))
      throw new ReplayRefused(`the offsets file, topic ${topic}: ${shape}`);
    for (const [partition, offset] of Object.entries(partitions as Record<string, unknown>)) {
      if (!/^\d+$/.test(partition) || typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
        throw new ReplayRefused(
          `the offsets file, ${topic} partition ${partition}: the offset must be a whole number ≥ 0, got ${JSON.stringify(offset)}`,
        );
    }
  }
  return parsed as OffsetsFile;
}

export async function assertGroupStopped(admin: Admin, groupId: string): Promise<void> {
  const { groups } = await admin.describeGroups([groupId]);
  const members = groups[0]?.members.length ?? 0;
  if (members > 0)
    throw new ReplayRefused(
      `the ingest group ${groupId} has ${members} running member${members === 1 ? '' : 's'}; stop the ingest first (its commits would overwrite the moved offsets)`,
    );
}

async function committedOffsets(admin: Admin, groupId: string, topics: string[]): Promise<Map<string, number>> {
  const committed = new Map<string, number>();
  for (const entry of await admin.fetchOffsets({ groupId, topics }))
    for (const p of entry.partitions) committed.set(`${entry.topic}/${p.partition}`, Number(p.offset));
  return committed;
}

/**
 * The moves a replay makes, without making them: per partition of `topics`, the target is the
 * first offset at or after `fromTimeMs`, or the file's offset; partitions the file does not name
 * stay. Refuses a topic that does not exist, an offset outside the partition, a move forward.
 */
export async function planReplay(
  admin: Admin,
  groupId: string,
  topics: string[],
  target: { fromTimeMs: number } | { offsets: OffsetsFile },
): Promise<PartitionMove[]> {
  const existing = new Set(await admin.listTopics());
  const named = 'offsets' in target ? Object.keys(target.offsets) : topics;
  for (const topic of named) {
    if (!existing.has(topic))
      throw new ReplayRefused(`topic ${topic} does not exist${topics.includes(topic) ? '' : ` (the ingest reads ${topics.join(', ')})`}`);
    if (!topics.includes(topic)) throw new ReplayRefused(`topic ${topic} is not read by the ingest (it reads ${topics.join(', ')})`);
  }
  const committed = await committedOffsets(admin, groupId, topics);
  const moves: PartitionMove[] = [];
  for (const topic of named) {
    const watermarks = await admin.fetchTopicOffsets(topic);
    const byTime = 'fromTimeMs' in target ? await admin.fetchTopicOffsetsByTimestamp(topic, target.fromTimeMs) : undefined;
    for (const { partition, low, high } of watermarks) {
      const now = committed.get(`${topic}/${partition}`) ?? -1;
      const from = now >= 0 ? now : Number(low);
      let to: number;
      if (byTime) {
        const found = Number(byTime.find((entry) => entry.partition === partition)?.offset ?? -1);
        to = found >= 0 ? found : Number(high);
      } else {
        const given = (target as { offsets: OffsetsFile }).offsets[topic]?.[String(partition)];
        if (given === undefined) continue;
        if (given < Number(low) || given > Number(high))
          throw new ReplayRefused(`${topic} partition ${partition}: offset ${given} is outside the partition (${low} to ${high})`);
        to = given;
      }
      // Records before the oldest one kept cannot be read again.
      to = Math.max(to, Number(low));
      if (to > from) {
        if (!byTime)
          throw new ReplayRefused(
            `${topic} partition ${partition}: ${to} is after the committed offset ${from}; moving forward would skip ${to - from} records`,
          );
        to = from; // a time after the committed position: that partition has nothing to re-read
      }
      moves.push({ topic, partition, from, to, records: from - to });
    }
  }
  for (const entry of 'offsets' in target ? Object.entries(target.offsets) : [])
    for (const partition of Object.keys(entry[1]))
      if (!moves.some((move) => move.topic === entry[0] && move.partition === Number(partition)))
        throw new ReplayRefused(`${entry[0]} has no partition ${partition}`);
  return moves;
}

/** Makes the moves (after checking once more that the group is stopped). */
export async function applyReplay(admin: Admin, groupId: string, moves: PartitionMove[]): Promise<void> {
  await assertGroupStopped(admin, groupId);
  for (const topic of new Set(moves.map((move) => move.topic))) {
    const partitions = moves.filter((move) => move.topic === topic && move.records > 0);
    if (partitions.length > 0)
      await admin.setOffsets({
        groupId,
        topic,
        partitions: partitions.map((move) => ({ partition: move.partition, offset: String(move.to) })),
      });
  }
}
