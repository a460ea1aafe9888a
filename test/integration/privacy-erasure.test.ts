import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadService, ERASED_NOTE } from '../../services/downloads/index.js';
import type { SendingEvent } from '../../services/events/types.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { openClickHouse } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { TIMESERIES_METRICS } from '../../services/reporting/index.js';
import { generateEvents } from '../../fixtures/events.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { bearer, buildTestApp, TEST_SECRET } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { runCli } from '../support/cli.js';
import { parseCsv } from '../support/csv.js';
import { ownDownloadTopic } from '../support/downloads.js';

/**
 * Issue 31's acceptance for erasure: a customer among generated events is erased (the API, then the
 * command line again); no export or download holds their id or a message id of theirs, every metrics
 * answer is the same before and after, `verify` is clean, and the second erasure changes nothing.
 */

const DAY = 86_400_000;
const START = Date.UTC(2026, 9, 1);
const RANGE = { from: '2026-10-01T00:00:00.000Z', to: '2026-10-10T23:59:59.999Z' };
/** Edges inside 15-minute buckets: answered partly from the raw rows the erasure rewrites. */
const RAGGED = { from: '2026-10-01T03:07:11.123Z', to: '2026-10-09T17:41:02.456Z' };
const VICTIM = 'person-42@example.com';
const logger = createLogger('silent');

interface ErasureView {
  id: string;
  state: string;
  rowsChanged: number;
  filesDeleted: number;
  doneAt: string | null;
  error: string | null;
}

describe('erasing a customer', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let dataDir: string;
  let service: DownloadService | undefined;
  let app: FastifyInstance;
  let events: SendingEvent[];
  /** The victim's rows in tenant-0, and the message ids of their deliveries. */
  let victimRows = 0;
  const victimMessages = new Set<string>();

  beforeAll(async () => {
    const opened = await openTestClickHouse('privacy-erasure');
    ({ handle: clickhouse, config, dataDir } = opened);
    await applyMigrations(clickhouse.client, logger);
    events = generateEvents({ seed: 31, count: 40_000, startMs: START, spanMs: 10 * DAY, tenants: 2 });
    // The busiest customer of tenant-0 becomes the victim; the same id in tenant-1 is another person, kept.
    const counts = new Map<string, number>();
    for (const event of events) if (event.tenantId === 'tenant-0') counts.set(event.customerId, (counts.get(event.customerId) ?? 0) + 1);
    const busiest = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    for (const event of events) {
      if (event.customerId !== busiest) continue;
      event.customerId = VICTIM;
      if (event.tenantId !== 'tenant-0') continue;
      victimRows += 1;
      if (event.type === 'delivery') {
        victimMessages.add(event.messageId);
        event.reason = `mailbox of ${VICTIM} is full`;
      }
    }
    expect(victimRows).toBeGreaterThan(5);
    expect(victimMessages.size).toBeGreaterThan(1);
    await insertEvents(clickhouse.client, events);
    service = DownloadService.fromConfig(ownDownloadTopic(config, 'privacy-erasure'), clickhouse.client, logger, { pageRows: 5000 });
    await service.start();
    app = await buildTestApp(config, clickhouse.client, {}, logger, { downloads: service });
  });

  afterAll(async () => {
    await app?.close();
    await service?.stop();
    await clickhouse?.close().catch(() => undefined);
  });

  const get = async (url: string, tenant = 'tenant-0') => {
    const response = await app.inject({ method: 'GET', url, headers: bearer(tenant) });
    expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
    return response;
  };

  /** Every metrics answer of tenant-0, whole but for freshness (which moves with the clock). */
  async function metricsAnswers(): Promise<Record<string, unknown>> {
    const urls: string[] = [];
    for (const range of [RANGE, RAGGED]) {
      const q = `from=${range.from}&to=${range.to}`;
      urls.push(
        `/v1/metrics/campaigns?${q}`,
        `/v1/metrics/outreach?${q}`,
        `/v1/metrics/rates?${q}&compare=previous`,
        `/v1/metrics/outreach/campaigns?${q}&compare=previous`,
        `/v1/metrics/outreach/campaigns?${q}&playbookId=pb-1`,
      );
      for (const metric of TIMESERIES_METRICS) urls.push(`/v1/metrics/timeseries?${q}&metric=${metric}&interval=day&tz=Asia/Kolkata`);
    }
    const answers: Record<string, unknown> = {};
    for (const url of urls) {
      const { freshness, ...answer } = (await get(url)).json() as Record<string, unknown>;
      expect(freshness).toBeDefined();
      answers[url] = answer;
    }
    return answers;
  }

  const exportOf = async (kind: 'assignments' | 'deliveries' | 'campaigns' | 'outreach', tenant = 'tenant-0') =>
    (await get(`/v1/exports/${kind}.csv?from=${RANGE.from}&to=${RANGE.to}`, tenant)).body;

  async function download(kind: string): Promise<string> {
    const accepted = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      headers: bearer('tenant-0'),
      payload: { export: kind, ...RANGE },
    });
    expect(accepted.statusCode, accepted.body).toBe(202);
    const { id } = accepted.json() as { id: string };
    for (;;) {
      const job = (await get(`/v1/downloads/${id}`)).json() as { status: string };
      if (job.status === 'ready') return id;
      expect(['queued', 'running']).toContain(job.status);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The customer ids and message ids of an assignments or deliveries CSV. */
  function idsOf(csv: string): { customers: Set<string>; messages: Set<string> } {
    const [header, ...rows] = parseCsv(csv);
    const customer = header!.indexOf('customerId');
    const message = header!.indexOf('messageId');
    return {
      customers: new Set(rows.map((row) => row[customer]!)),
      messages: new Set(message < 0 ? [] : rows.map((row) => row[message]!)),
    };
  }

  const holdsVictim = (csv: string) => {
    const { customers, messages } = idsOf(csv);
    return csv.includes(VICTIM) || customers.has(VICTIM) || [...victimMessages].some((id) => messages.has(id));
  };

  it('replaces the id everywhere, keeps every answer, and a second erasure (on the command line) changes nothing', async () => {
    const before = await metricsAnswers();
    expect(holdsVictim(await exportOf('assignments'))).toBe(true);
    expect(holdsVictim(await exportOf('deliveries'))).toBe(true);
    const files = {
      assignments: await download('assignments'),
      deliveries: await download('deliveries'),
      campaigns: await download('campaigns'),
    };
    expect(holdsVictim((await get(`/v1/downloads/${files.deliveries}/file`)).body)).toBe(true);

    // Without privacy:write: 403 naming it; a body too large, an unknown field, a missing id: 4xx JSON.
    const reader = bearer('tenant-0', 3_600_000, TEST_SECRET, ['metrics:read', 'events:write', 'alerts:write']);
    const refused = await app.inject({ method: 'POST', url: '/v1/privacy/erasures', headers: reader, payload: { customerId: VICTIM } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({ error: { code: 'FORBIDDEN', message: expect.stringContaining('privacy:write') } });
    const post = (payload: unknown) =>
      app.inject({ method: 'POST', url: '/v1/privacy/erasures', headers: bearer('tenant-0'), payload: payload as object });
    expect((await post({ customerId: 'x'.repeat(2000) })).statusCode).toBe(413);
    for (const payload of [{}, { customerId: '' }, { customerId: VICTIM, tenantId: 'tenant-1' }]) {
      const bad = await post(payload);
      expect(bad.statusCode, bad.body).toBe(400);
      expect((bad.json() as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    }
    expect((await get(`/v1/downloads/${files.deliveries}`)).json()).toMatchObject({ status: 'ready' });

    // Many identical requests at once: one erasure.
    const answers = await Promise.all(Array.from({ length: 6 }, () => post({ customerId: VICTIM })));
    for (const answer of answers) expect(answer.statusCode, answer.body).toBe(202);
    const ids = new Set(answers.map((answer) => (answer.json() as ErasureView).id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(answers[0]!.headers.location).toBe(`/v1/privacy/erasures/${id}`);
    let done: ErasureView;
    for (;;) {
      done = (await get(`/v1/privacy/erasures/${id}`)).json() as ErasureView;
      if (done.state !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(done).toMatchObject({ state: 'done', rowsChanged: victimRows, filesDeleted: 2, error: null });
    expect((await app.inject({ method: 'GET', url: `/v1/privacy/erasures/${id}`, headers: bearer('tenant-1') })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/v1/privacy/erasures/${id}`, headers: reader })).statusCode).toBe(403);

    // Exports: no id of theirs; their rows are there under one token.
    for (const kind of ['assignments', 'deliveries', 'campaigns', 'outreach'] as const)
      expect(holdsVictim(await exportOf(kind))).toBe(false);
    const tokens = [...idsOf(await exportOf('deliveries')).customers, ...idsOf(await exportOf('assignments')).customers].filter((c) =>
      c.startsWith('erased-'),
    );
    expect(new Set(tokens).size).toBe(1);
    // The other tenant's customer of the same id is someone else: untouched.
    expect(
      (await exportOf('deliveries', 'tenant-1')).includes(VICTIM) || (await exportOf('assignments', 'tenant-1')).includes(VICTIM),
    ).toBe(true);

    // Downloads: the two files that held them are deleted and say why; the campaigns file stays; none on disk holds them.
    for (const kind of ['assignments', 'deliveries'] as const) {
      expect((await get(`/v1/downloads/${files[kind]}`)).json()).toMatchObject({ status: 'expired', error: ERASED_NOTE, file: null });
      expect((await app.inject({ method: 'GET', url: `/v1/downloads/${files[kind]}/file`, headers: bearer('tenant-0') })).statusCode).toBe(
        404,
      );
    }
    expect((await get(`/v1/downloads/${files.campaigns}`)).json()).toMatchObject({ status: 'ready' });
    const directory = path.join(dataDir, 'downloads', 'tenant-0');
    for (const name of fs.readdirSync(directory)) expect(holdsVictim(fs.readFileSync(path.join(directory, name), 'utf8'))).toBe(false);
    expect(holdsVictim((await get(`/v1/downloads/${await download('deliveries')}/file`)).body)).toBe(false);

    // Every count and rate the same.
    expect(await metricsAnswers()).toEqual(before);

    // The record: who, when, what, without the id in clear.
    const records = await clickhouse.client.query({ query: 'SELECT * FROM privacy_erasures', format: 'JSONEachRow' });
    const stored = JSON.stringify(await records.json());
    expect(stored).not.toContain(VICTIM);
    expect(stored).toContain('tester');
    // Nor do the mutations the tables keep a record of.
    const mutations = await clickhouse.client.query({
      query: "SELECT command FROM system.mutations WHERE table IN ('assignment_events', 'delivery_events')",
      format: 'JSONEachRow',
    });
    const commands = await mutations.json<{ command: string }>();
    expect(commands.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(commands)).not.toContain(VICTIM);

    // Again on the command line (the embedded engine: this process lets go of it first): nothing left, recorded as such; verify clean.
    await app.close();
    await service?.stop();
    service = undefined;
    await clickhouse.close();
    const env = { DATA_DIR: dataDir, AUTH_JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'warn', INGEST_GROUP_ID: `privacy-erasure-${Date.now()}` };
    const again = await runCli(['erase-customer', '--tenant', 'tenant-0', '--customer', VICTIM], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      /^erasure [0-9a-f-]{36} of tenant tenant-0: 0 raw rows changed, 0 download files deleted \(already erased on /,
    );
    const verify = await runCli(['verify', '--from', '2026-10-01T00:00:00Z', '--to', '2026-10-12T00:00:00Z'], env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain('verify: every rollup equals the raw events');
    const usage = await runCli(['erase-customer', '--tenant', 'tenant-0'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--customer is required/);

    clickhouse = await openClickHouse(config, logger);
    const result = await clickhouse.client.query({
      query: `SELECT * FROM (SELECT customer_hash, rows_changed, files_deleted, state, requested_by, requested_at FROM privacy_erasures
ORDER BY version DESC LIMIT 1 BY id) ORDER BY requested_at`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{
      customer_hash: string;
      rows_changed: string | number;
      files_deleted: number;
      state: string;
      requested_by: string;
    }>();
    expect(rows.map((row) => [Number(row.rows_changed), Number(row.files_deleted), row.state])).toEqual([
      [victimRows, 2, 'done'],
      [0, 0, 'done'],
    ]);
    expect(rows[0]!.customer_hash).toBe(rows[1]!.customer_hash);
    expect(rows[0]!.customer_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[1]!.requested_by).toMatch(/^cli:/);
  });
});
