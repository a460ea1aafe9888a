import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../services/platform/config.js';
import { openClickHouse, type ClickHouseClient, type ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';

/**
 * A fresh ClickHouse for one test file: chDB in a new temporary directory (one engine per
 * process; vitest runs each file in its own process), or the server named by CLICKHOUSE_URL
 * with a fresh database.
 */
export async function openTestClickHouse(name: string): Promise<{ handle: ClickHouseHandle; config: Config; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `sm-${name}-`));
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  let config = loadConfig(env);
  if (config.clickhouseUrl) {
    const database = `test_${name.replace(/\W/g, '_')}_${Date.now()}`;
    const bootstrap = await openClickHouse(config, createLogger('silent'));
    await bootstrap.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await bootstrap.close();
    config = { ...config, clickhouseDatabase: database };
  }
  const handle = await openClickHouse(config, createLogger(config.logLevel));
  // The temporary data goes when the test process ends (tests may reopen it before that).
  process.once('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  return { handle, config, dataDir };
}

/** The ClickHouse client with a switch that makes every insert fail, at the client boundary. */
export function faultyClient(client: ClickHouseClient): {
  client: ClickHouseClient;
  failInserts: (on: boolean) => void;
  failures: () => number;
} {
  let failing = false;
  let failures = 0;
  const proxy = new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'insert') {
        return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
          if (failing) {
            failures += 1;
            throw new Error('injected fault: ClickHouse refused the insert');
          }
          return target.insert(params);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { client: proxy, failInserts: (on) => (failing = on), failures: () => failures };
}
