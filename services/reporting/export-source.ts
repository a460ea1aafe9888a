import { Readable } from 'node:stream';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { validateRange } from './range.js';
import type { ExportRequest } from './export-kinds.js';
import { eventCsvChunks, isEventExport, type CsvChunk, type PageOptions } from './event-pages.js';
import { metricTableCsvChunks, metricTableRange, type MetricTableKind, type Precision } from './metric-tables.js';

/** Rows and bytes handed to the consumer so far. */
export interface ExportProgress {
  rows: number;
  bytes: number;
}

export interface OpenedExport {
  /** The CSV bytes; reads the next chunk (block or page) only when the consumer has taken the previous one. */
  stream: Readable;
  progress: ExportProgress;
  /** Metric tables only: the grain their counts are exact to (raw-retention.ts); event exports hold the rows still kept. */
  precision?: Precision;
}

/**
 * Checks the range the way the metric queries do (throws a MetricsQueryError, of kind invalid,
 * that the API answers with a 400): the same bounds for every export.
 */
export function validateExportRequest(request: ExportRequest): void {
  validateRange({
    tenantId: request.tenantId,
    fromMs: request.fromMs,
    toMs: request.toMs,
    playbookId: request.filters.playbookId,
    campaignId: request.filters.campaignId,
  });
}

export function exportCsvChunks(client: ClickHouseClient, request: ExportRequest, options: PageOptions = {}): AsyncGenerator<CsvChunk> {
  return isEventExport(request)
    ? eventCsvChunks(client, request, options)
    : metricTableCsvChunks(client, request as ExportRequest & { kind: MetricTableKind }, options.rawEventsFromMs);
}

/**
 * Opens an export as a byte stream with backpressure. The first chunk (header and first block or page)
 * is read before this resolves, so a failing query is still an error response rather than a
 * cut-off file. One chunk is read ahead while the previous one is written out. Destroying the
 * stream, or aborting `options.signal`, stops the work: the streamed query is cancelled, or no
 * page query starts after that.
 */
export async function openExport(client: ClickHouseClient, request: ExportRequest, options: PageOptions = {}): Promise<OpenedExport> {
  validateExportRequest(request);
  const chunks = exportCsvChunks(client, request, options);
  const first = await chunks.next();
  const progress: ExportProgress = { rows: 0, bytes: 0 };
  async function* withFirst(): AsyncGenerator<Buffer> {
    let pending: Promise<IteratorResult<CsvChunk>> | undefined;
    try {
      let next = first;
      while (!next.done) {
        // Read the next chunk while this one is written out: the engine and the socket work
        // at the same time, and at most one chunk is read ahead of what the consumer took.
        pending = options.signal?.aborted ? undefined : chunks.next();
        pending?.catch(() => undefined);
        progress.rows += next.value.rows;
        progress.bytes += next.value.bytes.length;
        yield next.value.bytes;
        if (!pending) return;
        next = await pending;
        pending = undefined;
      }
    } finally {
      await pending?.catch(() => undefined);
      await chunks.return(undefined);
    }
  }
  // Byte mode with a high-water mark of 1: at most one chunk waits in the stream's buffer.
  const stream = Readable.from(withFirst(), { objectMode: false, highWaterMark: 1 });
  const precision = isEventExport(request) ? undefined : metricTableRange(request, options.rawEventsFromMs).precision;
  return { stream, progress, ...(precision ? { precision } : {}) };
}
