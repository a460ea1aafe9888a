import type { ClickHouseClient } from '../platform/clickhouse.js';
import { dateTime64Text, type QueryParams } from '../platform/clickhouse-values.js';
import { neutralizeSql } from './csv-cells.js';
import { EXPORT_COLUMNS, type ExportRequest } from './export-kinds.js';
import { PageFormatError, scanCsvPage } from './page-scan.js';

/**
 * The event exports (assignments, deliveries) as a series of short keyset pages:
 *
 *   WHERE tenant_id = {tenant} AND (occurred_at, event_id) >= ({lastAt}, {lastId}) AND occurred_at <= {to}
 *   ORDER BY occurred_at, event_id LIMIT {skip}, {page}
 *
 * Each page is one short query in the order of the table's sort key, so the embedded engine
 * (one statement at a time) runs ingest inserts and other queries between pages, and no
 * query stays open while the client reads. ClickHouse writes each page as CSV text itself
 * (the columns formatted in SQL); this code only finds the last row's key in it (page-scan.ts).
 *
 * The key is compared with `>=` and the rows already sent with the same key are skipped
 * (`skip`), so an event stored twice with the same time and id is exported twice, like the
 * raw table holds it, even when the two copies straddle a page boundary.
 */

export const DEFAULT_PAGE_ROWS = 50_000;

const CSV_SETTINGS = "SETTINGS output_format_csv_crlf_end_of_line = 1, format_csv_null_representation = ''";

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

/** The SQL and parameters of one page. */
export function eventPageQuery(
  request: ExportRequest & { kind: EventExportKind },
  cursor: { at: string; id: string; ties: number } | undefined,
  pageRows: number,
): { query: string; query_params: QueryParams } {
  const source = SOURCES[request.kind];
  const params: QueryParams = {
    tenantId: request.tenantId,
    to: dateTime64Text(request.toMs),
    skip: cursor?.ties ?? 0,
    rows: pageRows,
  };
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
  /** Once aborted, no further page query starts. */
  signal?: AbortSignal;
}

/**
 * The CSV of an event export, one chunk per page; the first chunk also carries the header
 * row. The next page is queried only when the consumer asks for the next chunk.
 */
export async function* eventCsvChunks(
  client: ClickHouseClient,
  request: ExportRequest & { kind: EventExportKind },
  options: PageOptions = {},
): AsyncGenerator<CsvChunk> {
  const pageRows = options.pageRows ?? DEFAULT_PAGE_ROWS;
  let header: Buffer | undefined = Buffer.from(`${EXPORT_COLUMNS[request.kind].join(',')}\r\n`);
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
