import net from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadService, downloadRequestsTopic } from '../../services/downloads/index.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

/**
 * POST /v1/downloads with Kafka down (a real client, the service's own settings, against a
 * loopback port where nothing listens): a 503 once the publish timeout passes, while the client
 * is still retrying, and the job that was never queued is not charged to the hourly quota.
 */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const RANGE = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-05T23:59:59.999Z' };

describe('downloads with Kafka down', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;

  beforeAll(async () => {
    const opened = await openTestClickHouse('download-kafka-down');
    clickhouse = opened.handle;
    config = opened.config;
    await applyMigrations(clickhouse.client, createLogger('silent'));
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('answers 503 after the publish timeout, before the client gives up, and the never-queued job is not charged to the quota', async () => {
    // Every log line of the service and its Kafka client, in order.
    const lines: { component?: string; msg?: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { component?: string; msg?: string });
        callback();
      },
    });
    const logger = createLogger('debug', sink);
    const down = { ...config, kafkaBrokers: [`127.0.0.1:${await closedPort()}`] };
    const kafkaOptions = (brokers: Config) => ({
      kafka: createKafka(brokers, logger, `download-kafka-down-${Date.now()}`),
      topic: downloadRequestsTopic({ topicPrefix: `dl-down-${Date.now()}.` }),
      groupId: `dl-down-${Date.now()}`,
      partitions: 1,
      sessionTimeoutMs: 6000,
      worker: false,
      publishTimeoutMs: 1000,
    });
    const service = DownloadService.fromConfig(config, clickhouse.client, logger, {
      maxJobsPerHourPerTenant: 1,
      kafka: kafkaOptions(down),
    });
    let app: FastifyInstance | undefined = await buildTestApp(config, clickhouse.client, {}, logger, { downloads: service });
    try {
      await service.start();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/downloads',
        headers: bearer('t-down'),
        payload: { export: 'assignments', ...RANGE },
      });
      const attemptsAtAnswer = lines.filter((line) => line.component === 'kafka' && /Connection error/i.test(line.msg ?? '')).length;
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('30');
      expect(response.json()).toEqual({
        error: { code: 'UNAVAILABLE', message: 'downloads cannot be queued now: Kafka did not take the job within 1000 ms; retry later' },
      });
      // The client was still retrying when the answer came (it gives up after 9 attempts).
      expect(attemptsAtAnswer).toBeGreaterThan(0);
      expect(attemptsAtAnswer).toBeLessThan(9);
      const listed = (await app.inject({ url: '/v1/downloads', headers: bearer('t-down') })).json<{
        downloads: { status: string; error: string }[];
      }>();
      expect(listed.downloads).toEqual([expect.objectContaining({ status: 'failed', error: 'could not be queued: Kafka unreachable' })]);
    } finally {
      await app.close();
      await service.stop();
    }

    // Kafka back (the test broker): the tenant's one job of the hour is still free.
    const up = DownloadService.fromConfig(config, clickhouse.client, createLogger('silent'), {
      maxJobsPerHourPerTenant: 1,
      kafka: kafkaOptions(config),
    });
    app = await buildTestApp(config, clickhouse.client, {}, createLogger('silent'), { downloads: up });
    try {
      await up.start();
      const accepted = await app.inject({
        method: 'POST',
        url: '/v1/downloads',
        headers: bearer('t-down'),
        payload: { export: 'assignments', ...RANGE, filters: { playbookId: 'pb-1' } },
      });
      expect(accepted.statusCode).toBe(202);
      const refused = await app.inject({
        method: 'POST',
        url: '/v1/downloads',
        headers: bearer('t-down'),
        payload: { export: 'assignments', ...RANGE, filters: { playbookId: 'pb-2' } },
      });
      expect(refused.statusCode).toBe(429);
      expect(refused.json<{ error: { message: string } }>().error.message).toMatch(
        /^1 downloads were queued in the last hour; at most 1 per hour/,
      );
    } finally {
      await app.close();
      await up.stop();
    }
  }, 120_000);
});
