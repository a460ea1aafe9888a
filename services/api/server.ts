import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { errorServerOptions, errorsPlugin } from './plugins/errors.js';
import { prometheusPlugin } from './plugins/prometheus.js';
import { healthRoutes } from './routes/health/index.js';
import { buildApp, type AppDeps } from './app.js';

/** Listens on HOST:PORT; close() stops accepting and waits for in-flight requests. */
export async function startServer(deps: AppDeps): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const app = await buildApp(deps);
  const address = await app.listen({ port: deps.config.port, host: deps.config.host });
  const url = address.replace('[::1]', 'localhost');
  return { app, url, close: () => app.close() };
}

/** The operational endpoints alone (/healthz, /readyz, /metrics), for a process without the API. */
export async function startOpsServer(
  deps: Pick<AppDeps, 'config' | 'logger' | 'readiness' | 'registry'>,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ loggerInstance: deps.logger.child({ component: 'ops' }) as FastifyBaseLogger, ...errorServerOptions });
  await app.register(errorsPlugin);
  await app.register(prometheusPlugin, { registry: deps.registry });
  await app.register(healthRoutes, { readiness: deps.readiness });
  const address = await app.listen({ port: deps.config.port, host: deps.config.host });
  return { url: address, close: () => app.close() };
}
