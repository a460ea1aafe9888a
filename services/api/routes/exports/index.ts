import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ClickHouseClient } from '../../../platform/clickhouse.js';
import {
  EXPORT_COLUMNS,
  exportFileName,
  openExport,
  rawEventsFrom,
  type ExportFilters,
  type ExportKind,
  type Precision,
} from '../../../reporting/index.js';
import { parseRange } from '../../shared/range-params.js';
import { attachment, CsvResponse, errorResponses } from '../../shared/schemas.js';
import { AssignmentsExportQuerystring, DeliveriesExportQuerystring, MetricTableExportQuerystring } from './schemas.js';

const errors = errorResponses(400, 401, 429, 503);

export interface ExportsRoutesOptions {
  clickhouse: ClickHouseClient;
  maxRangeDays: number;
  /** Rows per page query where the export is read in keyset pages (tests and benchmarks). */
  pageRows?: number;
  /** Days raw events are kept (RAW_RETENTION_DAYS): the metric tables widen an edge before the cut-off, as the metrics answers do. */
  rawRetentionDays?: number;
}

/** `millisecond`, or `15m; from=…; to=…`: the X-Precision header of a metric table (the `precision` of the metrics answers). */
function precisionHeader(precision: Precision): string {
  return precision.edges === 'millisecond' ? 'millisecond' : `15m; from=${precision.from}; to=${precision.to}`;
}

/** /v1/exports/*.csv: streamed CSV of the token's tenant. */
export async function exportsRoutes(app: FastifyInstance, options: ExportsRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.addHook('onRequest', app.authenticate);

  async function open(request: FastifyRequest, reply: FastifyReply, kind: ExportKind): Promise<void> {
    const query = request.query as { from: string; to: string } & ExportFilters;
    const { from: _from, to: _to, ...filters } = query;
    const { fromMs, toMs } = parseRange(query, options.maxRangeDays);
    // A client that goes away stops the export: no further block or page is read after this fires.
    const stop = new AbortController();
    reply.raw.once('close', () => stop.abort());
    const opened = await openExport(
      options.clickhouse,
      { kind, tenantId: request.principal.tenantId, fromMs, toMs, filters },
      { signal: stop.signal, pageRows: options.pageRows, rawEventsFromMs: rawEventsFrom(Date.now(), options.rawRetentionDays) },
    );
    if (opened.precision) reply.header('x-precision', precisionHeader(opened.precision));
    reply
      .type('text/csv; charset=utf-8; header=present')
      .header('content-disposition', attachment(exportFileName(kind, fromMs, toMs)))
      .header('cache-control', 'no-store')
      .send(opened.stream);
  }

  /** A streamed reply is sent from here; a failure before the first byte goes to the error handler. */
  const send = (request: FastifyRequest, reply: FastifyReply, kind: ExportKind): void => {
    open(request, reply, kind).catch((error: Error) => reply.send(error));
  };

  const description = (what: string) =>
    `${what} Range inclusive at both ends, millisecond precision. Streamed: memory stays flat for any size, and a client that disconnects stops the export.`;
  /** A metric table's: its counts are exact to the grain its X-Precision header names. */
  const PRECISION =
    ' The X-Precision header is the precision of the metrics answers: `millisecond`, or `15m; from=…; to=…` when an edge fell before the raw events’ retention cut-off (RAW_RETENTION_DAYS) and the counts run from and to those instants.';

  api.get(
    '/v1/exports/assignments.csv',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['exports'],
        summary: 'Entries and exits as CSV, one row per event',
        description: description(
          'Columns: occurredAt (ISO-8601 UTC with milliseconds), eventId, customerId, playbookId, playbookName, campaignId, campaignName, action (entered or exited); ordered by occurredAt, then eventId.',
        ),
        querystring: AssignmentsExportQuerystring,
        response: { 200: CsvResponse, ...errors },
      },
    },
    (request, reply) => send(request, reply, 'assignments'),
  );

  api.get(
    '/v1/exports/deliveries.csv',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['exports'],
        summary: 'Text messages and emails as CSV, one row per delivery status event',
        description: description(
          'Columns: occurredAt, eventId, customerId, messageId, channel (sms or email), status, playbookId, campaignId, reason (empty when none); ordered by occurredAt, then eventId.',
        ),
        querystring: DeliveriesExportQuerystring,
        response: { 200: CsvResponse, ...errors },
      },
    },
    (request, reply) => send(request, reply, 'deliveries'),
  );

  api.get(
    '/v1/exports/campaigns.csv',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['exports'],
        summary: 'Entries and exits per playbook and campaign as CSV',
        description:
          description('The rows of /v1/metrics/campaigns. Columns: playbookId, playbookName, campaignId, campaignName, entries, exits.') +
          PRECISION,
        querystring: MetricTableExportQuerystring,
        response: { 200: CsvResponse, ...errors },
      },
    },
    (request, reply) => send(request, reply, 'campaigns'),
  );

  api.get(
    '/v1/exports/outreach.csv',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['exports'],
        summary: 'Text messages and emails by status as CSV',
        description:
          description(
            'The counts of /v1/metrics/outreach, one row per channel and status that channel can take, zeros included. Columns: channel, status, count.',
          ) + PRECISION,
        querystring: MetricTableExportQuerystring,
        response: { 200: CsvResponse, ...errors },
      },
    },
    (request, reply) => send(request, reply, 'outreach'),
  );

  api.get(
    '/v1/exports/outreach-campaigns.csv',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['exports'],
        summary: 'Text messages and emails by status, and their rates, per playbook and campaign as CSV',
        description:
          description(
            `The rows of /v1/metrics/outreach/campaigns. Columns: ${EXPORT_COLUMNS['outreach-campaigns'].join(', ')}. Counts are named channel_status; a rate is its exact value (empty when its denominator is 0), its parts being the counts beside it; ids are empty for messages without a playbook or campaign.`,
          ) + PRECISION,
        querystring: MetricTableExportQuerystring,
        response: { 200: CsvResponse, ...errors },
      },
    },
    (request, reply) => send(request, reply, 'outreach-campaigns'),
  );
}
