import crypto from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import * as vocabulary from './vocabulary.js';

const WEB_DIR = path.resolve(import.meta.dirname, '../../web');
const ASSETS_DIR = path.join(WEB_DIR, 'assets');
const UPLOT_DIR = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

/** `/assets/vocabulary.js`: every export of vocabulary.ts as an ES module of constants, for the page's modules. */
export function vocabularyModule(): string {
  const exports = Object.entries(vocabulary).map(([name, value]) => `export const ${name} = ${JSON.stringify(value)};`);
  return `// The server's vocabulary (services/api/routes/web/vocabulary.ts), written when the service starts.\n${exports.join('\n')}\n`;
}

/**
 * GET / — the dashboard page — and its assets, all served by the service itself (no CDN): the
 * page's native ES modules as they are (no build step) and the vocabulary they share with the
 * server, written from the server's constants. The page revalidates on every load (ETag); assets
 * are cached for an hour.
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
  // The constants do not change while the process runs: written once, with an ETag of its bytes.
  const module = vocabularyModule();
  const etag = `"${crypto.createHash('sha256').update(module).digest('base64url').slice(0, 27)}"`;
  app.get('/assets/vocabulary.js', { schema: { hide: true } }, async (request, reply) => {
    reply.headers({ ...securityHeaders, 'cache-control': 'public, max-age=3600', etag });
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('text/javascript; charset=utf-8').send(module);
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    reply.headers({ ...securityHeaders, 'cache-control': 'no-cache' });
    return reply.sendFile('index.html', WEB_DIR, { maxAge: 0, cacheControl: false });
  });
}
