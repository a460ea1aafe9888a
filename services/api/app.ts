import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';
import type { Readiness } from '../platform/health.js';
import type { Logger } from '../platform/logger.js';
import type { JwksOptions } from './auth/jwks.js';
import { SCOPE_MEANINGS, SCOPES } from './auth/scopes.js';
import { authPlugin } from './plugins/auth.js';
import { bodyEncodingPlugin } from './plugins/body-encoding.js';
import { errorServerOptions, errorsPlugin } from './plugins/errors.js';
import { prometheusPlugin } from './plugins/prometheus.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { requestLogPlugin } from './plugins/request-log.js';
import { healthRoutes } from './routes/health/index.js';
import { metricsRoutes } from './routes/metrics/index.js';
import { webRoutes } from './routes/web/index.js';
import { exportsRoutes } from './routes/exports/index.js';
import { downloadsRoutes } from './routes/downloads/index.js';
import { alertsRoutes } from './routes/alerts/index.js';
import { eventsRoutes } from './routes/events/index.js';
import { webhooksRoutes } from './routes/webhooks/index.js';
import { privacyRoutes } from './routes/privacy/index.js';
import type { EventPublisher } from './shared/publishing.js';
import { downloadStorageFromConfig, type DownloadService } from '../downloads/index.js';
import { ErasureService } from '../privacy/index.js';
import type { AnswerCache, CampaignNames, Freshness } from '../reporting/index.js';
import { freshnessSource } from './shared/freshness.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  clickhouse: ClickHouseClient;
  readiness: Readiness;
  registry: Registry;
  jwtSecret: string;
  /** The process's download worker (started and stopped by its owner); without it /v1/downloads answers 503. */
  downloads?: DownloadService;
  /** Rows per export page query (default 50 000; tests and benchmarks). */
  exportPageRows?: number;
  /** Where metrics answers read their freshness (default: ingest_progress, cached for 1 s). */
  freshness?: () => Promise<Freshness>;
  /** Metrics answers kept per tenant data version (the embedded engine; see reporting/answer-cache.ts). */
  answers?: AnswerCache;
  /** Playbook and campaign names kept per tenant data version (the embedded engine; see reporting/campaign-names.ts). */
  names?: CampaignNames;
  /** Publishes what POST /v1/events and the provider webhooks receive (its owner connects and closes it); without it they answer 503. */
  publisher?: EventPublisher;
  /** Erasure requests (default: one over this app's ClickHouse, download storage and JWT secret). */
  erasures?: ErasureService;
  /** How the identity provider's key set is fetched (tests shorten the 30 s cooldown between fetches). */
  jwks?: JwksOptions;
}

/** Builds the API. It never listens: server.ts does, and tests use app.inject(). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    // X-Forwarded-For names the client only behind the proxies TRUST_PROXY names (default: none).
    trustProxy: deps.config.api.trustProxy,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
    // One line per request from the request-log plugin instead (debug for 2xx/3xx, info 4xx, error 5xx).
    logController: new LogController({ disableRequestLogging: true }),
    ...errorServerOptions,
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(errorsPlugin);
  await app.register(requestLogPlugin);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'sending-metrics API',
        version: '1',
        description:
          'Assignments and sending metrics of a tenant, exact for any date range (inclusive at both ends, millisecond precision). ' +
          'Every request needs `Authorization: Bearer <token>`; the tenant is taken from the token. ' +
          'Each operation names the scope it needs (its security requirement); a token without it is answered 403 naming it. Scopes: ' +
          SCOPES.map((scope) => `\`${scope}\` (${SCOPE_MEANINGS[scope]})`).join('; ') +
          ". A token with no `scope` claim has `metrics:read`; a producer's API key (`smk_…`) has `events:write` only.",
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'A JWT: HS256 from `sending-metrics token`, or RS256/ES256/EdDSA from the identity provider (AUTH_JWKS_URL); or a producer API key `smk_…`.',
          },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(prometheusPlugin, { registry: deps.registry });
  const { auth } = deps.config;
  await app.register(authPlugin, {
    secret: deps.jwtSecret,
    provider:
      auth.jwksUrl && auth.issuer
        ? { jwksUrl: auth.jwksUrl, issuer: auth.issuer, audience: auth.audience, tenantClaim: auth.tenantClaim }
        : undefined,
    jwks: deps.jwks,
    apiKeys: { clickhouse: deps.clickhouse, refreshMs: auth.apiKeysRefreshMs, logger: deps.logger },
  });
  await app.register(rateLimitPlugin, {
    perUser: deps.config.api.rateLimitPerMinute,
    perTenant: deps.config.api.rateLimitPerTenantPerMinute,
    replicas: deps.config.api.replicas,
  });
  // Bodies are UTF-8 and unencoded: any other charset or a Content-Encoding is 415, before the body is read.
  await app.register(bodyEncodingPlugin);
  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(webRoutes);
  await app.register(metricsRoutes, {
    clickhouse: deps.clickhouse,
    maxRangeDays: deps.config.api.maxRangeDays,
    minimumVolume: deps.config.api.rateMinimumVolume,
    freshness: deps.freshness ?? freshnessSource(deps.clickhouse, deps.config),
    answers: deps.answers,
    names: deps.names,
    maxAnswerRows: deps.config.api.maxAnswerRows,
    queryTimeoutMs: deps.config.api.queryTimeoutMs,
    rawRetentionDays: deps.config.rawRetentionDays,
  });
  await app.register(exportsRoutes, {
    clickhouse: deps.clickhouse,
    maxRangeDays: deps.config.api.maxRangeDays,
    pageRows: deps.exportPageRows,
    rawRetentionDays: deps.config.rawRetentionDays,
  });
  await app.register(downloadsRoutes, { downloads: deps.downloads, maxRangeDays: deps.config.api.maxRangeDays });
  await app.register(alertsRoutes, {
    clickhouse: deps.clickhouse,
    maxRangeDays: deps.config.api.maxRangeDays,
    minimumVolume: deps.config.api.rateMinimumVolume,
    allowPrivateWebhooks: deps.config.alerts.allowPrivateWebhooks,
    secretSeed: deps.jwtSecret,
  });
  await app.register(eventsRoutes, {
    publisher: deps.publisher,
    maxBodyBytes: deps.config.events.maxBodyBytes,
    publishTimeoutMs: deps.config.events.publishTimeoutMs,
    maxItems: deps.config.events.maxItems,
  });
  await app.register(privacyRoutes, {
    erasures:
      deps.erasures ??
      new ErasureService({
        client: deps.clickhouse,
        config: deps.config,
        storage: deps.downloads?.storage ?? downloadStorageFromConfig(deps.config),
        secret: deps.jwtSecret,
        logger: deps.logger,
      }),
  });
  await app.register(webhooksRoutes, {
    publisher: deps.publisher,
    secrets: deps.config.events.webhookSecrets,
    publicUrl: deps.config.events.publicUrl,
    maxBodyBytes: deps.config.events.maxBodyBytes,
    publishTimeoutMs: deps.config.events.publishTimeoutMs,
  });
  return app;
}
