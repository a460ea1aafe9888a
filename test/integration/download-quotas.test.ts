import type { FastifyInstance } from 'fastify';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { DownloadService, type DownloadServiceOptions } from '../../services/downloads/index.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { generateEvents } from '../../fixtures/events.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { ownDownloadTopic } from '../support/downloads.js';

/**
 * Per-tenant download quotas: jobs queued per hour and bytes of files kept; a refusal is a 429
 * that names the limit and says when it frees (message and Retry-After). A download identical to
 * one already queued, running or ready is answered with that job instead of a new file.
 */
const START = Date.UTC(2026, 10, 1);
const FROM = '2026-11-01T00:00:00.000Z';
const TO = '2026-11-05T23:59:59.999Z';

describe('download quotas', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let service: DownloadService | undefined;
  let app: FastifyInstance | undefined;

  beforeAll(async () => {
    const opened = await openTestClickHouse('download-quotas');
    clickhouse = opened.handle;
    config = opened.config;
    await applyMigrations(clickhouse.client, createLogger('silent'));
    await insertEvents(clickhouse.client, generateEvents({ seed: 3, count: 5000, startMs: START, spanMs: 5 * 86_400_000, tenants: 3 }));
  });

  afterEach(async () => {
    await app?.close();
    await service?.stop();
    app = undefined;
    service = undefined;
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  async function setUp(options: Partial<DownloadServiceOptions>): Promise<FastifyInstance> {
    const logger = createLogger('silent');
    // A requests topic of its own: the jobs queued by an earlier test are not run here.
    service = DownloadService.fromConfig(ownDownloadTopic(config, 'download-quotas'), clickhouse.client, logger, options);
    await service.start();
    const built = await buildTestApp(config, clickhouse.client, {}, logger, { downloads: service });
    app = built;
    return built;
  }

  const submit = (api: FastifyInstance, tenant: string, body: object) =>
    api.inject({
      method: 'POST',
      url: '/v1/downloads',
      headers: bearer(tenant),
      payload: { export: 'assignments', from: FROM, to: TO, ...body },
    });

  async function ready(api: FastifyInstance, tenant: string, id: string): Promise<{ bytes: number }> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = (await api.inject({ url: `/v1/downloads/${id}`, headers: bearer(tenant) })).json<{
        status: string;
        bytes: number;
        error: string;
      }>();
      if (job.status === 'ready') return job;
      if (job.status === 'failed' || Date.now() > deadline) throw new Error(`download ${id} is ${job.status}: ${job.error}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('refuses the next job past the jobs-per-hour limit with a 429 naming it and when it frees', async () => {
    const api = await setUp({ maxJobsPerHourPerTenant: 3 });
    for (const playbookId of ['pb-0', 'pb-1', 'pb-2']) {
      expect((await submit(api, 'tenant-0', { filters: { playbookId } })).statusCode).toBe(202);
    }
    const refused = await submit(api, 'tenant-0', { filters: { campaignId: 'cm-0-0' } });
    expect(refused.statusCode).toBe(429);
    const { error } = refused.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.message).toMatch(
      /^3 downloads were queued in the last hour; at most 3 per hour — the next one can be queued at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    );
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    // Another tenant has its own budget.
    expect((await submit(api, 'tenant-1', {})).statusCode).toBe(202);
  });

  it('refuses a new job while the tenant’s ready files hold its stored-bytes quota, until the oldest expires', async () => {
    const api = await setUp({ maxStoredBytesPerTenant: 1000 });
    const first = await submit(api, 'tenant-2', {});
    expect(first.statusCode).toBe(202);
    const { bytes } = await ready(api, 'tenant-2', first.json<{ id: string }>().id);
    expect(bytes).toBeGreaterThan(1000);
    const refused = await submit(api, 'tenant-2', { filters: { playbookId: 'pb-1' } });
    expect(refused.statusCode).toBe(429);
    const { error } = refused.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.message).toContain(
      `the tenant's ready downloads hold ${bytes} bytes; at most 1000 may be kept — space frees when the oldest expires at `,
    );
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(config.downloads.ttlHours * 3600 - 120);
  });

  it('45 distinct downloads at once: exactly the hourly quota (30) is accepted, the rest 429 naming the limit', async () => {
    const api = await setUp({ maxQueuedPerTenant: 100 });
    const quota = config.downloads.maxJobsPerHourPerTenant;
    expect(quota).toBe(30);
    const answers = await Promise.all(
      Array.from({ length: 45 }, (_, i) => submit(api, 'tenant-burst', { filters: { playbookId: `pb-burst-${i}` } })),
    );
    const codes = answers.map((answer) => answer.statusCode);
    expect(codes.filter((code) => code === 202)).toHaveLength(30);
    expect(codes.filter((code) => code === 429)).toHaveLength(15);
    for (const refused of answers.filter((answer) => answer.statusCode === 429)) {
      expect(refused.json<{ error: { code: string; message: string } }>().error).toMatchObject({
        code: 'RATE_LIMITED',
        message: expect.stringMatching(/^30 downloads were queued in the last hour; at most 30 per hour — the next one can be queued at /),
      });
    }
    const ids = new Set(answers.filter((answer) => answer.statusCode === 202).map((answer) => answer.json<{ id: string }>().id));
    expect(ids.size).toBe(30);
    const listed = (await api.inject({ url: '/v1/downloads', headers: bearer('tenant-burst') })).json<{ downloads: { id: string }[] }>();
    expect(listed.downloads.map((job) => job.id).sort()).toEqual([...ids].sort());
  });

  it('10 identical downloads at once: one job, and all 10 answers carry its id', async () => {
    const api = await setUp({ maxQueuedPerTenant: 100 });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => submit(api, 'tenant-same', { filters: { playbookId: 'pb-1', campaignId: 'cm-1-1' } })),
    );
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(10).fill(202));
    const ids = new Set(answers.map((answer) => answer.json<{ id: string }>().id));
    expect(ids.size).toBe(1);
    const listed = (await api.inject({ url: '/v1/downloads', headers: bearer('tenant-same') })).json<{ downloads: { id: string }[] }>();
    expect(listed.downloads.map((job) => job.id)).toEqual([...ids]);
  });

  it('two replicas (two services and apps on one ClickHouse) at once: the quota and identical requests hold across them', async () => {
    const logger = createLogger('silent');
    const replicas = ownDownloadTopic(config, 'download-quotas-replicas');
    const services = [0, 1].map(() => DownloadService.fromConfig(replicas, clickhouse.client, logger, { maxQueuedPerTenant: 100 }));
    const apps = await Promise.all(services.map((downloads) => buildTestApp(config, clickhouse.client, {}, logger, { downloads })));
    try {
      const distinct = await Promise.all(
        Array.from({ length: 45 }, (_, i) => submit(apps[i % 2]!, 'tenant-replicas', { filters: { playbookId: `pb-r-${i}` } })),
      );
      expect(distinct.filter((answer) => answer.statusCode === 202)).toHaveLength(30);
      expect(distinct.filter((answer) => answer.statusCode === 429)).toHaveLength(15);
      const same = await Promise.all(
        Array.from({ length: 10 }, (_, i) => submit(apps[i % 2]!, 'tenant-replicas-same', { filters: { campaignId: 'cm-2-2' } })),
      );
      expect(same.map((answer) => answer.statusCode)).toEqual(Array(10).fill(202));
      expect(new Set(same.map((answer) => answer.json<{ id: string }>().id)).size).toBe(1);
      const listed = (await apps[0]!.inject({ url: '/v1/downloads', headers: bearer('tenant-replicas-same') })).json<{
        downloads: { id: string }[];
      }>();
      expect(listed.downloads).toHaveLength(1);
    } finally {
      for (const built of apps) await built.close();
      for (const downloads of services) await downloads.stop();
    }
  });

  it('answers a download identical to a queued, running or ready one with that job (filters in any order)', async () => {
    const api = await setUp({ maxJobsPerHourPerTenant: 10 });
    const first = await submit(api, 'tenant-1', { filters: { playbookId: 'pb-1', campaignId: 'cm-1-1' } });
    expect(first.statusCode).toBe(202);
    const { id } = first.json<{ id: string }>();
    const again = await submit(api, 'tenant-1', { filters: { campaignId: 'cm-1-1', playbookId: 'pb-1' } });
    expect(again.statusCode).toBe(202);
    expect(again.json<{ id: string }>().id).toBe(id);
    await ready(api, 'tenant-1', id);
    const afterReady = await submit(api, 'tenant-1', { filters: { playbookId: 'pb-1', campaignId: 'cm-1-1' } });
    expect(afterReady.json<{ id: string; status: string }>()).toMatchObject({ id, status: 'ready' });
    // A different range is a different download, and another tenant never gets this one.
    const otherRange = await submit(api, 'tenant-1', {
      to: '2026-11-04T23:59:59.999Z',
      filters: { playbookId: 'pb-1', campaignId: 'cm-1-1' },
    });
    expect(otherRange.statusCode).toBe(202);
    expect(otherRange.json<{ id: string }>().id).not.toBe(id);
    const otherTenant = await submit(api, 'tenant-0', { filters: { playbookId: 'pb-1', campaignId: 'cm-1-1' } });
    expect(otherTenant.statusCode).toBe(202);
    expect(otherTenant.json<{ id: string }>().id).not.toBe(id);
  });
});
