import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

const URL = '/v1/metrics/outreach?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';

/** A logger at `level` whose JSON lines are kept. */
function capture(level: string): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[]; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    logger: createLogger(level, sink),
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const LEVEL = { debug: 20, info: 30, error: 50 };

describe('request logs: what an operator wants at each level', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;

  beforeAll(async () => {
    const opened = await openTestClickHouse('api-logging');
    clickhouse = opened.handle;
    config = opened.config;
    await applyMigrations(clickhouse.client, createLogger('silent'));
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('at info, a successful request writes nothing; a 4xx one line without the token; a 5xx an error line', async () => {
    const log = capture('info');
    const app = await buildTestApp(config, clickhouse.client, {}, log.logger);
    const headers = bearer('tenant-0');
    for (let i = 0; i < 5; i += 1) expect((await app.inject({ method: 'GET', url: URL, headers })).statusCode).toBe(200);
    expect(log.lines()).toEqual([]);

    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnQiOiJ4In0.c2lnbmF0dXJl';
    expect((await app.inject({ method: 'GET', url: URL, headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    const lines = log.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: LEVEL.info, msg: 'request', method: 'GET', status: 401, route: '/v1/metrics/outreach' });
    expect(log.text()).not.toContain(token);
    expect(log.text()).not.toContain('signature');
    await app.close();

    const failing = capture('info');
    const broken = { query: () => Promise.reject(new Error('engine down')) } as unknown as ClickHouseClient;
    const failingApp = await buildTestApp(config, broken, {}, failing.logger);
    expect((await failingApp.inject({ method: 'GET', url: URL, headers })).statusCode).toBe(500);
    const errors = failing.lines().filter((line) => line.msg === 'request');
    expect(errors).toEqual([expect.objectContaining({ level: LEVEL.error, status: 500, tenant: 'tenant-0' })]);
    await failingApp.close();
  });

  it('at debug, each successful request is one line naming tenant, route, status and duration', async () => {
    const log = capture('debug');
    const app = await buildTestApp(config, clickhouse.client, {}, log.logger);
    expect((await app.inject({ method: 'GET', url: URL, headers: bearer('tenant-0') })).statusCode).toBe(200);
    const requests = log
      .lines()
      .filter((line) => line.msg === 'request' || line.msg === 'incoming request' || line.msg === 'request completed');
    expect(requests).toEqual([
      expect.objectContaining({
        level: LEVEL.debug,
        msg: 'request',
        status: 200,
        tenant: 'tenant-0',
        user: 'tester',
        ms: expect.any(Number),
      }),
    ]);
    expect(log.text()).not.toMatch(/authorization/i);
    await app.close();
  });
});
