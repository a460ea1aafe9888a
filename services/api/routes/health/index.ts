import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../../../platform/health.js';

/** /healthz: the process answers. /readyz: every dependency answers (503 naming the failing one otherwise). */
export async function healthRoutes(app: FastifyInstance, options: { readiness: Readiness }): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const report = await options.readiness.report();
    reply.code(report.ok ? 200 : 503);
    return { status: report.ok ? 'ready' : 'not ready', checks: report.checks };
  });
}
