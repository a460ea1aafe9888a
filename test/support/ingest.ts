import type { Admin } from 'kafkajs';
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import { AGGREGATES_BY_HOUR_SQL, type Truth } from '../../fixtures/events.js';
import { topicOffsets } from './kafka.js';

export async function readAggregates(client: ClickHouseClient): Promise<Truth> {
  const result = await client.query({ query: AGGREGATES_BY_HOUR_SQL, format: 'JSONCompactEachRow' });
  const rows = (await result.json()) as [string, string | number][];
  return new Map(rows.map(([key, n]) => [key, Number(n)]));
}

export async function countRaw(client: ClickHouseClient): Promise<number> {
  const result = await client.query({
    query: 'SELECT (SELECT count() FROM assignment_events) + (SELECT count() FROM delivery_events) AS n',
    format: 'JSONCompactEachRow',
  });
  const [[n]] = (await result.json()) as [[string | number]];
  return Number(n);
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
  everyMs = 250,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

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
