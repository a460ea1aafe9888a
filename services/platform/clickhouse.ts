import fs from 'node:fs';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Connection } from '@clickhouse/client-common';
import type Stream from 'node:stream';
import type { Config } from './config.js';
import { redactUrl } from './config.js';
import type { Logger } from './logger.js';

export type { ClickHouseClient };

export interface ClickHouseHandle {
  client: ClickHouseClient;
  /** `embedded` = chDB in this process, `server` = CLICKHOUSE_URL. */
  mode: 'embedded' | 'server';
  /** Human-readable target, never with a password. */
  target: string;
  close(): Promise<void>;
}

type ChdbConnection = Connection<Stream.Readable>;

/**
 * The embedded engine runs one statement at a time per session, and a concurrent statement
 * breaks an open stream. This connection runs every operation of the wrapped one strictly one
 * after another, in arrival order, so callers use the ordinary client and never see the queue.
 * Results over chDB are materialised before the call resolves, so holding the turn until the
 * promise settles is enough.
 */
export class SerializedConnection implements ChdbConnection {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(private readonly inner: ChdbConnection) {}

  /** Operations waiting for or holding the engine (for metrics and tests). */
  get depth(): number {
    return this.waiting;
  }

  private turn<T>(operation: () => Promise<T>): Promise<T> {
    this.waiting += 1;
    const run = this.tail.then(operation, operation);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      this.waiting -= 1;
    });
  }

  ping(params: Parameters<ChdbConnection['ping']>[0]) {
    return this.turn(() => this.inner.ping(params));
  }
  query(params: Parameters<ChdbConnection['query']>[0]) {
    return this.turn(() => this.inner.query(params));
  }
  insert(params: Parameters<ChdbConnection['insert']>[0]) {
    return this.turn(() => this.inner.insert(params));
  }
  command(params: Parameters<ChdbConnection['command']>[0]) {
    return this.turn(() => this.inner.command(params));
  }
  exec(params: Parameters<ChdbConnection['exec']>[0]) {
    return this.turn(() => this.inner.exec(params));
  }
  close() {
    return this.turn(() => this.inner.close());
  }
}

const CLIENT_SETTINGS = {
  // Inserts return only once the rows (and the materialized views fed by them) are written.
  async_insert: 0,
  wait_end_of_query: 1,
  date_time_input_format: 'best_effort',
} as const;

/**
 * Opens ClickHouse: the server at CLICKHOUSE_URL, or else chDB at DATA_DIR/clickhouse
 * behind one SerializedConnection. Everything else only sees a ClickHouseClient.
 */
export async function openClickHouse(config: Config, logger: Logger): Promise<ClickHouseHandle> {
  const log = logger.child({ component: 'clickhouse' });
  if (config.clickhouseUrl) {
    const url = config.clickhouseUrl;
    const client = createClient({
      url: `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`,
      username: decodeURIComponent(url.username) || 'default',
      password: decodeURIComponent(url.password),
      database: config.clickhouseDatabase,
      clickhouse_settings: { ...CLIENT_SETTINGS },
      request_timeout: 120_000,
    });
    const target = redactUrl(url.toString());
    log.info({ target }, 'using ClickHouse server');
    return { client, mode: 'server', target, close: () => client.close() };
  }
  fs.mkdirSync(config.clickhouseDataPath, { recursive: true });
  // Loaded lazily: the engine library is large and not needed when a server is used.
  const { createChdbConnection } = await import('chdb/connection');
  const connection = new SerializedConnection(
    createChdbConnection({ path: config.clickhouseDataPath }) as unknown as ChdbConnection,
  );
  const client = createClient({
    connection,
    database: config.clickhouseDatabase,
    clickhouse_settings: { ...CLIENT_SETTINGS },
  } as Parameters<typeof createClient>[0]);
  log.info({ path: config.clickhouseDataPath }, 'using embedded ClickHouse (chDB)');
  return {
    client,
    mode: 'embedded',
    target: `chdb:${config.clickhouseDataPath}`,
    close: () => client.close(),
  };
}
