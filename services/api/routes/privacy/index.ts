import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ErasureRecord, ErasureService } from '../../../privacy/index.js';
import { notFound } from '../../errors.js';
import { errorResponses } from '../../shared/schemas.js';
import { ErasureBody, ErasureParams, ErasureView } from './schemas.js';

export interface PrivacyRoutesOptions {
  erasures: ErasureService;
}

/** A body is one short id: anything larger is refused (413) before it is read. */
const MAX_BODY_BYTES = 1024;

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function view(record: ErasureRecord): ErasureView {
  return {
    id: record.id,
    state: record.state,
    requestedBy: record.requestedBy,
    requestedAt: iso(record.requestedAt)!,
    doneAt: iso(record.doneAt),
    rowsChanged: record.rowsChanged,
    filesDeleted: record.filesDeleted,
    error: record.error === '' ? null : record.error,
  };
}

/** /v1/privacy/erasures: erasing a customer of the token's tenant (scope privacy:write) and following the request. */
export async function privacyRoutes(app: FastifyInstance, options: PrivacyRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.addHook('onRequest', app.authenticate);

  api.post(
    '/v1/privacy/erasures',
    {
      config: { scope: 'privacy:write' },
      bodyLimit: MAX_BODY_BYTES,
      schema: {
        tags: ['privacy'],
        summary: "Erase a customer's identifiers",
        description:
          "Replaces the customer's id (and their message ids and delivery reasons) in the tenant's raw events by an irreversible token and deletes the download files that hold them; every count and rate stays the same. " +
          'Answers 202 at once; poll GET /v1/privacy/erasures/{id} until state is done. The same customer asked for while a request runs gets that request; asked for again later, a request that finds nothing left (rowsChanged 0). ' +
          'The request is recorded without the id in clear (a keyed hash).',
        body: ErasureBody,
        response: { 202: ErasureView, ...errorResponses(400, 401, 403, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const { tenantId, userId } = request.principal;
      const { record } = await options.erasures.start({ tenantId, customerId: request.body.customerId, requestedBy: userId });
      request.log.info({ tenantId, erasureId: record.id }, 'customer erasure requested');
      return reply.code(202).header('location', `/v1/privacy/erasures/${record.id}`).send(view(record));
    },
  );

  api.get(
    '/v1/privacy/erasures/:id',
    {
      config: { scope: 'privacy:write' },
      schema: {
        tags: ['privacy'],
        summary: 'One erasure request and its state',
        params: ErasureParams,
        response: { 200: ErasureView, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      const record = await options.erasures.get(request.principal.tenantId, request.params.id);
      if (!record) throw notFound(`no erasure ${JSON.stringify(request.params.id)}`);
      return view(record);
    },
  );
}
