/**
 * Export throughput: N assignment rows (default 5M) loaded into a fresh embedded engine in a
 * temporary DATA_DIR, then
 *   1. exported through the service: GET /v1/exports/assignments.csv over a real port by a
 *      client in another process, the stream consumed as it arrives — rows/s, MB/s and the
 *      service process's peak RSS growth (sampled every 50 ms);
 *   2. the bound: the engine's own CSV output of the same rows (same columns, order and
 *      settings) as one streaming query through chDB's queryStream;
 *      1 and 2 run in alternating pairs (--pairs, default 3); the ratio is the median pair's;
 *   3. ingest alongside: the insert rate into the raw tables in batches of 20k rows through
 *      the ingest's write step, idle and while the same export runs;
 *   4. a queued download's file: the same export written by the download storage to the local
 *      disk, then to S3 (the project's SeaweedFS on loopback, deploy/s3/s3.sh; skipped with
 *      --no-s3), each with its rate and peak RSS growth.
 * Last line: RESULT export_rows_per_s=<n> ratio_to_bound=<r> peak_rss_mb=<m> [s3_rows_per_s=<n> s3_to_disk=<r> s3_peak_rss_mb=<m>]
 *
 * The embedded engine streams an event export as one query (services/reporting/event-pages.ts);
 * --page-rows sizes the keyset pages used where it cannot (a ClickHouse server).
 *
 *   node --expose-gc --import tsx bench/export.ts [--rows 5000000] [--page-rows 20000] [--pairs 3] [--no-s3]
 *   (--expose-gc: a collection before each measured phase, so that its peak RSS growth is its own)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { buildApp } from '../services/api/app.js';
import { signToken } from '../services/api/auth/tokens.js';
import { DEFAULT_PAGE_ROWS, eventPageQuery, openExport } from '../services/reporting/index.js';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { LocalDownloadStorage, type DownloadStorage } from '../services/downloads/download-storage.js';
import { S3DownloadStorage } from '../services/downloads/s3-storage.js';
import type { AssignmentEvent, DeliveryEvent } from '../services/events/types.js';
import { createWriteStep, type WritableEvent } from '../services/ingest/steps/write.js';
import { openClickHouse, queryStreamOf } from '../services/platform/clickhouse.js';
import { loadConfig } from '../services/platform/config.js';
import { Readiness } from '../services/platform/health.js';
import { createLogger } from '../services/platform/logger.js';
import { applyMigrations } from '../services/migrations/migrate.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '5000000' },
    'page-rows': { type: 'string', default: String(DEFAULT_PAGE_ROWS) },
    'no-s3': { type: 'boolean', default: false },
    pairs: { type: 'string', default: '3' },
  },
});
const ROWS = Number(values.rows);
const PAGE_ROWS = Number(values['page-rows']);
if (
  !Number.isInteger(ROWS) ||
  ROWS < 1 ||
  !Number.isInteger(PAGE_ROWS) ||
  PAGE_ROWS < 1 ||
  !Number.isInteger(Number(values.pairs)) ||
  Number(values.pairs) < 1
) {
  console.error(
    'usage: node --expose-gc --import tsx bench/export.ts [--rows N] [--page-rows N] [--pairs N] [--no-s3]  (whole numbers ≥ 1)',
  );
  process.exit(2);
}

const TENANT = 'bench';
const SECRET = 'bench-secret-bench-secret-bench-secret-0123';
const FROM = '2026-11-01T00:00:00.000Z';
const TO = '2026-11-30T23:59:59.999Z';
const INSERT_BATCH = 20_000;
const MB = 1024 * 1024;
const ROUNDS = Number(values.pairs);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-export-'));
const config = loadConfig({ ...process.env, DATA_DIR: dataDir, CLICKHOUSE_URL: undefined, LOG_LEVEL: 'warn' });
const logger = createLogger('warn');

// The client exactly as the service opens it (embedded: one serialized chDB connection, and a
// session of its own for each streamed export).
const handle = await openClickHouse(config, logger);
const client = handle.client;
// A second session on the same engine and path, for chDB's own streaming output (the bound).
const { Session } = await import('chdb');
const boundSession = new Session(config.clickhouseDataPath);

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** Samples the process RSS every 50 ms; peak growth over the baseline taken at start(). */
class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private baseline = 0;
  private peak = 0;
  start(): void {
    this.baseline = process.memoryUsage().rss;
    this.peak = this.baseline;
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage().rss);
    }, 50);
  }
  stop(): number {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
    return (this.peak - this.baseline) / MB;
  }
}

async function load(): Promise<void> {
  const started = performance.now();
  const chunk = 1_000_000;
  for (let offset = 0; offset < ROWS; offset += chunk) {
    const count = Math.min(chunk, ROWS - offset);
    await client.command({
      query: `INSERT INTO assignment_events (tenant_id, occurred_at, event_id, customer_id, playbook_id, playbook_name, campaign_id, campaign_name, action, kafka_partition, kafka_offset)
SELECT
  {tenant:String},
  toDateTime64('2026-11-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(cityHash64(n, 1) % (30 * 86400000)),
  lower(hex(cityHash64(n, 2))) || '-' || toString(n),
  'cust-' || toString(cityHash64(n, 3) % 200000),
  'pb-' || toString(n % 12),
  multiIf(n % 12 = 3, 'Win-back, "VIP"', n % 12 = 7, 'Onboarding — été', 'Playbook ' || toString(n % 12)),
  'cm-' || toString(n % 12) || '-' || toString(n % 9),
  'Campaign ' || toString(n % 9) || if(n % 9 = 4, ', reminder', ''),
  if(cityHash64(n, 4) % 10 < 6, 'entered', 'exited'),
  toUInt32(n % 6),
  n
FROM (SELECT number + {offset:UInt64} AS n FROM numbers({count:UInt64}))`,
      query_params: { tenant: TENANT, offset, count },
    });
  }
  await client.command({ query: 'OPTIMIZE TABLE assignment_events FINAL' });
  console.log(`loaded ${ROWS} assignment rows in ${seconds(started).toFixed(1)} s (merged into one part per month)`);
}

/**
 * The HTTP client, in a process of its own so that the service process does nothing but
 * serve: GETs the export, counts bytes and line ends as they arrive (the data holds no line
 * breaks), prints {bytes, lines, ms, cpuMs} (its CPU from the request on, start-up left out).
 */
const CONSUMER = `
const http = require('node:http');
const [url, token] = process.argv.slice(1);
const started = performance.now();
const cpuAtStart = process.cpuUsage();
http.get(url, { headers: { authorization: 'Bearer ' + token } }, (response) => {
  if (response.statusCode !== 200) { console.error('export answered ' + response.statusCode); process.exit(1); }
  let bytes = 0, lines = 0;
  response.on('data', (chunk) => { bytes += chunk.length; for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1; });
  response.on('end', () => { const cpu = process.cpuUsage(cpuAtStart); process.stdout.write(JSON.stringify({ bytes, lines, ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 })); });
}).on('error', (error) => { console.error(error.message); process.exit(1); });
`;

/** GET the export over a real port from another process, consuming it as it arrives. */
async function exportOverHttp(
  baseUrl: string,
  token: string,
): Promise<{ rows: number; bytes: number; seconds: number; cpuSeconds: number; clientCpuSeconds: number }> {
  const cpu = process.cpuUsage();
  const child = spawn(process.execPath, ['-e', CONSUMER, `${baseUrl}/v1/exports/assignments.csv?from=${FROM}&to=${TO}`, token], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the HTTP consumer exited with ${code}`);
  const used = process.cpuUsage(cpu);
  const result = JSON.parse(output) as { bytes: number; lines: number; ms: number; cpuMs: number };
  return {
    rows: result.lines - 1,
    bytes: result.bytes,
    seconds: result.ms / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    clientCpuSeconds: result.cpuMs / 1000,
  };
}

/** The engine's own CSV of the same rows: the same SELECT as one query, streamed by chDB. */
async function bound(): Promise<{ rows: number; bytes: number; seconds: number; cpuSeconds: number }> {
  const request = { kind: 'assignments' as const, tenantId: TENANT, fromMs: Date.parse(FROM), toMs: Date.parse(TO), filters: {} };
  const page = eventPageQuery(request, undefined, ROWS);
  const sql = page.query.replace(/\nFORMAT CSV$/, '');
  const cpu = process.cpuUsage();
  const started = performance.now();
  const stream = boundSession.queryStreamBind(sql, page.query_params, { format: 'CSV' });
  let rows = 0;
  let bytes = 0;
  for await (const chunk of stream) {
    rows += chunk.numRows;
    bytes += chunk.numBytes;
  }
  const used = process.cpuUsage(cpu);
  return { rows, bytes, seconds: seconds(started), cpuSeconds: (used.user + used.system) / 1e6 };
}

function ingestBatches(count: number, prefix: string): WritableEvent[][] {
  const batches: WritableEvent[][] = [];
  for (let b = 0; b < count; b += 1) {
    const batch: WritableEvent[] = [];
    for (let i = 0; i < INSERT_BATCH; i += 1) {
      const n = b * INSERT_BATCH + i;
      const occurredAt = new Date(Date.parse(FROM) + ((n * 7919) % (30 * 86_400_000))).toISOString();
      const event: AssignmentEvent | DeliveryEvent =
        n % 2 === 0
          ? {
              type: 'assignment',
              eventId: `${prefix}-${n}`,
              tenantId: 'ingest',
              occurredAt,
              customerId: `c-${n % 5000}`,
              playbookId: 'pb-1',
              playbookName: 'Onboarding',
              campaignId: 'cm-1',
              campaignName: 'Welcome',
              action: 'entered',
            }
          : {
              type: 'delivery',
              eventId: `${prefix}-${n}`,
              tenantId: 'ingest',
              occurredAt,
              customerId: `c-${n % 5000}`,
              messageId: `m-${n}`,
              channel: 'email',
              status: 'delivered',
              playbookId: 'pb-1',
              campaignId: 'cm-1',
              reason: null,
            };
      batch.push({ event, partition: 0, offset: n });
    }
    batches.push(batch);
  }
  return batches;
}

const writeStep = createWriteStep(client);

/** Writes batches (assignments and deliveries of each batch) until `until` says stop; rows per second. */
async function ingest(
  batches: WritableEvent[][],
  until: () => boolean,
  token: string,
): Promise<{ rows: number; seconds: number; slowestMs: number }> {
  const started = performance.now();
  let rows = 0;
  let slowestMs = 0;
  for (const [index, batch] of batches.entries()) {
    if (until()) break;
    const assignments = batch.filter((row) => row.event.type === 'assignment');
    const deliveries = batch.filter((row) => row.event.type === 'delivery');
    const batchStarted = performance.now();
    await writeStep('assignment_events', assignments, `${token}-${index}-a`);
    await writeStep('delivery_events', deliveries, `${token}-${index}-d`);
    slowestMs = Math.max(slowestMs, performance.now() - batchStarted);
    rows += batch.length;
  }
  return { rows, seconds: seconds(started), slowestMs };
}

const line = (label: string, text: string) => console.log(`${label.padEnd(46)} ${text}`);

/** The export of the range written as a download's file by `storage`: rows, bytes, seconds, peak RSS growth. */
async function toStorage(storage: DownloadStorage, id: string): Promise<{ rows: number; bytes: number; seconds: number; peakMb: number }> {
  global.gc?.();
  const sampler = new RssSampler();
  sampler.start();
  const started = performance.now();
  const opened = await openExport(
    client,
    { kind: 'assignments', tenantId: TENANT, fromMs: Date.parse(FROM), toMs: Date.parse(TO), filters: {} },
    { pageRows: PAGE_ROWS },
  );
  const bytes = await storage.write(TENANT, id, opened.stream, new AbortController().signal);
  const result = { rows: opened.progress.rows, bytes, seconds: seconds(started), peakMb: sampler.stop() };
  if (result.rows !== ROWS) throw new Error(`the file held ${result.rows} rows, expected ${ROWS}`);
  return result;
}

/** The project's S3 server (built once from the Go module proxy), a bucket, and how to stop it. */
async function startS3(): Promise<{ storage: S3DownloadStorage; stop: () => void }> {
  const script = path.join(import.meta.dirname, '../deploy/s3/s3.sh');
  const alreadyUp = spawnSync('bash', [script, 'status'], { stdio: 'ignore' }).status === 0;
  execFileSync('bash', [script, 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const endpoint = `http://127.0.0.1:${process.env.S3_PORT ?? 18333}`;
  process.env.AWS_ACCESS_KEY_ID = process.env.S3_ACCESS_KEY ?? 'sending-metrics-test';
  process.env.AWS_SECRET_ACCESS_KEY = process.env.S3_SECRET_KEY ?? 'sending-metrics-test-secret';
  const admin = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin.send(new CreateBucketCommand({ Bucket: 'sending-metrics-bench' }));
      break;
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') break;
      if (attempt >= 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  admin.destroy();
  const storage = new S3DownloadStorage({ url: new URL(`s3://sending-metrics-bench/run-${Date.now()}/`), endpoint });
  return { storage, stop: () => (alreadyUp ? undefined : void execFileSync('bash', [script, 'stop'], { stdio: 'ignore' })) };
}

try {
  await applyMigrations(client, logger);
  await load();
  const app = await buildApp({
    config,
    logger,
    clickhouse: client,
    readiness: new Readiness(),
    registry: new Registry(),
    jwtSecret: SECRET,
    exportPageRows: PAGE_ROWS,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const token = signToken(SECRET, { tenantId: TENANT, userId: 'bench' }, 3_600_000);

  // Warm-up: the code paths and the page cache.
  await exportOverHttp(baseUrl, token);
  await bound();
  global.gc?.();

  // The machine's speed moves ±20 % from one run to the next (measured on the 2-core machine:
  // the same query 2.2M–3.0M rows/s minutes apart), so the service and the bound are run in
  // alternating pairs and the ratio is the median of the pairs' ratios.
  const pairs: { service: number; bound: number; ratio: number; serviceCpu: number; clientCpu: number; boundCpu: number }[] = [];
  let peakRssMb = 0;
  let serviceBytes = 0;
  let boundBytes = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    global.gc?.();
    const sampler = new RssSampler();
    sampler.start();
    const service = await exportOverHttp(baseUrl, token);
    peakRssMb = Math.max(peakRssMb, sampler.stop());
    if (service.rows !== ROWS) throw new Error(`the export held ${service.rows} rows, expected ${ROWS}`);
    const engine = await bound();
    if (engine.rows !== ROWS) throw new Error(`the bound query returned ${engine.rows} rows, expected ${ROWS}`);
    serviceBytes = service.bytes;
    boundBytes = engine.bytes;
    const serviceRate = service.rows / service.seconds;
    const boundRate = engine.rows / engine.seconds;
    pairs.push({
      service: serviceRate,
      bound: boundRate,
      ratio: serviceRate / boundRate,
      serviceCpu: service.cpuSeconds,
      clientCpu: service.clientCpuSeconds,
      boundCpu: engine.cpuSeconds,
    });
    // CPU: process.cpuUsage() counts every thread of the process (the engine's and the JS thread).
    line(
      `pair ${round + 1}:`,
      `service ${Math.round(serviceRate)} rows/s (CPU ${service.cpuSeconds.toFixed(2)} s + client ${service.clientCpuSeconds.toFixed(2)} s in ${service.seconds.toFixed(2)} s), ` +
        `bound ${Math.round(boundRate)} rows/s (CPU ${engine.cpuSeconds.toFixed(2)} s in ${engine.seconds.toFixed(2)} s), ratio ${(serviceRate / boundRate).toFixed(2)}`,
    );
  }
  const middle = [...pairs].sort((a, b) => a.ratio - b.ratio)[Math.floor(pairs.length / 2)]!;
  const serviceRate = middle.service;
  const boundRate = middle.bound;
  line(
    `service export (HTTP, ${queryStreamOf(client) ? 'one streamed query' : `pages of ${PAGE_ROWS}`}):`,
    `${ROWS} rows, ${(serviceBytes / MB).toFixed(0)} MB at ${Math.round(serviceRate)} rows/s, ${((serviceBytes / MB) * (serviceRate / ROWS)).toFixed(1)} MB/s (the median pair)`,
  );
  line(
    'bound (one chDB streaming query, CSV):',
    `${ROWS} rows, ${(boundBytes / MB).toFixed(0)} MB at ${Math.round(boundRate)} rows/s, ${((boundBytes / MB) * (boundRate / ROWS)).toFixed(1)} MB/s (the median pair)`,
  );
  line(
    'ratio service / bound:',
    `${middle.ratio.toFixed(2)} (median of ${pairs.length} pairs; ${pairs.map((pair) => pair.ratio.toFixed(2)).join(', ')})`,
  );
  line('peak RSS growth during the service export:', `${peakRssMb.toFixed(1)} MB (the largest of the pairs)`);
  // Where the time goes: the CPU each path needs for the same rows, against the machine's cores.
  const cores = os.cpus().length;
  const serviceCores = (middle.serviceCpu + middle.clientCpu) / (ROWS / serviceRate);
  line(
    'CPU per million rows (the median pair):',
    `service ${((middle.serviceCpu / ROWS) * 1e6).toFixed(2)} s + HTTP client ${((middle.clientCpu / ROWS) * 1e6).toFixed(2)} s, bound ${((middle.boundCpu / ROWS) * 1e6).toFixed(2)} s; ` +
      `cores busy: service and client ${serviceCores.toFixed(2)}, bound ${(middle.boundCpu / (ROWS / boundRate)).toFixed(2)} of ${cores}`,
  );

  // A queued download's file: the local disk, then S3.
  const disk = await toStorage(new LocalDownloadStorage(dataDir), 'bench-disk');
  line(
    'download file on the local disk:',
    `${disk.rows} rows, ${(disk.bytes / MB).toFixed(0)} MB in ${disk.seconds.toFixed(2)} s = ${Math.round(disk.rows / disk.seconds)} rows/s, peak RSS +${disk.peakMb.toFixed(1)} MB`,
  );
  let s3Result = '';
  if (!values['no-s3']) {
    const s3 = await startS3();
    try {
      // Untimed: a store that has just started allocates its volumes on the first writes
      // (measured: 14 MB/s for the first 234 MB after a start, 108 MB/s afterwards).
      const warmUp = Buffer.alloc(32 * MB, 'x');
      await s3.storage.write(TENANT, 'bench-s3-warm-up', Readable.from([warmUp]), new AbortController().signal);
      const upload = await toStorage(s3.storage, 'bench-s3');
      const ratio = upload.rows / upload.seconds / (disk.rows / disk.seconds);
      line(
        'download file on S3 (SeaweedFS, loopback):',
        `${upload.rows} rows, ${(upload.bytes / MB).toFixed(0)} MB in ${upload.seconds.toFixed(2)} s = ${Math.round(upload.rows / upload.seconds)} rows/s (${ratio.toFixed(2)} of the disk), peak RSS +${upload.peakMb.toFixed(1)} MB`,
      );
      s3Result = ` s3_rows_per_s=${Math.round(upload.rows / upload.seconds)} s3_to_disk=${ratio.toFixed(2)} s3_peak_rss_mb=${upload.peakMb.toFixed(1)}`;
    } finally {
      s3.stop();
    }
  }

  // Ingest: idle, then while the same export runs.
  const idleBatches = ingestBatches(25, 'idle');
  const busyBatches = ingestBatches(200, 'busy');
  const idle = await ingest(idleBatches, () => false, 'idle');
  line(
    `ingest idle (batches of ${INSERT_BATCH}):`,
    `${idle.rows} rows in ${idle.seconds.toFixed(2)} s = ${Math.round(idle.rows / idle.seconds)} rows/s, slowest batch ${idle.slowestMs.toFixed(0)} ms`,
  );
  let exporting = true;
  const during = exportOverHttp(baseUrl, token).finally(() => {
    exporting = false;
  });
  const busy = await ingest(busyBatches, () => !exporting, 'busy');
  const concurrent = await during;
  line(
    'ingest during the export:',
    `${busy.rows} rows in ${busy.seconds.toFixed(2)} s = ${Math.round(busy.rows / busy.seconds)} rows/s (${(busy.rows / busy.seconds / (idle.rows / idle.seconds)).toFixed(2)} of idle), slowest batch ${busy.slowestMs.toFixed(0)} ms`,
  );
  line(
    'export during the ingest:',
    `${concurrent.rows} rows in ${concurrent.seconds.toFixed(2)} s = ${Math.round(concurrent.rows / concurrent.seconds)} rows/s`,
  );

  await app.close();
  console.log(
    `RESULT export_rows_per_s=${Math.round(serviceRate)} ratio_to_bound=${middle.ratio.toFixed(2)} peak_rss_mb=${peakRssMb.toFixed(1)}${s3Result}`,
  );
} finally {
  boundSession.close();
  await handle.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
