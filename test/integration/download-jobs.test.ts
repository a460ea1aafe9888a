import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DownloadFiles,
  DownloadService,
  DownloadStore,
  INTERRUPTED_TWICE,
  RESTARTED_NOTE,
  downloadRequestsTopic,
  requestMessage,
  type DownloadJob,
} from '../../services/downloads/index.js';
import type { AssignmentEvent, DeliveryEvent, SendingEvent } from '../../services/events/types.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { bearer, buildTestApp } from '../support/api.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { generateEvents } from '../../fixtures/events.js';
import { parseCsv } from '../support/csv.js';
import { ownDownloadTopic } from '../support/downloads.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const RANGE = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-30T23:59:59.999Z' };

const byKey = (a: string[], b: string[]) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : 0);

interface JobView {
  id: string;
  export: string;
  status: string;
  rows: number;
  bytes: number;
  error: string | null;
  createdAt: string;
  expiresAt: string | null;
  file: string | null;
}

/** Jobs handed out through Kafka (a real broker): each service here both queues jobs and, once started, runs them. */
describe('queued downloads', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  /** The file's own requests topic and workers' group, the same for every service of the file. */
  let downloadsConfig: Config;
  let events: SendingEvent[];
  let service: DownloadService | undefined;
  let app: FastifyInstance | undefined;
  const logger = createLogger('silent');

  const truthAssignments = (tenant: string) =>
    events
      .filter((e): e is AssignmentEvent => e.type === 'assignment' && e.tenantId === tenant)
      .map((e) => [e.occurredAt, e.eventId, e.customerId, e.playbookId, e.playbookName, e.campaignId, e.campaignName, e.action])
      .sort(byKey);

  const truthDeliveries = (tenant: string, keep: (e: DeliveryEvent) => boolean) =>
    events
      .filter((e): e is DeliveryEvent => e.type === 'delivery' && e.tenantId === tenant && keep(e))
      .map((e) => [
        e.occurredAt,
        e.eventId,
        e.customerId,
        e.messageId,
        e.channel,
        e.status,
        e.playbookId ?? '',
        e.campaignId ?? '',
        e.reason ?? '',
      ])
      .sort(byKey);

  /** A fresh service (not started: it queues jobs, and runs them once started) and an app over it. */
  async function setUp(
    options: Partial<ConstructorParameters<typeof DownloadService>[0]> = {},
  ): Promise<{ service: DownloadService; app: FastifyInstance }> {
    service = DownloadService.fromConfig(downloadsConfig, clickhouse.client, logger, { pageRows: 5000, ...options });
    const built = await buildTestApp(config, clickhouse.client, {}, logger, { downloads: service });
    app = built;
    return { service, app: built };
  }

  const submit = async (body: object, tenant = 'tenant-0') =>
    app!.inject({ method: 'POST', url: '/v1/downloads', headers: bearer(tenant), payload: body });
  const status = async (id: string, tenant = 'tenant-0') =>
    app!.inject({ method: 'GET', url: `/v1/downloads/${id}`, headers: bearer(tenant) });
  const file = async (id: string, tenant = 'tenant-0') =>
    app!.inject({ method: 'GET', url: `/v1/downloads/${id}/file`, headers: bearer(tenant) });

  async function settled(id: string, tenant = 'tenant-0', timeoutMs = 60_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await status(id, tenant)).json() as JobView;
      if (job.status !== 'queued' && job.status !== 'running') return job;
      if (Date.now() > deadline) throw new Error(`download ${id} still ${job.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    const opened = await openTestClickHouse('download-jobs');
    clickhouse = opened.handle;
    config = opened.config;
    downloadsConfig = ownDownloadTopic(config, 'download-jobs');
    await applyMigrations(clickhouse.client, logger);
    events = generateEvents({ seed: 8, count: 600_000, startMs: START, spanMs: 20 * DAY, tenants: 2 });
    events.push({
      type: 'delivery',
      eventId: 'd-tricky',
      tenantId: 'tenant-1',
      occurredAt: '2026-11-02T00:00:00.000Z',
      customerId: 'c',
      messageId: 'm',
      channel: 'email',
      status: 'bounced',
      playbookId: 'pb-x',
      campaignId: null,
      reason: 'mailbox "full",\r\nretry later',
    });
    await insertEvents(clickhouse.client, events);
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

  it('runs a job from queued to ready; the file holds exactly the rows of the range, and only its tenant sees it', async () => {
    const { service } = await setUp();
    const seen: string[] = [];
    service.on('job', (job: DownloadJob) => seen.push(job.status));
    const accepted = await submit({ export: 'assignments', ...RANGE });
    expect(accepted.statusCode).toBe(202);
    const { id, status: first } = accepted.json() as JobView;
    expect(first).toBe('queued');
    expect(accepted.headers.location).toBe(`/v1/downloads/${id}`);
    // Not started yet: queued, and no file to fetch.
    expect(((await status(id)).json() as JobView).status).toBe('queued');
    const early = await file(id);
    expect(early.statusCode).toBe(404);
    expect(early.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringMatching(/is queued, not ready/) } });

    await service.start();
    const done = await settled(id);
    expect(seen).toEqual(['queued', 'running', 'ready']);
    expect(done).toMatchObject({ id, export: 'assignments', status: 'ready', error: null, file: `/v1/downloads/${id}/file` });
    const truth = truthAssignments('tenant-0');
    expect(done.rows).toBe(truth.length);
    expect(Date.parse(done.expiresAt!) - Date.now()).toBeGreaterThan((config.downloads.ttlHours - 1) * 3_600_000);

    const onDisk = path.join(config.dataDir, 'downloads', 'tenant-0', `${id}.csv`);
    expect(fs.statSync(onDisk).size).toBe(done.bytes);
    const response = await file(id);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
    expect(response.headers['content-disposition']).toBe(
      'attachment; filename="assignments_2026-11-01T000000.000Z_2026-11-30T235959.999Z.csv"',
    );
    const [header, ...rows] = parseCsv(response.body);
    expect(header).toEqual(['occurredAt', 'eventId', 'customerId', 'playbookId', 'playbookName', 'campaignId', 'campaignName', 'action']);
    expect(rows.length).toBe(truth.length);
    expect(rows).toEqual(truth);

    // The same bytes as the streamed export of the same request.
    const streamed = await app!.inject({
      method: 'GET',
      url: `/v1/exports/assignments.csv?from=${RANGE.from}&to=${RANGE.to}`,
      headers: bearer('tenant-0'),
    });
    expect(streamed.rawPayload.equals(response.rawPayload)).toBe(true);

    // Another tenant: 404 for the status and the file, and the job is not in its list.
    for (const response of [await status(id, 'tenant-1'), await file(id, 'tenant-1')]) {
      expect(response.statusCode).toBe(404);
      expect((response.json() as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
    const theirs = (await app!.inject({ method: 'GET', url: '/v1/downloads', headers: bearer('tenant-1') })).json() as {
      downloads: JobView[];
    };
    expect(theirs.downloads.map((job) => job.id)).not.toContain(id);
  });

  it('writes deliveries with filters, values with commas, quotes and line breaks intact; lists jobs newest first', async () => {
    const { service } = await setUp();
    await service.start();
    const ids: string[] = [];
    for (const filters of [{ channel: 'email', status: 'bounced' }, { status: 'sent' }]) {
      const accepted = await submit({ export: 'deliveries', ...RANGE, filters }, 'tenant-1');
      expect(accepted.statusCode).toBe(202);
      ids.push((accepted.json() as JobView).id);
    }
    const campaigns = await submit({ export: 'campaigns', ...RANGE, filters: { playbookId: 'pb-1' } }, 'tenant-1');
    ids.push((campaigns.json() as JobView).id);
    const outreachCampaigns = await submit({ export: 'outreach-campaigns', ...RANGE }, 'tenant-1');
    expect(outreachCampaigns.statusCode).toBe(202);
    const outreachCampaignsId = (outreachCampaigns.json() as JobView).id;
    for (const id of [...ids, outreachCampaignsId]) expect((await settled(id, 'tenant-1')).status).toBe('ready');
    // The queued file of outreach per campaign is the streamed export, byte for byte.
    const streamed = await app!.inject({
      method: 'GET',
      url: `/v1/exports/outreach-campaigns.csv?from=${RANGE.from}&to=${RANGE.to}`,
      headers: bearer('tenant-1'),
    });
    expect(streamed.statusCode).toBe(200);
    expect((await file(outreachCampaignsId, 'tenant-1')).body).toBe(streamed.body);
    expect(parseCsv(streamed.body).length).toBeGreaterThan(1);

    const bounced = parseCsv((await file(ids[0]!, 'tenant-1')).body);
    const truth = truthDeliveries('tenant-1', (e) => e.channel === 'email' && e.status === 'bounced');
    expect(bounced.slice(1)).toEqual(truth);
    expect(bounced.slice(1)).toContainEqual([
      '2026-11-02T00:00:00.000Z',
      'd-tricky',
      'c',
      'm',
      'email',
      'bounced',
      'pb-x',
      '',
      'mailbox "full",\r\nretry later',
    ]);
    expect(parseCsv((await file(ids[1]!, 'tenant-1')).body).length - 1).toBe(
      truthDeliveries('tenant-1', (e) => e.status === 'sent').length,
    );
    const table = parseCsv((await file(ids[2]!, 'tenant-1')).body);
    const metrics = (
      await app!.inject({
        method: 'GET',
        url: `/v1/metrics/campaigns?from=${RANGE.from}&to=${RANGE.to}&playbookId=pb-1`,
        headers: bearer('tenant-1'),
      })
    ).json() as { rows: Record<string, unknown>[] };
    expect(table.slice(1)).toEqual(metrics.rows.map((row) => table[0]!.map((column) => String(row[column]))));

    const list = (await app!.inject({ method: 'GET', url: '/v1/downloads', headers: bearer('tenant-1') })).json() as {
      downloads: JobView[];
    };
    const mine = list.downloads.filter((job) => ids.includes(job.id));
    expect(mine.map((job) => job.id)).toEqual([...ids].reverse());
    const created = list.downloads.map((job) => Date.parse(job.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it('rejects bad requests with 400, and too many waiting jobs with 429', async () => {
    await setUp({ maxQueuedPerTenant: 2 });
    const cases: [object, RegExp][] = [
      [{ export: 'deliveries', ...RANGE, filters: { action: 'entered' } }, /action applies to the assignments export/],
      [{ export: 'assignments', ...RANGE, filters: { channel: 'sms' } }, /channel applies to the deliveries export/],
      [{ export: 'deliveries', ...RANGE, filters: { status: 'opened' } }, /status: "opened" is not one of/],
      [{ export: 'assignments', ...RANGE, filters: { colour: 'blue' } }, /unknown filter colour/],
      [{ export: 'events', ...RANGE }, /export/],
      [{ export: 'assignments', from: RANGE.to, to: RANGE.from }, /is after to/],
      [{ export: 'assignments', from: '2026-11-01', to: RANGE.to }, /from/],
      [{ export: 'assignments', ...RANGE, tenantId: 'tenant-1' }, /tenantId/],
    ];
    for (const [body, message] of cases) {
      const response = await submit(body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect((response.json() as { error: { message: string } }).error.message).toMatch(message);
    }
    // The service is not started: jobs wait, and a third one is refused (three different
    // downloads: an identical one would be answered with the waiting job).
    expect((await submit({ export: 'outreach', ...RANGE, filters: { playbookId: 'pb-0' } })).statusCode).toBe(202);
    expect((await submit({ export: 'outreach', ...RANGE, filters: { playbookId: 'pb-1' } })).statusCode).toBe(202);
    const refused = await submit({ export: 'outreach', ...RANGE, filters: { playbookId: 'pb-2' } });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    expect((await submit({ export: 'outreach', ...RANGE }, 'tenant-1')).statusCode).toBe(202);
    expect((await status('no-such-id')).statusCode).toBe(404);
  });

  it('a stop in the middle of a job abandons it cleanly and a new service on the same data dir finishes it', async () => {
    const { service: first } = await setUp({ pageRows: 2000 });
    await first.start();
    // The same rows as RANGE, asked for differently, so that it is not the ready job of an earlier test.
    const { id } = (await submit({ export: 'assignments', from: RANGE.from, to: '2026-11-30T23:59:59.998Z' })).json() as JobView;
    // Wait until it is running and part of the file is written.
    for (;;) {
      const job = (await status(id)).json() as JobView;
      if (job.status === 'running' && job.rows > 10_000) break;
      expect(job.status).not.toBe('ready');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await app!.close();
    await first.stop();
    const afterStop = (await new DownloadStore(clickhouse.client).get('tenant-0', id))!;
    expect(afterStop.status).toBe('queued');
    const directory = new DownloadFiles(config.dataDir).tenantDirectory('tenant-0');
    expect(fs.readdirSync(directory).filter((name) => name.startsWith(id))).toEqual([]);

    await setUp();
    await service!.start();
    const done = await settled(id);
    expect(done.status).toBe('ready');
    expect(done.rows).toBe(truthAssignments('tenant-0').length);
    expect(parseCsv((await file(id)).body).slice(1)).toEqual(truthAssignments('tenant-0'));
  });

  it('a job left running by a crashed process runs again once its lease ran out; one interrupted twice fails with the reason; never stuck', async () => {
    const store = new DownloadStore(clickhouse.client);
    // Its worker died before the lease ran out; it has not been renewed since.
    const now = Date.now() - config.downloads.leaseMs - 1000;
    const crashed: DownloadJob = {
      id: '00000000-0000-4000-8000-000000000001',
      tenantId: 'tenant-1',
      userId: 'u',
      export: 'deliveries',
      fromMs: Date.parse(RANGE.from),
      toMs: Date.parse(RANGE.to),
      filters: { channel: 'sms' },
      status: 'running',
      rows: 0,
      bytes: 0,
      error: '',
      file: '',
      createdAt: now,
      updatedAt: now,
      version: now * 1000,
    };
    const twice: DownloadJob = { ...crashed, id: '00000000-0000-4000-8000-000000000002', error: RESTARTED_NOTE };
    await store.save(crashed);
    await store.save(twice);
    // A temporary file the crashed process left behind.
    const files = new DownloadFiles(config.dataDir);
    fs.mkdirSync(files.tenantDirectory('tenant-1'), { recursive: true });
    fs.writeFileSync(files.temporary('tenant-1', crashed.id), 'partial');

    await setUp();
    await service!.start();
    expect(fs.existsSync(files.temporary('tenant-1', crashed.id))).toBe(false);
    // Their requests, which the crashed process took and never committed, come to the partition's next owner.
    const producer = createKafka(downloadsConfig, logger, 'download-jobs-crashed').producer();
    await producer.connect();
    await producer.send({ topic: downloadRequestsTopic(downloadsConfig), messages: [crashed, twice].map(requestMessage) });
    await producer.disconnect();
    const rerun = await settled(crashed.id, 'tenant-1');
    expect(rerun.status).toBe('ready');
    expect(rerun.error).toBeNull();
    expect(rerun.rows).toBe(truthDeliveries('tenant-1', (e) => e.channel === 'sms').length);
    const failed = await settled(twice.id, 'tenant-1');
    expect(failed).toMatchObject({ status: 'failed', error: INTERRUPTED_TWICE });
    expect((await file(twice.id, 'tenant-1')).statusCode).toBe(404);
  });

  it('the expiry sweep deletes files older than the TTL and marks their jobs expired', async () => {
    const { service } = await setUp();
    await service.start();
    const { id } = (await submit({ export: 'outreach', ...RANGE })).json() as JobView;
    const ready = await settled(id);
    expect(ready.status).toBe('ready');
    const onDisk = path.join(config.dataDir, 'downloads', 'tenant-0', `${id}.csv`);
    expect(fs.existsSync(onDisk)).toBe(true);
    expect(parseCsv((await file(id)).body)).toHaveLength(13);

    // Just before its expiry (older jobs of the other tests may go): the file stays.
    await service.sweep(Date.parse(ready.expiresAt!) - 1000);
    expect(fs.existsSync(onDisk)).toBe(true);
    expect(((await status(id)).json() as JobView).status).toBe('ready');
    expect(await service.sweep(Date.parse(ready.expiresAt!) + 1000)).toBeGreaterThanOrEqual(1);
    expect(fs.existsSync(onDisk)).toBe(false);
    const expired = (await status(id)).json() as JobView;
    expect(expired).toMatchObject({ status: 'expired', file: null, expiresAt: null });
    expect((await file(id)).statusCode).toBe(404);
  });

  it('runs one job of a tenant at a time (its jobs share a partition), while another tenant’s proceed', async () => {
    const { service } = await setUp({ concurrency: 2, pageRows: 2000 });
    const running = new Map<string, string>();
    let mostOfTenant0 = 0;
    let mostAtOnce = 0;
    let overlapped = false;
    service.on('job', (job: DownloadJob) => {
      if (job.status === 'running') running.set(job.id, job.tenantId);
      else running.delete(job.id);
      const tenant0 = [...running.values()].filter((tenant) => tenant === 'tenant-0').length;
      mostOfTenant0 = Math.max(mostOfTenant0, tenant0);
      mostAtOnce = Math.max(mostAtOnce, running.size);
      if (tenant0 === 1 && running.size === 2) overlapped = true;
    });
    const ids: [string, string][] = [];
    // Three different downloads of tenant-0 (partition 4 of 6) and one of tenant-1 (partition 1).
    const requests: [object, string][] = [
      [{ action: 'entered' }, 'tenant-0'],
      [{ action: 'exited' }, 'tenant-0'],
      [{}, 'tenant-0'],
      [{}, 'tenant-1'],
    ];
    for (const [filters, tenant] of requests) {
      ids.push([((await submit({ export: 'assignments', ...RANGE, filters }, tenant)).json() as JobView).id, tenant]);
    }
    expect(new Set(ids.map(([id]) => id)).size).toBe(4);
    await service.start();
    for (const [id, tenant] of ids) expect((await settled(id, tenant)).status).toBe('ready');
    expect(mostOfTenant0).toBe(1);
    expect(mostAtOnce).toBe(2);
    expect(overlapped).toBe(true);
  });
});
