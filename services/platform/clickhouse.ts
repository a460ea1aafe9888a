import type { ClickHouseClient } from '@clickhouse/client';
import { openEmbeddedClickHouse } from './chdb-connection.js';
import type { ClickHouseHandle } from './clickhouse-handle.js';
import { openServerClickHouse } from './clickhouse-server.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export type { ClickHouseClient, ClickHouseHandle };
export {
  activeQueryStreams,
  observeEngineStatements,
  queryStreamOf,
  sideClientOf,
  type EngineStatement,
  type QueryStream,
  type StreamedChunk,
} from './clickhouse-side-channels.js';

const CLIENT_SETTINGS = {
  // Inserts return only once the rows (and the materialized views fed by them) are written.
  async_insert: 0,
  wait_end_of_query: 1,
  date_time_input_format: 'best_effort',
} as const;

/**
 * Opens ClickHouse: the server at CLICKHOUSE_URL (clickhouse-server.ts), or else chDB at
 * DATA_DIR/clickhouse behind one serialized connection (chdb-connection.ts). Everything else only
 * sees a ClickHouseClient, and asks clickhouse-side-channels.ts for what only the embedded engine has.
 */
export async function openClickHouse(config: Config, logger: Logger): Promise<ClickHouseHandle> {
  const log = logger.child({ component: 'clickhouse' });
  if (config.clickhouseUrl) {
    return openServerClickHouse({ ...config, clickhouseUrl: config.clickhouseUrl }, CLIENT_SETTINGS, log);
  }
  return openEmbeddedClickHouse(
    { dataPath: config.clickhouseDataPath, database: config.clickhouseDatabase, settings: CLIENT_SETTINGS },
    log,
  );
}
