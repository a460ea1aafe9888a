import type { ClickHouseClient } from '../../services/platform/clickhouse.js';

/** A query's rows as the engine gives them (numbers of 64 bits as strings). */
export async function rows<T>(client: ClickHouseClient, query: string, query_params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await client.query({ query, query_params, format: 'JSONEachRow' });
  return result.json<T>();
}
