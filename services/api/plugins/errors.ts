import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, codeForStatus } from '../errors.js';

/** Maps every failure to `{"error":{"code","message"}}`; validation failures name the parameter. */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
    });
    app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
      if (error instanceof ApiError) {
        reply
          .headers(error.headers)
          .code(error.statusCode)
          .send({ error: { code: error.code, message: error.message } });
        return;
      }
      if ((error as FastifyError).validation) {
        const context = (error as FastifyError).validationContext ?? 'request';
        const first = (error as FastifyError).validation?.[0];
        const where = first?.instancePath
          ? first.instancePath.replace(/^\//, '').replace(/\//g, '.')
          : ((first?.params as { missingProperty?: string; additionalProperty?: string } | undefined)?.missingProperty ??
            (first?.params as { additionalProperty?: string } | undefined)?.additionalProperty);
        const message = where ? `${context} parameter ${where}: ${first?.message ?? 'is not valid'}` : `${context}: ${error.message}`;
        reply.code(400).send({ error: { code: 'BAD_REQUEST', message } });
        return;
      }
      const status = (error as FastifyError).statusCode;
      if (status && status >= 400 && status < 500) {
        reply.code(status).send({ error: { code: codeForStatus(status), message: error.message } });
        return;
      }
      request.log.error({ err: error }, 'request failed');
      reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error; see the service log' } });
    });
  },
  { name: 'errors' },
);
