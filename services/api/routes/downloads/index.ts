import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { DownloadJob, DownloadService } from '../../../downloads/index.js';
import { ApiError, badRequest, notFound } from '../../errors.js';
import { exportFileName, filtersProblem, validateExportRequest, type ExportFilters, type ExportKind } from '../../../reporting/index.js';
import { parseRange } from '../../shared/range-params.js';
import { attachment, CsvResponse, errorResponses } from '../../shared/schemas.js';
import { DownloadList, DownloadParams, DownloadRequest, DownloadView } from './schemas.js';

const errors = errorResponses(400, 401, 404, 429, 503);

export interface DownloadsRoutesOptions {
  /** The process's download worker; without one the routes answer 503. */
  downloads: DownloadService | undefined;
  maxRangeDays: number;
}

function view(downloads: DownloadService, job: DownloadJob): DownloadView {
  const expiresAt = downloads.expiresAt(job);
  return {
    id: job.id,
    export: job.export,
    status: job.status,
    from: new Date(job.fromMs).toISOString(),
    to: new Date(job.toMs).toISOString(),
    filters: job.filters as Record<string, string>,
    rows: job.rows,
    bytes: job.bytes,
    error: job.error === '' ? null : job.error,
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
    file: job.status === 'ready' ? `/v1/downloads/${job.id}/file` : null,
  };
}

const missing = (id: string) => notFound(`no download ${JSON.stringify(id)}`);

/** /v1/downloads: queued CSV downloads of the token's tenant. Another tenant's download is always 404. */
export async function downloadsRoutes(app: FastifyInstance, options: DownloadsRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.addHook('onRequest', app.authenticate);
  const service = (): DownloadService => {
    if (!options.downloads) throw new ApiError('UNAVAILABLE', 'downloads are not enabled in this process; use /v1/exports/*.csv');
    return options.downloads;
  };

  api.post(
    '/v1/downloads',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['downloads'],
        summary: 'Queue a CSV download',
        description:
          'Writes the export to a file in the background; poll GET /v1/downloads/{id} until status is ready, then fetch its file. ' +
          'Files are deleted after their time to live (expiresAt).',
        body: DownloadRequest,
        response: { 202: DownloadView, ...errors },
      },
    },
    async (request, reply) => {
      const downloads = service();
      const { fromMs, toMs } = parseRange(request.body, options.maxRangeDays, 'body');
      const kind = request.body.export as ExportKind;
      const filters = (request.body.filters ?? {}) as ExportFilters;
      const problem = filtersProblem(kind, filters);
      if (problem) throw badRequest(`body parameter filters: ${problem}`);
      const submission = { tenantId: request.principal.tenantId, userId: request.principal.userId, export: kind, fromMs, toMs, filters };
      validateExportRequest({ kind: submission.export, ...submission });
      // A refused submission (quota: 429, queue unreachable: 503, each with Retry-After) is a DomainError the error plugin answers.
      const job = await downloads.submit(submission);
      return reply.code(202).header('location', `/v1/downloads/${job.id}`).send(view(downloads, job));
    },
  );

  api.get(
    '/v1/downloads',
    {
      config: { scope: 'metrics:read' },
      schema: { tags: ['downloads'], summary: "The tenant's downloads, newest first", response: { 200: DownloadList, ...errors } },
    },
    async (request) => {
      const downloads = service();
      return { downloads: (await downloads.list(request.principal.tenantId)).map((job) => view(downloads, job)) };
    },
  );

  api.get(
    '/v1/downloads/:id',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['downloads'],
        summary: 'One download and its status',
        params: DownloadParams,
        response: { 200: DownloadView, ...errors },
      },
    },
    async (request) => {
      const downloads = service();
      const job = await downloads.get(request.principal.tenantId, request.params.id);
      if (!job) throw missing(request.params.id);
      return view(downloads, job);
    },
  );

  api.get(
    '/v1/downloads/:id/file',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['downloads'],
        summary: 'The CSV file of a ready download',
        description: '404 unless the download is ready.',
        params: DownloadParams,
        response: { 200: CsvResponse, ...errors },
      },
    },
    (request, typedReply) => {
      // A streamed reply is sent from here; failures go to the error handler.
      const reply = typedReply as FastifyReply;
      (async () => {
        const downloads = service();
        const opened = await downloads.openFile(request.principal.tenantId, request.params.id);
        if (!opened) {
          const job = await downloads.get(request.principal.tenantId, request.params.id);
          if (!job) throw missing(request.params.id);
          throw notFound(
            `download ${JSON.stringify(request.params.id)} is ${job.status}${job.status === 'failed' ? ` (${job.error})` : ''}, not ready`,
          );
        }
        const { job, stream } = opened;
        reply
          .type('text/csv; charset=utf-8; header=present')
          .header('content-disposition', attachment(exportFileName(job.export, job.fromMs, job.toMs)))
          .header('content-length', String(job.bytes))
          .header('cache-control', 'private, no-store')
          .send(stream);
      })().catch((error: Error) => reply.send(error));
    },
  );
}
