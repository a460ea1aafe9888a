import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from './app.js';

/** Listens on HOST:PORT; close() stops accepting and waits for in-flight requests. */
export async function startServer(deps: AppDeps): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const app = await buildApp(deps);
  const address = await app.listen({ port: deps.config.port, host: deps.config.host });
  const url = address.replace('[::1]', 'localhost');
  return { app, url, close: () => app.close() };
}
