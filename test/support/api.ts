import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp, type AppDeps } from '../../services/api/app.js';
import { ALL_SCOPES, type Scope } from '../../services/api/auth/scopes.js';
import { signToken } from '../../services/api/auth/tokens.js';
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { Readiness } from '../../services/platform/health.js';
import { createLogger, type Logger } from '../../services/platform/logger.js';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export async function buildTestApp(
  config: Config,
  clickhouse: ClickHouseClient,
  overrides: Partial<Config['api']> = {},
  logger: Logger = createLogger(process.env.LOG_LEVEL ?? 'silent'),
  /** A download service, a page size for exports, a freshness source, an answer cache, kept campaign names, an event publisher, the key set's fetching. */
  extra: Pick<AppDeps, 'downloads' | 'exportPageRows' | 'freshness' | 'answers' | 'names' | 'publisher' | 'jwks'> = {},
): Promise<FastifyInstance> {
  return buildApp({
    config: { ...config, api: { ...config.api, ...overrides } },
    logger,
    clickhouse,
    readiness: new Readiness(),
    registry: new Registry(),
    jwtSecret: TEST_SECRET,
    ...extra,
  });
}

/** An Authorization header with a token of the tenant, carrying every scope unless `scopes` says which. */
export function bearer(
  tenantId: string,
  ttlMs = 3_600_000,
  secret = TEST_SECRET,
  scopes: readonly Scope[] = ALL_SCOPES,
): { authorization: string } {
  return { authorization: `Bearer ${signToken(secret, { tenantId, userId: 'tester', scopes }, ttlMs)}` };
}
