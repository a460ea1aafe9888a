import path from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

const WEB_DIR = path.resolve(import.meta.dirname, '../../web');
const ASSETS_DIR = path.join(WEB_DIR, 'assets');
const UPLOT_DIR = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

/**
 * GET / — the dashboard page — and its assets, all served by the service itself (no CDN).
 * The page revalidates on every load (ETag); assets are cached for an hour.
 */
export async function webRoutes(app: FastifyInstance): Promise<void> {
  const securityHeaders = {
    'content-security-policy':
      "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  await app.register(fastifyStatic, {
    root: ASSETS_DIR,
    prefix: '/assets/',
    maxAge: '1h',
    etag: true,
    index: false,
    setHeaders: (res) => {
      for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value);
    },
  });
  await app.register(fastifyStatic, {
    root: UPLOT_DIR,
    prefix: '/assets/vendor/',
    decorateReply: false,
    maxAge: '1d',
    etag: true,
    allowedPath: (pathname) => pathname === '/uPlot.iife.min.js' || pathname === '/uPlot.min.css',
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    reply.headers({ ...securityHeaders, 'cache-control': 'no-cache' });
    return reply.sendFile('index.html', WEB_DIR, { maxAge: 0, cacheControl: false });
  });
}
