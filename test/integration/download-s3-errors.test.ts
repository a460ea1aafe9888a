import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { DownloadService, S3DownloadStorage, type DownloadJob } from '../../services/downloads/index.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { S3_ACCESS_KEY, startTestS3, type TestS3 } from '../support/s3.js';
import { S3Client } from '@aws-sdk/client-s3';

const RANGE = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-30T23:59:59.999Z' };

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('downloads into S3: what goes wrong says so', () => {
  let s3: TestS3;
  let clickhouse: ClickHouseHandle;
  let config: Config;
  const logger = createLogger('silent');

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.bucket('sending-metrics-test');
    const opened = await openTestClickHouse('download-s3-errors');
    clickhouse = opened.handle;
    config = opened.config;
    await applyMigrations(clickhouse.client, logger);
  }, 900_000);

  afterAll(async () => {
    await clickhouse?.close();
    await s3?.stop();
  });

  it('an unreachable S3 endpoint: readiness names it, and a job fails with the reason after bounded retries', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const storage = new S3DownloadStorage({ url: new URL('s3://sending-metrics-test/unreachable'), endpoint, maxAttempts: 2 });
    const service = DownloadService.fromConfig(config, clickhouse.client, logger, { storage });
    const health = await service.health();
    expect(health.ok).toBe(false);
    expect(health.detail).toMatch(
      /S3 endpoint http:\/\/127\.0\.0\.1:\d+\/? cannot be reached \(ECONNREFUSED\); check DOWNLOADS_S3_ENDPOINT/,
    );
    const app = await buildTestApp(config, clickhouse.client, {}, logger, { downloads: service });
    try {
      await service.start();
      const accepted = await app.inject({
        method: 'POST',
        url: '/v1/downloads',
        headers: bearer('t-unreachable'),
        payload: { export: 'assignments', ...RANGE },
      });
      expect(accepted.statusCode).toBe(202);
      const { id } = accepted.json() as { id: string };
      const failed = await new Promise<DownloadJob>((resolve) =>
        service.on('job', (job: DownloadJob) => job.id === id && job.status === 'failed' && resolve(job)),
      );
      expect(failed.error).toMatch(/cannot be reached \(ECONNREFUSED\); check DOWNLOADS_S3_ENDPOINT/);
    } finally {
      await app.close();
      await service.stop();
    }
  });

  it('bad credentials: one clear error naming the variables, never the secret', async () => {
    const secret = 'not-the-right-secret-0123456789';
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: secret },
    });
    const storage = new S3DownloadStorage({ url: new URL('s3://sending-metrics-test/bad-credentials'), endpoint: s3.endpoint, client });
    const health = await storage.check();
    expect(health.ok).toBe(false);
    expect(health.detail).toMatch(
      /S3 refused the credentials for bucket sending-metrics-test .*check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
    expect(health.detail).not.toContain(secret);
    client.destroy();
  });

  it('without Kafka the API answers 503 for a new download, and the job is not left queued', async () => {
    const kafka = new Kafka({
      clientId: 'no-broker',
      brokers: [`127.0.0.1:${await closedPort()}`],
      connectionTimeout: 300,
      retry: { retries: 1, initialRetryTime: 100 },
      logLevel: logLevel.NOTHING,
    });
    const service = DownloadService.fromConfig(config, clickhouse.client, logger, {
      kafka: { kafka, topic: 'download-requests', groupId: 'none', partitions: 1, sessionTimeoutMs: 6000, worker: false },
    });
    const app = await buildTestApp(config, clickhouse.client, {}, logger, { downloads: service });
    try {
      await service.start();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/downloads',
        headers: bearer('t-no-kafka'),
        payload: { export: 'assignments', ...RANGE },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ error: { code: 'UNAVAILABLE', message: expect.stringMatching(/Kafka cannot be reached/) } });
      const listed = (await app.inject({ method: 'GET', url: '/v1/downloads', headers: bearer('t-no-kafka') })).json() as {
        downloads: { status: string }[];
      };
      expect(listed.downloads.map((job) => job.status)).toEqual(['failed']);
    } finally {
      await app.close();
      await service.stop();
    }
  });
});
