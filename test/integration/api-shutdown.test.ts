import http from 'node:http';
import net from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../services/api/server.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { Readiness } from '../../services/platform/health.js';
import { createLogger } from '../../services/platform/logger.js';
import { generateEvents } from '../../fixtures/events.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { bearer, TEST_SECRET } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { waitFor } from '../support/wait-for.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);

/** A client that sends `request` and then reads nothing more once the first bytes arrived. */
function slowClient(port: number, request: string): Promise<{ socket: net.Socket; received: () => number; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = 0;
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(request));
    socket.once('error', reject);
    socket.once('data', (chunk: Buffer) => {
      received += chunk.length;
      socket.pause();
      resolve({ socket, received: () => received, closed });
    });
  });
}

describe('shutdown has a deadline', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;

  beforeAll(async () => {
    const opened = await openTestClickHouse('api-shutdown');
    clickhouse = opened.handle;
    config = opened.config;
    await applyMigrations(clickhouse.client, createLogger('silent'));
    // About 40 MB of CSV: far more than the socket buffers hold.
    const events = generateEvents({ seed: 11, count: 600_000, startMs: START, spanMs: 5 * DAY, tenants: 1 });
    await insertEvents(clickhouse.client, events);
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('close() ends a streamed export to a client that stopped reading, and a request whose body never comes', async () => {
    const server = await startServer({
      config: { ...config, port: 0, host: '127.0.0.1', api: { ...config.api, shutdownGraceMs: 1000 } },
      logger: createLogger('silent'),
      clickhouse: clickhouse.client,
      readiness: new Readiness(),
      registry: new Registry(),
      jwtSecret: TEST_SECRET,
      exportPageRows: 10_000,
    });
    const port = Number(new URL(server.url).port);
    const { authorization } = bearer('tenant-0');
    // What the server sees: the export's response (stalled once the reader stops) and the upload.
    let exportResponse: http.ServerResponse | undefined;
    let uploadStarted = false;
    server.app.server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      if (request.method === 'GET') exportResponse = response;
      if (request.method === 'POST') uploadStarted = true;
    });
    const reader = await slowClient(
      port,
      `GET /v1/exports/assignments.csv?from=2026-11-01T00:00:00Z&to=2026-11-30T00:00:00Z HTTP/1.1\r\nHost: test\r\nAuthorization: ${authorization}\r\n\r\n`,
    );
    // A client that announces a body and sends only part of it.
    const uploader = net.connect(port, '127.0.0.1');
    uploader.on('error', () => undefined);
    const uploaderClosed = new Promise<void>((done) => uploader.once('close', () => done()));
    await new Promise<void>((done) => uploader.once('connect', () => done()));
    uploader.write(
      `POST /v1/downloads HTTP/1.1\r\nHost: test\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"export":`,
    );
    // The export has filled the socket buffers and stalls on the reader; the upload waits for its body.
    await waitFor(
      'the export to stall and the upload to wait for its body',
      () => uploadStarted && exportResponse?.writableNeedDrain,
      60_000,
      10,
    );

    // Without a deadline this never resolves (the test times out).
    await server.close();

    // The stalled connections were ended by the server: reading what is left reaches the end.
    reader.socket.resume();
    reader.socket.on('data', () => undefined);
    await reader.closed;
    await uploaderClosed;
    expect(uploader.destroyed).toBe(true);
  }, 90_000);
});
