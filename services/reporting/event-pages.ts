import { queryStreamOf, type ClickHouseClient, type QueryStream } from '../platform/clickhouse.js';
import { dateTime64Text, type QueryParams } from '../platform/clickhouse-values.js';
import { neutralizeSql } from './csv-cells.js';
import { EXPORT_COLUMNS, type ExportRequest } from './export-kinds.js';
import { PageFormatError, scanCsvPage } from './page-scan.js';

/**
 * The event exports (assignments, deliveries): one SELECT in the order of the table's sort key,
 *
 *   WHERE tenant_id = {tenant} AND occurred_at >= {from} AND occurred_at <= {to}
 *   ORDER BY occurred_at, event_id
 *
 * with ClickHouse writing the CSV text itself (the columns formatted in SQL). Two ways to run it:
 *
 * - Streamed, where the client can (the embedded engine: queryStreamOf): one query on a chDB
 *   session of its own, read block by block (about 8k rows, 1 MB) as the consumer takes them.
 *   The engine pauses between blocks, so memory stays flat, and the shared connection stays
 *   free: ingest inserts and other queries run beside the export. The rows are one snapshot.
 * - In short keyset pages otherwise (a ClickHouse server, whose HTTP requests should stay
 *   short, or a wrapped client):
 *
 *     ... AND (occurred_at, event_id) >= ({lastAt}, {lastId}) ... LIMIT {skip}, {page}
 *
 *   Each page is one short query read in sort-key order (the engine reads each row once over
 *   all pages); this code only finds the last row's key in it (page-scan.ts). The key is
 *   compared with `>=` and the rows already sent with the same key are skipped (`skip`), so an
 *   event stored twice with the same time and id is exported twice, like the raw table holds
 *   it, even when the two copies straddle a page boundary.
 *
 * Both give the same bytes (test/integration/export-csv.test.ts compares them).
 */

export const DEFAULT_PAGE_ROWS = 50_000;

const CSV_SETTINGS = "SETTINGS output_format_csv_crlf_end_of_line = 1, format_csv_null_representation = ''";

/**
 * Rows per block of a streamed export (about 1 MB of CSV). Each block is engine memory that is
 * freed only when the garbage collector finalizes its chunk, which V8 does not know the size of:
 * with the default 65k-row blocks (7 MB) a slow reader saw +86 to +158 MB of peak RSS; smaller
 * blocks keep it near the paged export's.
 */
const STREAM_BLOCK_ROWS = 8192;

const OCCURRED_AT = "concat(replaceOne(toString(occurred_at), ' ', 'T'), 'Z')";

/** A text column with formula-like cells escaped (csv-cells.ts); the enums and the time cannot start a formula. */
const text = (column: string) => neutralizeSql(column);

const SOURCES = {
  assignments: {
    table: 'assignment_events',
    columns: [
      OCCURRED_AT,
      ...['event_id', 'customer_id', 'playbook_id', 'playbook_name', 'campaign_id', 'campaign_name'].map(text),
      'action',
    ].join(', '),
  },
  deliveries: {
    table: 'delivery_events',
    columns: [
      OCCURRED_AT,
      ...['event_id', 'customer_id', 'message_id'].map(text),
      'channel',
      'status',
      ...['playbook_id', 'campaign_id', 'reason'].map(text),
    ].join(', '),
  },
} as const;

export type EventExportKind = keyof typeof SOURCES;

export function isEventExport(request: ExportRequest): request is ExportRequest & { kind: EventExportKind } {
  return request.kind in SOURCES;
}

/** Where the next page starts: after `ties` rows with the key (at, id) already written. */
interface PageCursor {
  at: string;
  id: string;
  text: Buffer;
  ties: number;
}

/** The WHERE clause and parameters of an export's rows from `cursor` on (from the start of the range without one). */
function eventWhere(
  request: ExportRequest & { kind: EventExportKind },
  cursor: { at: string; id: string } | undefined,
): { where: string; params: QueryParams } {
  const params: QueryParams = { tenantId: request.tenantId, to: dateTime64Text(request.toMs) };
  let where = 'tenant_id = {tenantId:String}';
  if (cursor) {
    params.afterAt = cursor.at;
    params.afterId = cursor.id;
    where +=
      " AND occurred_at >= {afterAt:DateTime64(3, 'UTC')}" +
      " AND (occurred_at, event_id) >= ({afterAt:DateTime64(3, 'UTC')}, {afterId:String})";
  } else {
    params.afterAt = dateTime64Text(request.fromMs);
    where += " AND occurred_at >= {afterAt:DateTime64(3, 'UTC')}";
  }
  where += " AND occurred_at <= {to:DateTime64(3, 'UTC')}";
  const { filters } = request;
  for (const name of ['playbookId', 'campaignId'] as const) {
    if (filters[name] === undefined) continue;
    params[name] = filters[name];
    where += ` AND ${name === 'playbookId' ? 'playbook_id' : 'campaign_id'} = {${name}:String}`;
  }
  for (const name of request.kind === 'assignments' ? (['action'] as const) : (['channel', 'status'] as const)) {
    if (filters[name] === undefined) continue;
    params[name] = filters[name];
    where += ` AND ${name} = {${name}:String}`;
  }
  return { where, params };
}

/** The SQL (without a FORMAT clause: the output format is CSV) and parameters of a whole export, for one streamed query. */
export function eventExportQuery(request: ExportRequest & { kind: EventExportKind }): { query: string; query_params: QueryParams } {
  const source = SOURCES[request.kind];
  const { where, params } = eventWhere(request, undefined);
  const query = `SELECT ${source.columns}
FROM ${source.table}
WHERE ${where}
ORDER BY occurred_at, event_id
${CSV_SETTINGS}, max_block_size = ${STREAM_BLOCK_ROWS}`;
  return { query, query_params: params };
}

/** The SQL and parameters of one page. */
export function eventPageQuery(
  request: ExportRequest & { kind: EventExportKind },
  cursor: { at: string; id: string; ties: number } | undefined,
  pageRows: number,
): { query: string; query_params: QueryParams } {
  const source = SOURCES[request.kind];
  const { where, params } = eventWhere(request, cursor);
  params.skip = cursor?.ties ?? 0;
  params.rows = pageRows;
  const query = `SELECT ${source.columns}
FROM ${source.table}
WHERE ${where}
ORDER BY occurred_at, event_id
LIMIT {skip:UInt64}, {rows:UInt64}
${CSV_SETTINGS}
FORMAT CSV`;
  return { query, query_params: params };
}

/** Runs one page query and returns its whole CSV text (a page is small by construction). */
async function readPage(client: ClickHouseClient, page: { query: string; query_params: QueryParams }): Promise<Buffer> {
  const result = await client.exec(page);
  const chunks: Buffer[] = [];
  for await (const chunk of result.stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

export interface CsvChunk {
  bytes: Buffer;
  rows: number;
}

export interface PageOptions {
  /** Rows per page query. */
  pageRows?: number;
  /** Page through short queries even where the client can stream the export as one query. */
  paged?: boolean;
  /** Once aborted, no further page query starts. */
  signal?: AbortSignal;
  /**
   * The first instant raw events are read at (raw-retention.ts, from RAW_RETENTION_DAYS): the
   * metric tables widen an edge before it to 15 minutes, as the metrics answers do; undefined: none.
   */
  rawEventsFromMs?: number;
}

/**
 * The CSV of an event export: streamed as one query where the client can, else page by page.
 * The first chunk also carries the header row. The next chunk is read only when the consumer
 * asks for it.
 */
export function eventCsvChunks(
  client: ClickHouseClient,
  request: ExportRequest & { kind: EventExportKind },
  options: PageOptions = {},
): AsyncGenerator<CsvChunk> {
  const stream = options.paged ? undefined : queryStreamOf(client);
  return stream ? streamedEventCsvChunks(stream, request, options) : pagedEventCsvChunks(client, request, options);
}

function headerOf(request: ExportRequest): Buffer {
  return Buffer.from(`${EXPORT_COLUMNS[request.kind].join(',')}\r\n`);
}

/** One query, one chunk per block the engine writes (the first with the header row before it). */
async function* streamedEventCsvChunks(
  stream: QueryStream,
  request: ExportRequest & { kind: EventExportKind },
  options: PageOptions,
): AsyncGenerator<CsvChunk> {
  const { query, query_params } = eventExportQuery(request);
  let header: Buffer | undefined = headerOf(request);
  // Returning (or being returned) cancels the query; once aborted no further block is read.
  for await (const chunk of stream(query, query_params, { format: 'CSV' })) {
    if (options.signal?.aborted) return;
    if (chunk.bytes.length === 0) continue;
    if (header) {
      yield { bytes: Buffer.concat([header, chunk.bytes]), rows: chunk.rows };
      header = undefined;
    } else {
      yield chunk;
    }
  }
  if (header) yield { bytes: header, rows: 0 };
}

/** One chunk per page query. */
async function* pagedEventCsvChunks(
  client: ClickHouseClient,
  request: ExportRequest & { kind: EventExportKind },
  options: PageOptions,
): AsyncGenerator<CsvChunk> {
  const pageRows = options.pageRows ?? DEFAULT_PAGE_ROWS;
  let header: Buffer | undefined = headerOf(request);
  let cursor: PageCursor | undefined;
  while (!options.signal?.aborted) {
    const page = await readPage(client, eventPageQuery(request, cursor, pageRows));
    const scan = scanCsvPage(page);
    if (scan.lastKey) {
      if (cursor && scan.lastKey.text.equals(cursor.text)) {
        // The whole page holds the key the previous page ended with.
        cursor.ties += scan.rows;
      } else {
        const at = scan.lastKey.occurredAt;
        if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(at))
          throw new PageFormatError(`unexpected occurredAt ${JSON.stringify(at)} in a CSV page`);
        cursor = { at: `${at.slice(0, 10)} ${at.slice(11, 23)}`, id: scan.lastKey.eventId, text: scan.lastKey.text, ties: scan.tailTies };
      }
    }
    if (header) {
      yield { bytes: page.length === 0 ? header : Buffer.concat([header, page]), rows: scan.rows };
      header = undefined;
    } else if (scan.rows > 0) {
      yield { bytes: page, rows: scan.rows };
    }
    if (scan.rows < pageRows) return;
  }
}
