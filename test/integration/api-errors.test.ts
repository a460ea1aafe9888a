import type { FastifyInstance } from 'fastify';
import http from 'node:http';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpsServer } from '../../services/api/server.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { Readiness } from '../../services/platform/health.js';
import { createLogger } from '../../services/platform/logger.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request (no client-side limits), for errors Node's parser answers before Fastify. */
function request(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function errorOf(body: string): { code: string; message: string } {
  const parsed = JSON.parse(body) as { error: { code: string; message: string } };
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(Object.keys(parsed.error).sort()).toEqual(['code', 'message']);
  return parsed.error;
}

describe('one error shape everywhere', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    const opened = await openTestClickHouse('api-errors');
    clickhouse = opened.handle;
    config = opened.config;
    app = await buildTestApp(config, clickhouse.client);
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    await clickhouse?.close();
  });

  it('431: headers larger than the parser allows', async () => {
    const answer = await request(base, 'GET', '/healthz', { 'x-big': 'a'.repeat(40_000) });
    expect(answer.status).toBe(431);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(errorOf(answer.body)).toEqual({ code: 'HEADERS_TOO_LARGE', message: expect.stringMatching(/header/) });
  });

  it('414: a path parameter longer than the router allows', async () => {
    const response = await app.inject({ method: 'GET', url: `/v1/downloads/${'a'.repeat(500)}`, headers: bearer('tenant-0') });
    expect(response.statusCode).toBe(414);
    expect(errorOf(response.body)).toEqual({ code: 'URI_TOO_LONG', message: expect.stringMatching(/too long/) });
  });

  it('400 BAD_URL: a path that is not valid percent-encoding', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/downloads/%E0%A4%A', headers: bearer('tenant-0') });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response.body)).toEqual({ code: 'BAD_URL', message: expect.stringMatching(/not valid percent-encoding/) });
  });

  it('413 and 415: a body too large, a body of the wrong media type', async () => {
    const large = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      headers: { ...bearer('tenant-0'), 'content-type': 'application/json' },
      payload: JSON.stringify({ export: 'assignments', filler: 'x'.repeat(2_000_000) }),
    });
    expect(large.statusCode).toBe(413);
    expect(errorOf(large.body).code).toBe('PAYLOAD_TOO_LARGE');
    const text = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      headers: { ...bearer('tenant-0'), 'content-type': 'application/xml' },
      payload: '<export/>',
    });
    expect(text.statusCode).toBe(415);
    expect(errorOf(text.body)).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringMatching(/application\/json/) });
  });

  it('403, 412 and 416 from the static files: each named by its own code', async () => {
    const forbidden = await app.inject({ method: 'GET', url: '/assets/dashboard.css/..' });
    expect(forbidden.statusCode).toBe(403);
    expect(errorOf(forbidden.body).code).toBe('FORBIDDEN');
    const precondition = await app.inject({ method: 'GET', url: '/assets/dashboard.css', headers: { 'if-match': '"nope"' } });
    expect(precondition.statusCode).toBe(412);
    expect(errorOf(precondition.body).code).toBe('PRECONDITION_FAILED');
    const range = await app.inject({ method: 'GET', url: '/assets/dashboard.css', headers: { range: 'bytes=99999999-' } });
    expect(range.statusCode).toBe(416);
    expect(errorOf(range.body).code).toBe('RANGE_NOT_SATISFIABLE');
  });

  it('405 with Allow for a known path and a method it does not serve; 404 for an unknown path', async () => {
    const trace = await app.inject({ method: 'TRACE', url: '/v1/metrics/campaigns?from=x', headers: bearer('tenant-0') });
    expect(trace.statusCode).toBe(405);
    expect(trace.headers.allow).toBe('GET, HEAD');
    expect(errorOf(trace.body)).toEqual({ code: 'METHOD_NOT_ALLOWED', message: expect.stringMatching(/TRACE.*GET, HEAD/) });
    const remove = await app.inject({ method: 'DELETE', url: '/healthz' });
    expect(remove.statusCode).toBe(405);
    expect(remove.headers.allow).toBe('GET, HEAD');
    const param = await app.inject({ method: 'PUT', url: '/v1/downloads/abc', headers: bearer('tenant-0') });
    expect(param.statusCode).toBe(405);
    expect(param.headers.allow).toMatch(/GET/);
    const unknown = await app.inject({ method: 'TRACE', url: '/nope' });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown.body).code).toBe('NOT_FOUND');
  });

  it('from/to carry the pattern parseInstant accepts; a schema-invalid value such as 0 is a 400 naming the form', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, { get?: { parameters: { name: string; schema: { pattern?: string } }[] } }>;
    };
    const parameters = doc.paths['/v1/metrics/campaigns']!.get!.parameters;
    const pattern = parameters.find((p) => p.name === 'from')!.schema.pattern;
    expect(pattern).toBeDefined();
    expect(parameters.find((p) => p.name === 'to')!.schema.pattern).toBe(pattern);
    const accepts = new RegExp(pattern!);
    for (const good of ['2026-11-01T00:00:00Z', '2026-11-01T00:00:00.123+05:30', '2026-11-01T00:00:00.5-04:00']) {
      expect(accepts.test(good), good).toBe(true);
    }
    for (const bad of ['0', '2026-11-01', '2026-11-01T00:00Z', '2026-11-01T00:00:00', '2026-11-01 00:00:00Z', '2026-11-01T00:00:00+0100']) {
      expect(accepts.test(bad), bad).toBe(false);
    }
    const response = await app.inject({
      method: 'GET',
      url: '/v1/metrics/campaigns?from=0&to=2026-11-02T00:00:00Z',
      headers: bearer('tenant-0'),
    });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response.body)).toEqual({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/^query parameter from: "0" is not an ISO-8601 instant with an offset/),
    });
  });

  it('the documented error answers name the codes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).body;
    expect(doc).toContain('METHOD_NOT_ALLOWED');
    expect(doc).toContain('PAYLOAD_TOO_LARGE');
  });

  it('the ops server answers the same shapes', async () => {
    const ops = await startOpsServer({
      config: { ...config, port: 0 },
      logger: createLogger('silent'),
      readiness: new Readiness(),
      registry: new Registry(),
    });
    try {
      const remove = await request(ops.url, 'DELETE', '/healthz');
      expect(remove.status).toBe(405);
      expect(remove.headers.allow).toBe('GET, HEAD');
      expect(errorOf(remove.body).code).toBe('METHOD_NOT_ALLOWED');
      const big = await request(ops.url, 'GET', '/healthz', { 'x-big': 'a'.repeat(40_000) });
      expect(big.status).toBe(431);
      expect(errorOf(big.body).code).toBe('HEADERS_TOO_LARGE');
      const missing = await request(ops.url, 'GET', '/v1/metrics/outreach');
      expect(missing.status).toBe(404);
      expect(errorOf(missing.body).code).toBe('NOT_FOUND');
    } finally {
      await ops.close();
    }
  });
});
