import type { ClickHouseClient } from '@clickhouse/client';

/** An open ClickHouse, whichever engine it is (clickhouse.ts opens it). */
export interface ClickHouseHandle {
  client: ClickHouseClient;
  /** `embedded` = chDB in this process, `server` = CLICKHOUSE_URL. */
  mode: 'embedded' | 'server';
  /** Human-readable target, never with a password. */
  target: string;
  close(): Promise<void>;
}
