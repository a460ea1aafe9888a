import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import { AGGREGATES_BY_HOUR_SQL, type Truth } from '../../fixtures/events.js';

/** What the engine holds, read for assertions: the aggregates by hour (as the fixtures' ground truth) and the raw rows. */

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
