import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

/** Every route that takes a body checks the token before it reads one: an unauthenticated request costs almost nothing. */

let clickhouse: ClickHouseHandle;
let app: FastifyInstance;

beforeAll(async () => {
  const opened = await openTestClickHouse('api-auth-before-body');
  clickhouse = opened.handle;
  await applyMigrations(clickhouse.client, createLogger('silent'));
  app = await buildTestApp(opened.config, clickhouse.client);
});

afterAll(async () => {
  await app?.close();
  await clickhouse?.close();
});

describe('the token is checked before the body is read', () => {
  for (const [method, url] of [
    ['POST', '/v1/downloads'],
    ['PUT', '/v1/alerts/rules'],
  ] as const) {
    it(`${method} ${url}: a large body with a bad token is 401, and the body is never read`, async () => {
      const size = 960 * 1024; // under the routes' body limits
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let pulled = 0;
      const body = new Readable({
        read() {
          if (pulled >= size) return this.push(null);
          pulled += chunk.length;
          this.push(chunk);
        },
      });
      const response = await app.inject({
        method,
        url,
        headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json', 'content-length': String(size) },
        payload: body,
      });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('UNAUTHORIZED');
      // At most what the stream buffers ahead on its own; a body that was read would be all of it.
      expect(pulled).toBeLessThanOrEqual(256 * 1024);
    });
  }
});
