import { createClient } from '@clickhouse/client';
import type { ClickHouseHandle } from './clickhouse-handle.js';
import type { Config } from './config.js';
import { redactUrl } from './config.js';
import type { Logger } from './logger.js';

/**
 * The client's own log lines go to pino (JSON) instead of the console. A failed request is
 * thrown to the caller, which reports it, so the client's error lines are debug here.
 */
function clientLogClass(log: Logger) {
  return class ClientLog {
    trace(p: { message: string; args?: Record<string, unknown> }): void {
      log.trace({ module: 'client', args: p.args }, p.message);
    }
    debug(p: { message: string; args?: Record<string, unknown> }): void {
      log.debug({ module: 'client', args: p.args }, p.message);
    }
    info(p: { message: string; args?: Record<string, unknown> }): void {
      log.debug({ module: 'client', args: p.args }, p.message);
    }
    warn(p: { message: string; args?: Record<string, unknown>; err?: Error }): void {
      log.warn({ module: 'client', err: p.err }, p.message);
    }
    error(p: { message: string; args?: Record<string, unknown>; err: Error }): void {
      log.debug({ module: 'client', err: p.err }, p.message);
    }
  };
}

/** A client of the ClickHouse server at CLICKHOUSE_URL (credentials from the URL, never logged). */
export function openServerClickHouse(
  config: Pick<Config, 'clickhouseDatabase' | 'clickhouseSharding'> & { clickhouseUrl: URL },
  settings: Record<string, unknown>,
  log: Logger,
): ClickHouseHandle {
  const url = config.clickhouseUrl;
  const client = createClient({
    url: `${url.protocol}//${url.host}`,
    username: decodeURIComponent(url.username) || 'default',
    password: decodeURIComponent(url.password),
    database: config.clickhouseDatabase,
    clickhouse_settings: {
      ...settings,
      // Progress headers keep a long query's connection alive through proxies and load balancers.
      send_progress_in_http_headers: 1,
      http_headers_progress_interval_ms: '10000',
      // Sharded by tenant (deploy/clickhouse/README.md): every read names one tenant, so the
      // Distributed tables send it to that tenant's shard only.
      ...(config.clickhouseSharding === 'tenant' ? { optimize_skip_unused_shards: 1, distributed_product_mode: 'local' as const } : {}),
    },
    request_timeout: 120_000,
    log: { LoggerClass: clientLogClass(log) },
  });
  const target = redactUrl(url.toString());
  log.info({ target }, 'using ClickHouse server');
  return { client, mode: 'server', target, close: () => client.close() };
}
