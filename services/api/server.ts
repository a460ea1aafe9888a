import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { errorServerOptions, errorsPlugin } from './plugins/errors.js';
import { prometheusPlugin } from './plugins/prometheus.js';
import { requestLogPlugin } from './plugins/request-log.js';
import { healthRoutes } from './routes/health/index.js';
import { buildApp, type AppDeps } from './app.js';

/**
 * Closes a listening app with a deadline: it stops accepting at once (idle keep-alive
 * connections are closed), waits up to graceMs for in-flight requests and streams, then
 * destroys the connections still open (a client that stopped reading, a body that never
 * comes) so that closing always ends.
 */
export async function closeWithDeadline(app: FastifyInstance, graceMs: number): Promise<void> {
  const timer = setTimeout(() => {
    app.log.warn({ graceMs }, 'shutdown deadline reached: closing the connections still open');
    app.server.closeAllConnections();
  }, graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}

/** Listens on HOST:PORT; close() stops accepting, waits up to SHUTDOWN_GRACE_MS for in-flight requests, then ends them. */
export async function startServer(deps: AppDeps): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const app = await buildApp(deps);
  const address = await app.listen({ port: deps.config.port, host: deps.config.host });
  const url = address.replace('[::1]', 'localhost');
  return { app, url, close: () => closeWithDeadline(app, deps.config.api.shutdownGraceMs) };
}

/** The operational endpoints alone (/healthz, /readyz, /metrics), for a process without the API. */
export async function startOpsServer(
  deps: Pick<AppDeps, 'config' | 'logger' | 'readiness' | 'registry'>,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'ops' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    ...errorServerOptions,
  });
  await app.register(errorsPlugin);
  await app.register(requestLogPlugin);
  await app.register(prometheusPlugin, { registry: deps.registry });
  await app.register(healthRoutes, { readiness: deps.readiness });
  const address = await app.listen({ port: deps.config.port, host: deps.config.host });
  return { url: address, close: () => closeWithDeadline(app, deps.config.api.shutdownGraceMs) };
}
