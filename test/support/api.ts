import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp } from '../../services/api/app.js';
import { signToken } from '../../services/api/auth/tokens.js';
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { Readiness } from '../../services/platform/health.js';
import { createLogger } from '../../services/platform/logger.js';
import type { SendingEvent } from '../../services/events/types.js';
import { assignmentRow, deliveryRow, ASSIGNMENT_COLUMNS, DELIVERY_COLUMNS } from '../../services/ingest/steps/write.js';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export async function buildTestApp(config: Config, clickhouse: ClickHouseClient, overrides: Partial<Config['api']> = {}): Promise<FastifyInstance> {
  return buildApp({
    config: { ...config, api: { ...config.api, ...overrides } },
    logger: createLogger(process.env.LOG_LEVEL ?? 'silent'),
    clickhouse,
    readiness: new Readiness(),
    registry: new Registry(),
    jwtSecret: TEST_SECRET,
  });
}

export function bearer(tenantId: string, ttlMs = 3_600_000, secret = TEST_SECRET): { authorization: string } {
  return { authorization: `Bearer ${signToken(secret, { tenantId, userId: 'tester' }, ttlMs)}` };
}

/** Writes events straight into the raw tables (the materialized views fill the rollups), as the ingest does. */
export async function insertEvents(client: ClickHouseClient, events: SendingEvent[]): Promise<void> {
  const assignments = events.filter((e) => e.type === 'assignment').map((event, i) => assignmentRow({ event, partition: 0, offset: i }));
  const deliveries = events.filter((e) => e.type === 'delivery').map((event, i) => deliveryRow({ event, partition: 0, offset: i }));
  for (let i = 0; i < assignments.length; i += 100_000) {
    await client.insert({ table: 'assignment_events', columns: [...ASSIGNMENT_COLUMNS], values: assignments.slice(i, i + 100_000), format: 'JSONCompactEachRow' });
  }
  for (let i = 0; i < deliveries.length; i += 100_000) {
    await client.insert({ table: 'delivery_events', columns: [...DELIVERY_COLUMNS], values: deliveries.slice(i, i + 100_000), format: 'JSONCompactEachRow' });
  }
}
