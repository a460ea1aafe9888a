import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../services/api/app.js';
import type { AssignmentEvent } from '../../services/events/types.js';
import { activeQueryStreams, type ClickHouseClient, type ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { Readiness } from '../../services/platform/health.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { bearer, TEST_SECRET } from '../support/api.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { generateEvents, random } from '../../fixtures/events.js';

/** Incremental strict RFC 4180 reader: feed text chunks, get complete records. */
class CsvRecords {
  private record: string[] = [];
  private field = '';
  private state: 'start' | 'plain' | 'quoted' | 'quote' | 'cr' = 'start';

  push(text: string, onRecord: (record: string[]) => void): void {
    const special = /[,\r\n"]/g;
    for (let i = 0; i < text.length; ) {
      const c = text[i]!;
      switch (this.state) {
        case 'start':
        case 'plain': {
          if (c === '"' && this.state === 'start') {
            this.state = 'quoted';
            i += 1;
          } else if (c === ',') {
            this.endField('start');
            i += 1;
          } else if (c === '\r') {
            this.endField('cr');
            i += 1;
          } else if (c === '"' || c === '\n') {
            throw new Error(`unquoted ${JSON.stringify(c)}`);
          } else {
            special.lastIndex = i;
            const end = special.exec(text)?.index ?? text.length;
            this.field += text.slice(i, end);
            this.state = 'plain';
            i = end;
          }
          break;
        }
        case 'quoted': {
          const quote = text.indexOf('"', i);
          const end = quote === -1 ? text.length : quote;
          this.field += text.slice(i, end);
          if (quote !== -1) this.state = 'quote';
          i = end + (quote === -1 ? 0 : 1);
          break;
        }
        case 'quote':
          if (c === '"') {
            this.field += '"';
            this.state = 'quoted';
          } else if (c === ',') this.endField('start');
          else if (c === '\r') this.endField('cr');
          else throw new Error(`${JSON.stringify(c)} after a closing quote`);
          i += 1;
          break;
        case 'cr':
          if (c !== '\n') throw new Error('CR without LF');
          onRecord(this.record);
          this.record = [];
          this.state = 'start';
          i += 1;
          break;
      }
    }
  }

  /** True when the text ended exactly after a record's CRLF. */
  get complete(): boolean {
    return this.state === 'start' && this.field === '' && this.record.length === 0;
  }

  private endField(next: 'start' | 'cr'): void {
    this.record.push(this.field);
    this.field = '';
    this.state = next;
  }
}

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const ROWS = 1_000_000;
const RANGE = 'from=2026-11-01T00:00:00.000Z&to=2026-11-30T23:59:59.999Z';

/** 1M assignments of one tenant, some names with commas and quotes, in random time order. */
function bigTenantEvents(): AssignmentEvent[] {
  const next = random(99);
  const events: AssignmentEvent[] = [];
  for (let i = 0; i < ROWS; i += 1) {
    const p = i % 7;
    const c = i % 11;
    events.push({
      type: 'assignment',
      eventId: `big-${i.toString(36)}`,
      tenantId: 'big',
      occurredAt: new Date(START + Math.floor(next() * 20 * DAY)).toISOString(),
      customerId: `c-${Math.floor(next() * 100_000)}`,
      playbookId: `pb-${p}`,
      playbookName: p === 3 ? 'Win-back, "VIP"' : `Playbook ${p}`,
      campaignId: `cm-${p}-${c}`,
      campaignName: `Campaign ${c}`,
      action: next() < 0.6 ? 'entered' : 'exited',
    });
  }
  return events;
}

/** Counts the client's query/exec calls, with when each started. */
function countingClient(client: ClickHouseClient, starts: number[]): ClickHouseClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'query' || property === 'exec') {
        return (...args: unknown[]) => {
          starts.push(performance.now());
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

describe('exports of a million rows', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let expected: string[][];
  const apps: FastifyInstance[] = [];

  const app = async (client: ClickHouseClient, exportPageRows?: number) => {
    const built = await buildApp({
      config,
      logger: createLogger('silent'),
      clickhouse: client,
      readiness: new Readiness(),
      registry: new Registry(),
      jwtSecret: TEST_SECRET,
      exportPageRows,
    });
    apps.push(built);
    return built;
  };

  beforeAll(async () => {
    const opened = await openTestClickHouse('export-large');
    clickhouse = opened.handle;
    config = opened.config;
    await applyMigrations(clickhouse.client, createLogger('silent'));
    const events = bigTenantEvents();
    await insertEvents(clickhouse.client, events);
    expected = events
      .map((e) => [e.occurredAt, e.eventId, e.customerId, e.playbookId, e.playbookName, e.campaignId, e.campaignName, e.action])
      .sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : 0));
  });

  afterAll(async () => {
    for (const built of apps) await built.close();
    await clickhouse?.close();
  });

  it('streams 1M rows over HTTP that equal the raw rows exactly, in order', async () => {
    const url = await listen(await app(clickhouse.client));
    const started = performance.now();
    const response = await fetch(`${url}/v1/exports/assignments.csv?${RANGE}`, { headers: bearer('big') });
    expect(response.status).toBe(200);
    const reader = new CsvRecords();
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let header: string[] | undefined;
    let rows = 0;
    const mismatches: string[] = [];
    const onRecord = (record: string[]) => {
      if (!header) {
        header = record;
        return;
      }
      const want = expected[rows];
      if (mismatches.length < 3 && (want === undefined || record.length !== want.length || record.some((value, i) => value !== want[i]))) {
        mismatches.push(`row ${rows}: got ${JSON.stringify(record)}, expected ${JSON.stringify(want)}`);
      }
      rows += 1;
    };
    for await (const chunk of response.body!) reader.push(decoder.decode(chunk, { stream: true }), onRecord);
    reader.push(decoder.decode(), onRecord);
    const seconds = (performance.now() - started) / 1000;
    expect(reader.complete).toBe(true);
    expect(header).toEqual(['occurredAt', 'eventId', 'customerId', 'playbookId', 'playbookName', 'campaignId', 'campaignName', 'action']);
    expect(mismatches).toEqual([]);
    expect(rows).toBe(ROWS);
    console.log(`1M-row export streamed and checked in ${seconds.toFixed(1)} s`);
  });

  it('paged (a wrapped client): a client that disconnects mid-export stops the work: no page query starts more than 1 s later', async () => {
    const starts: number[] = [];
    const url = await listen(await app(countingClient(clickhouse.client, starts), 10_000));
    const pages = ROWS / 10_000;
    let received = 0;
    const disconnectedAt = await new Promise<number>((resolve, reject) => {
      const request = http.get(`${url}/v1/exports/assignments.csv?${RANGE}`, { headers: bearer('big'), agent: false }, (response) => {
        expect(response.statusCode).toBe(200);
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          // Read a few pages at full speed, then go away.
          if (starts.length >= 4 && !request.destroyed) {
            request.destroy();
            resolve(performance.now());
          }
        });
        response.on('error', () => undefined);
      });
      request.on('error', (error) => {
        if (!request.destroyed) reject(error);
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const late = starts.filter((at) => at > disconnectedAt + 1000);
    expect(received).toBeGreaterThan(0);
    expect(late).toEqual([]);
    expect(starts.length).toBeLessThan(pages / 2);
    // The engine is free for everyone else.
    const answer = await clickhouse.client.query({ query: 'SELECT count() AS n FROM assignment_events', format: 'JSONEachRow' });
    expect((await answer.json<{ n: string | number }>()).map((row) => Number(row.n))).toEqual([ROWS]);
  });

  it('streamed: a client that disconnects mid-export cancels the export query at once', async () => {
    // The embedded engine streams the export as one query; with CLICKHOUSE_URL it pages (above).
    if (!clickhouse.target.startsWith('chdb:')) return;
    const url = await listen(await app(clickhouse.client));
    let received = 0;
    let openDuringExport = 0;
    await new Promise<void>((resolve, reject) => {
      const request = http.get(`${url}/v1/exports/assignments.csv?${RANGE}`, { headers: bearer('big'), agent: false }, (response) => {
        expect(response.statusCode).toBe(200);
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= 5_000_000 && !request.destroyed) {
            openDuringExport = activeQueryStreams(clickhouse.client);
            request.destroy();
            resolve();
          }
        });
        response.on('error', () => undefined);
      });
      request.on('error', (error) => {
        if (!request.destroyed) reject(error);
      });
    });
    expect(openDuringExport).toBe(1);
    const deadline = performance.now() + 1000;
    while (activeQueryStreams(clickhouse.client) > 0 && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(activeQueryStreams(clickhouse.client)).toBe(0);
    const answer = await clickhouse.client.query({ query: 'SELECT count() AS n FROM assignment_events', format: 'JSONEachRow' });
    expect((await answer.json<{ n: string | number }>()).map((row) => Number(row.n))).toEqual([ROWS]);
  });

  it('an export does not hold up ingest: a 20k-row insert issued while an export is open, its reader paused, finishes; then the export completes', async () => {
    const url = await listen(await app(clickhouse.client, 20_000));
    const response = await fetch(`${url}/v1/exports/assignments.csv?${RANGE}`, { headers: bearer('big') });
    const reader = response.body!.getReader();
    let bytes = 0;
    // Read the first 5 MB, then stop reading: the export waits on its reader mid-way, its
    // query open (streamed) or between pages (paged).
    while (bytes < 5_000_000) {
      const { done, value } = await reader.read();
      if (done) throw new Error('the export ended before 5 MB');
      bytes += value.length;
    }
    const insertStarted = performance.now();
    await insertEvents(
      clickhouse.client,
      generateEvents({ seed: 3, count: 20_000, startMs: START, spanMs: DAY, tenants: 1 }).map((e) => ({ ...e, tenantId: 'other' })),
    );
    const insertMs = performance.now() - insertStarted;
    const bytesWhenInserted = bytes;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
    }
    console.log(`insert of 20k rows while an export waited on its reader: ${insertMs.toFixed(0)} ms`);
    expect(bytesWhenInserted).toBeLessThan(bytes / 2);
    expect(bytes).toBeGreaterThan(ROWS * 50);
  });
});
