import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadService } from '../../services/downloads/index.js';
import type { AssignmentEvent, DeliveryEvent } from '../../services/events/types.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { openExport } from '../../services/reporting/index.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { parseCsv } from '../support/csv.js';
import { waitFor } from '../support/wait-for.js';
import { ownDownloadTopic } from '../support/downloads.js';

/**
 * CSV formula injection (OWASP): a text cell starting with =, +, -, @, a tab or a carriage return
 * is written with a leading single quote, quoted, in every export kind and in downloads; counts
 * stay plain numbers; the keyset pages still export every row exactly once.
 */
const FORMULAS = [
  '=HYPERLINK("http://x.example","y")',
  "=cmd|' /C calc'!A0",
  '+1+1',
  '-2+3',
  '@SUM(A1)',
  '\tTAB',
  '\rCR',
  "'=already quoted",
];
const PAGE_ROWS = 2;
const FROM = '2026-11-01T00:00:00.000Z';
const TO = '2026-11-30T23:59:59.999Z';
const escaped = (text: string) => `'${text}`;
const DANGEROUS = /^[=+\-@\t\r]/;

const assignments: AssignmentEvent[] = FORMULAS.map((formula, index) => ({
  type: 'assignment',
  eventId: `${formula}#${index}`,
  tenantId: 'acme',
  occurredAt: `2026-11-03T10:00:00.00${index % 3}Z`,
  customerId: formula,
  playbookId: `${formula}pb`,
  playbookName: formula,
  campaignId: `${formula}cm${index}`,
  campaignName: formula,
  action: 'entered',
}));

const deliveries: DeliveryEvent[] = FORMULAS.map((formula, index) => ({
  type: 'delivery',
  eventId: `${formula}#d${index}`,
  tenantId: 'acme',
  occurredAt: `2026-11-03T11:00:00.00${index % 3}Z`,
  customerId: formula,
  messageId: formula,
  channel: 'email',
  status: 'bounced',
  playbookId: `${formula}pb`,
  campaignId: `${formula}cm${index}`,
  reason: formula,
}));

describe('CSV formula injection', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;
  let downloads: DownloadService;

  beforeAll(async () => {
    const opened = await openTestClickHouse('formula-injection');
    clickhouse = opened.handle;
    const logger = createLogger('silent');
    await applyMigrations(clickhouse.client, logger);
    await insertEvents(clickhouse.client, [...assignments, ...deliveries]);
    downloads = DownloadService.fromConfig(ownDownloadTopic(opened.config, 'formula-injection'), clickhouse.client, logger, {
      pageRows: PAGE_ROWS,
    });
    await downloads.start();
    app = await buildTestApp(opened.config, clickhouse.client, {}, logger, { exportPageRows: PAGE_ROWS, downloads });
  });

  afterAll(async () => {
    await app?.close();
    await downloads?.stop();
    await clickhouse?.close();
  });

  async function exported(kind: string): Promise<{ text: string; rows: string[][] }> {
    const response = await app.inject({ url: `/v1/exports/${kind}.csv?from=${FROM}&to=${TO}`, headers: bearer('acme') });
    expect(response.statusCode).toBe(200);
    return { text: response.body, rows: parseCsv(response.body) };
  }

  async function downloaded(kind: string): Promise<{ text: string; rows: string[][] }> {
    const submitted = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      headers: bearer('acme'),
      payload: { export: kind, from: FROM, to: TO },
    });
    expect(submitted.statusCode).toBe(202);
    const { id } = submitted.json<{ id: string }>();
    const done = await waitFor(
      `download ${id} to be ready`,
      async () => {
        const job = (await app.inject({ url: `/v1/downloads/${id}`, headers: bearer('acme') })).json<{
          status: string;
          error: string | null;
        }>();
        return job.status === 'ready' || job.status === 'failed' ? job : undefined;
      },
      60_000,
      100,
    );
    expect(done, `download ${id} ${done.status}: ${done.error}`).toMatchObject({ status: 'ready' });
    const file = await app.inject({ url: `/v1/downloads/${id}/file`, headers: bearer('acme') });
    expect(file.statusCode).toBe(200);
    return { text: file.body, rows: parseCsv(file.body) };
  }

  /** No cell starts a formula, every formula-like text came out escaped and quoted in the raw text. */
  function expectSafe({ text, rows }: { text: string; rows: string[][] }): void {
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(DANGEROUS);
    for (const formula of FORMULAS) {
      if (rows.some((row) => row.includes(escaped(formula)))) {
        expect(text).toContain(`"${escaped(formula).replaceAll('"', '""')}`);
      }
    }
  }

  it(`the keyset pages of ${PAGE_ROWS} (their cursor read back from escaped ids) give the bytes of the streamed export`, async () => {
    for (const kind of ['assignments', 'deliveries'] as const) {
      const bytes = async (paged: boolean) => {
        const request = { kind, tenantId: 'acme', fromMs: Date.parse(FROM), toMs: Date.parse(TO), filters: {} };
        const opened = await openExport(clickhouse.client, request, { paged, pageRows: PAGE_ROWS });
        const chunks: Buffer[] = [];
        for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString('utf8');
      };
      const paged = await bytes(true);
      expect(parseCsv(paged)).toHaveLength(FORMULAS.length + 1);
      expect(await bytes(false)).toBe(paged);
    }
  });

  for (const source of ['export', 'download'] as const) {
    const read = (kind: string) => (source === 'export' ? exported(kind) : downloaded(kind));

    it(`${source}: assignments.csv escapes every text column and keeps every row once across pages of ${PAGE_ROWS}`, async () => {
      const csv = await read('assignments');
      expectSafe(csv);
      const body = csv.rows.slice(1);
      expect(body).toHaveLength(assignments.length);
      expect(new Set(body.map((row) => row[1])).size).toBe(assignments.length);
      for (const event of assignments) {
        const row = body.find((cells) => cells[1] === escaped(event.eventId) || cells[1] === event.eventId)!;
        expect(row.slice(1, 7)).toEqual(
          [event.eventId, event.customerId, event.playbookId, event.playbookName, event.campaignId, event.campaignName].map((text) =>
            DANGEROUS.test(text) || text.startsWith("'=") ? escaped(text) : text,
          ),
        );
        expect(row[7]).toBe('entered');
      }
    });

    it(`${source}: deliveries.csv escapes every text column, reason included`, async () => {
      const csv = await read('deliveries');
      expectSafe(csv);
      const body = csv.rows.slice(1);
      expect(body).toHaveLength(deliveries.length);
      for (const event of deliveries) {
        const row = body.find((cells) => cells[1] === escaped(event.eventId) || cells[1] === event.eventId)!;
        expect(row[8]).toBe(escaped(event.reason!));
        expect(row[3]).toBe(escaped(event.messageId));
        expect(row.slice(4, 6)).toEqual(['email', 'bounced']);
      }
    });

    it(`${source}: campaigns.csv escapes names and ids while counts stay numbers`, async () => {
      const csv = await read('campaigns');
      expectSafe(csv);
      const body = csv.rows.slice(1);
      expect(body).toHaveLength(assignments.length);
      for (const row of body) {
        expect(row[1]!.startsWith("'")).toBe(true);
        expect(FORMULAS).toContain(row[1]!.slice(1));
        expect(row[4]).toBe('1');
        expect(row[5]).toBe('0');
      }
      expect(csv.text).not.toMatch(/,"1"/);
    });

    it(`${source}: outreach.csv has plain numeric counts`, async () => {
      const csv = await read('outreach');
      expectSafe(csv);
      const bounced = csv.rows.find((row) => row[0] === 'email' && row[1] === 'bounced');
      expect(bounced?.[2]).toBe(String(deliveries.length));
      for (const row of csv.rows.slice(1)) expect(row[2]).toMatch(/^\d+$/);
    });
  }
});
