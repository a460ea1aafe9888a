import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { Kafka, logLevel } from 'kafkajs';
import type { FastifyInstance } from 'fastify';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DownloadService,
  S3DownloadStorage,
  downloadRequestsTopic,
  type DownloadJob,
  type DownloadStorage,
} from '../../services/downloads/index.js';
import type { AssignmentEvent, SendingEvent } from '../../services/events/types.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { loadConfig, type Config } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { generateEvents } from '../../fixtures/events.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { parseCsv } from '../support/csv.js';
import { S3_ACCESS_KEY, startTestS3, type TestS3 } from '../support/s3.js';
import { ownDownloadTopic, SimulatedCrash } from '../support/downloads.js';

/**
 * Two replicas on the embedded engine (one process): two API apps and two download workers that
 * share the broker (a consumer group over `download-requests`) and one S3 bucket (SeaweedFS).
 */
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const RANGE = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-30T23:59:59.999Z' };
const byKey = (a: string[], b: string[]) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : 0);

interface JobView {
  id: string;
  status: string;
  rows: number;
  bytes: number;
  error: string | null;
}

/**
 * The S3 storage with a switch: the next write that passes `holdAfterBytes` stops sending there
 * for good (as a process frozen or killed mid-upload would), after its first part went up.
 */
class HoldingStorage implements DownloadStorage {
  holdAfterBytes: number | undefined;
  held: { tenantId: string; id: string } | undefined;
  private onHeld: (() => void) | undefined;
  readonly heldOnce = new Promise<void>((resolve) => (this.onHeld = resolve));
  constructor(readonly inner: S3DownloadStorage) {}
  get description() {
    return this.inner.description;
  }
  prepare() {
    return this.inner.prepare();
  }
  write(tenantId: string, id: string, source: Readable, signal: AbortSignal) {
    const limit = this.holdAfterBytes;
    if (limit === undefined) return this.inner.write(tenantId, id, source, signal);
    this.holdAfterBytes = undefined;
    let sent = 0;
    const gate = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        // Chunks pass until `limit` bytes went through; the next one never does.
        if (sent < limit) {
          sent += chunk.length;
          return callback(null, chunk);
        }
        this.held = { tenantId, id };
        this.onHeld?.();
        // Never calls back: the stream stops here.
      },
    });
    return this.inner.write(tenantId, id, source.pipe(gate), signal);
  }
  open(tenantId: string, id: string) {
    return this.inner.open(tenantId, id);
  }
  remove(tenantId: string, id: string) {
    return this.inner.remove(tenantId, id);
  }
  locator(tenantId: string, id: string) {
    return this.inner.locator(tenantId, id);
  }
  check() {
    return this.inner.check();
  }
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('downloads with two replicas: jobs through Kafka, files in S3', () => {
  let s3: TestS3;
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let events: SendingEvent[];
  let bucket: string;
  const logger = createLogger(process.env.LOG_LEVEL ?? 'silent');
  const workers: DownloadService[] = [];
  const storages: HoldingStorage[] = [];
  /** Each worker's process, which a test may kill. */
  const crashes: SimulatedCrash[] = [];
  const apps: FastifyInstance[] = [];
  /** Which worker (0 or 1) set each job running, in order. */
  const ranBy = new Map<string, number[]>();
  const assigned: number[][] = [[], []];

  const truthAssignments = (tenant: string) =>
    events
      .filter((e): e is AssignmentEvent => e.type === 'assignment' && e.tenantId === tenant)
      .map((e) => [e.occurredAt, e.eventId, e.customerId, e.playbookId, e.playbookName, e.campaignId, e.campaignName, e.action])
      .sort(byKey);

  async function settled(app: FastifyInstance, id: string, tenant: string, timeoutMs = 120_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await app.inject({ method: 'GET', url: `/v1/downloads/${id}`, headers: bearer(tenant) })).json() as JobView;
      if (job.status !== 'queued' && job.status !== 'running') return job;
      if (Date.now() > deadline) throw new Error(`download ${id} still ${job.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    s3 = await startTestS3();
    // One bucket for every run (SeaweedFS gives each bucket its own volumes); a fresh prefix per run.
    bucket = await s3.bucket('sending-metrics-test');
    const run = `dl-replicas-${Date.now()}`;
    const opened = await openTestClickHouse('download-replicas');
    clickhouse = opened.handle;
    config = {
      ...opened.config,
      topicPrefix: `${run}.`,
      topicPartitions: 4,
      downloads: {
        ...opened.config.downloads,
        ...loadConfig({ ...process.env, DOWNLOADS_URL: `s3://${bucket}/${run}`, DOWNLOADS_S3_ENDPOINT: s3.endpoint }).downloads,
        groupId: `${run}-workers`,
      },
    };
    await applyMigrations(clickhouse.client, logger);
    events = generateEvents({ seed: 16, count: 320_000, startMs: START, spanMs: 20 * DAY, tenants: 2 });
    await insertEvents(clickhouse.client, events);

    for (const index of [0, 1]) {
      const storage = new HoldingStorage(
        new S3DownloadStorage({ url: config.downloads.url!, endpoint: s3.endpoint, partBytes: 5 * 1024 * 1024, queueSize: 1 }),
      );
      const crash = new SimulatedCrash(config, `${run}-worker-${index}`);
      const worker = DownloadService.fromConfig(config, crash.clickhouse(clickhouse.client), logger, {
        storage: crash.storage(storage),
        pageRows: 5000,
        progressEveryMs: 300,
        kafka: {
          kafka: crash.kafka,
          topic: downloadRequestsTopic(config),
          groupId: config.downloads.groupId,
          partitions: config.topicPartitions,
          sessionTimeoutMs: 6000,
          worker: true,
        },
      });
      worker.on('job', (job: DownloadJob) => {
        if (job.status === 'running') ranBy.set(job.id, [...(ranBy.get(job.id) ?? []), index]);
      });
      worker.on('assigned', (partitions: number[]) => (assigned[index] = partitions));
      storages.push(storage);
      crashes.push(crash);
      workers.push(worker);
      apps.push(await buildTestApp(config, clickhouse.client, {}, logger, { downloads: worker }));
    }
    await Promise.all(workers.map((worker) => worker.start()));
    // Both members in the group, the partitions split between them.
    for (;;) {
      const [a, b] = assigned;
      if (a!.length > 0 && b!.length > 0 && a!.length + b!.length === config.topicPartitions && a!.every((p) => !b!.includes(p))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 900_000);

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const crash of crashes) crash.bury();
    for (const worker of workers) await worker.stop();
    await clickhouse?.close();
    await s3?.stop();
  }, 120_000);

  it('a job posted to replica A runs once on one worker; replica B serves its file, equal to the rows of the range', async () => {
    const [appA, appB] = apps as [FastifyInstance, FastifyInstance];
    const posted: { id: string; tenant: string }[] = [];
    for (const tenant of ['tenant-0', 'tenant-1']) {
      for (const filters of [{}, { action: 'entered' }]) {
        const accepted = await appA.inject({
          method: 'POST',
          url: '/v1/downloads',
          headers: bearer(tenant),
          payload: { export: 'assignments', ...RANGE, filters },
        });
        expect(accepted.statusCode).toBe(202);
        posted.push({ id: (accepted.json() as JobView).id, tenant });
      }
    }
    for (const { id, tenant } of posted) {
      const done = await settled(appB, id, tenant);
      expect(done).toMatchObject({ id, status: 'ready', error: null });
      expect(ranBy.get(id)).toHaveLength(1);
    }
    const { id, tenant } = posted[0]!;
    const response = await appB.inject({ method: 'GET', url: `/v1/downloads/${id}/file`, headers: bearer(tenant) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
    expect(response.headers['content-disposition']).toBe(
      'attachment; filename="assignments_2026-11-01T000000.000Z_2026-11-30T235959.999Z.csv"',
    );
    const [, ...rows] = parseCsv(response.body);
    expect(rows).toEqual(truthAssignments(tenant));
    // The same bytes through replica A, and another tenant sees nothing.
    const viaA = await appA.inject({ method: 'GET', url: `/v1/downloads/${id}/file`, headers: bearer(tenant) });
    expect(viaA.rawPayload.equals(response.rawPayload)).toBe(true);
    const other = await appB.inject({ method: 'GET', url: `/v1/downloads/${id}/file`, headers: bearer('tenant-9') });
    expect(other.statusCode).toBe(404);
  });

  it('a worker that dies mid-upload: the other runs the job again, the object is complete, no multipart upload is left', async () => {
    const [appA, appB] = apps as [FastifyInstance, FastifyInstance];
    for (const storage of storages) storage.holdAfterBytes = 6 * 1024 * 1024;
    const tenant = 'tenant-1';
    const accepted = await appA.inject({
      method: 'POST',
      url: '/v1/downloads',
      headers: bearer(tenant),
      payload: { export: 'assignments', from: RANGE.from, to: '2026-11-29T23:59:59.999Z' },
    });
    expect(accepted.statusCode).toBe(202);
    const { id } = accepted.json() as JobView;
    await Promise.race(storages.map((storage) => storage.heldOnce));
    const dying = storages.findIndex((storage) => storage.held?.id === id);
    expect(dying).toBeGreaterThanOrEqual(0);
    const key = storages[dying]!.inner.key(tenant, id);
    // The first part went up: a multipart upload is open for the key.
    while ((await storages[dying]!.inner.pendingUploads(key)).length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    for (const storage of storages) storage.holdAfterBytes = undefined;
    // The other replica shows the running job's progress, recorded by its worker.
    const other = apps[1 - dying]!;
    for (;;) {
      const seen = (await other.inject({ method: 'GET', url: `/v1/downloads/${id}`, headers: bearer(tenant) })).json() as JobView;
      expect(seen.status).toBe('running');
      if (seen.rows > 0) {
        // Recorded at some tick while the upload is held: the rows read so far (the export may
        // have read them all into the upload's buffers), never more than the range holds.
        expect(seen.bytes).toBeGreaterThan(0);
        expect(seen.rows).toBeLessThanOrEqual(truthAssignments(tenant).length);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    crashes[dying]!.crash();

    const done = await settled(appB, id, tenant, 180_000);
    expect(done.status).toBe('ready');
    expect(ranBy.get(id)).toEqual([dying, 1 - dying]);
    const response = await appB.inject({ method: 'GET', url: `/v1/downloads/${id}/file`, headers: bearer(tenant) });
    const [, ...rows] = parseCsv(response.body);
    const truth = truthAssignments(tenant).filter((row) => row[0]! <= '2026-11-29T23:59:59.999Z');
    expect(rows).toEqual(truth);
    expect(Number(response.headers['content-length'])).toBe(done.bytes);
    const object = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(object.ContentLength).toBe(done.bytes);
    expect(await storages[dying]!.inner.pendingUploads(key)).toEqual([]);
  });

  it('an upload process killed with SIGKILL leaves no object, and running the job again completes it and leaves no upload', async () => {
    const url = config.downloads.url!;
    const tenant = 'tenant-kill';
    const id = `killed-${Date.now()}`;
    const storage = new S3DownloadStorage({ url, endpoint: s3.endpoint, partBytes: 5 * 1024 * 1024, queueSize: 1 });
    const key = storage.key(tenant, id);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, '../support/s3-upload-child.ts'), url.toString(), s3.endpoint, tenant, id, '400'],
      { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Killed once its multipart upload is open and a part went up (never allowed to complete).
    const deadline = Date.now() + 60_000;
    while ((await storage.pendingUploads(key)).length === 0) {
      if (Date.now() > deadline) throw new Error('the child never started its upload');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(output).toBe('');
    // No object, partial or whole, under the key; the dead process's upload is still open.
    await expect(s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
    expect(await storage.open(tenant, id)).toBeUndefined();
    expect(await storage.pendingUploads(key)).toHaveLength(1);

    // The job run again (as the partition's next owner does) aborts it first and writes the whole file.
    const body = 'header\n' + 'row\n'.repeat(1000);
    const size = await storage.write(tenant, id, Readable.from([Buffer.from(body)]), new AbortController().signal);
    expect(size).toBe(body.length);
    expect(await storage.pendingUploads(key)).toEqual([]);
    const object = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await object.Body!.transformToString()).toBe(body);
  });

  // The same S3 server (one per test file: started and stopped by this file) and ClickHouse.
  describe('what goes wrong says so', () => {
    it('an unreachable S3 endpoint: readiness names it, and a job fails with the reason after bounded retries', async () => {
      const endpoint = `http://127.0.0.1:${await closedPort()}`;
      const storage = new S3DownloadStorage({ url: new URL('s3://sending-metrics-test/unreachable'), endpoint, maxAttempts: 2 });
      // A worker of its own (not a third member of the replicas' group).
      const service = DownloadService.fromConfig(ownDownloadTopic(config, 'dl-unreachable'), clickhouse.client, logger, { storage });
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
});
