import type { Config } from '../platform/config.js';
import { openClickHouse } from '../platform/clickhouse.js';
import { Readiness } from '../platform/health.js';
import { createKafka } from '../platform/kafka.js';
import type { Logger } from '../platform/logger.js';
import { createPrometheusRegistry } from '../platform/prometheus.js';
import { applyMigrations, schemaShapeOf } from '../migrations/migrate.js';
import { IngestPipeline } from '../ingest/pipeline.js';
import { DownloadService, downloadRequestsTopic } from '../downloads/index.js';
import { AlertEvaluator } from '../alerts/index.js';
import { AnswerCache, CampaignNames, TenantDataVersions } from '../reporting/index.js';
import { startOpsServer, startServer } from '../api/server.js';
import { resolveJwtSecret } from '../api/auth/secret.js';
import { signToken } from '../api/auth/tokens.js';
import { topicNames } from '../events/topics.js';
import { createConnectingPublisher } from '../producer/connecting-publisher.js';
import { FatalSignal } from './fatal-signal.js';

export type Role = 'all' | 'ingest' | 'api' | 'alerts' | 'downloads';
export const ROLES: readonly Role[] = ['all', 'ingest', 'api', 'alerts', 'downloads'];

export interface RunningPipeline {
  url: string | undefined;
  close(): Promise<void>;
  onFatal(listener: (reason: string) => void): void;
}

/**
 * Starts the roles of one process: ClickHouse (migrated), the ingest consumer, the alert
 * evaluator, the API and/or the download worker (`all`: every one). Downloads are handed out
 * through Kafka: the API queues them, the `downloads` role runs them (see DownloadService).
 * In embedded mode ingest and api share this process's single chDB engine.
 */
export async function startPipeline({
  config,
  logger,
  role,
}: {
  config: Config;
  logger: Logger;
  role: Role | Role[];
}): Promise<RunningPipeline> {
  const roles = Array.isArray(role) ? role : [role];
  const roleText = roles.join(',');
  const clickhouse = await openClickHouse(config, logger);
  const closers: (() => Promise<void>)[] = [() => clickhouse.close()];
  // Parts fail in the background, also before the caller can listen (while the API still starts).
  const fatal = new FatalSignal();
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer();
  };
  try {
    await applyMigrations(clickhouse.client, logger, {
      shape: schemaShapeOf(config),
      rawRetentionDays: config.rawRetentionDays,
      dedupWindowHours: config.ingest.dedupWindowHours,
    });
    const registry = createPrometheusRegistry();
    const readiness = new Readiness();
    readiness.exportTo(registry);
    readiness.register('clickhouse', async () => {
      const result = await clickhouse.client.ping();
      return result.success ? { ok: true } : { ok: false, detail: `ClickHouse ping failed: ${result.error.message}` };
    });
    const runs = (part: Exclude<Role, 'all'>) => roles.includes('all') || roles.includes(part);
    // On the embedded engine every write goes through this process: metrics answers are kept per
    // tenant data version, which the ingest bumps (reporting/answer-cache.ts).
    const versions = new TenantDataVersions();
    const answers =
      clickhouse.mode === 'embedded' && config.api.answerCacheEntries > 0
        ? new AnswerCache({ versions, maxEntries: config.api.answerCacheEntries, maxBytes: config.api.answerCacheBytes })
        : undefined;
    // The campaign answers join names kept per tenant data version instead of reading them in every query.
    const names = clickhouse.mode === 'embedded' ? new CampaignNames(versions) : undefined;
    const registerKafkaCheck = (clientId: string) => {
      const admin = createKafka(config, logger, clientId).admin();
      closers.push(() => admin.disconnect());
      readiness.register('kafka', async () => {
        await admin.connect(); // no-op once connected; reconnects after an outage
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 ? { ok: true } : { ok: false, detail: 'no Kafka broker answers' };
      });
    };
    if (runs('ingest')) {
      // The client id names this process slot, so that a restart can remove its crashed predecessor.
      const instanceClientId = `sending-metrics-ingest.${config.ingest.instanceId}`;
      const kafka = createKafka(config, logger, instanceClientId);
      const admin = kafka.admin();
      closers.push(() => admin.disconnect());
      readiness.register('kafka', async () => {
        await admin.connect(); // no-op once connected; reconnects after an outage
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 ? { ok: true } : { ok: false, detail: 'no Kafka broker answers' };
      });
      const ingest = new IngestPipeline({
        config,
        kafka,
        clickhouse: clickhouse.client,
        logger,
        registry,
        instanceClientId,
        onWritten: (tenants) => versions.bump(tenants),
      });
      ingest.on('fatal', (reason: string) => fatal.raise(reason));
      readiness.register('ingest', async () => ingest.health());
      if (config.schemaRegistry) readiness.register('schema-registry', async () => ingest.schemaRegistryHealth() ?? { ok: true });
      closers.push(() => ingest.stop());
      // In the background: while Kafka is unreachable the API still answers, and /readyz says why.
      ingest.start().catch((error: Error) => fatal.raise(`ingest could not start: ${error.message}`));
    }
    if (runs('alerts')) {
      const kafka = createKafka(config, logger, `sending-metrics-alerts.${config.ingest.instanceId}`);
      const evaluator = new AlertEvaluator({
        config,
        kafka,
        clickhouse: clickhouse.client,
        logger,
        registry,
        instanceId: config.ingest.instanceId,
      });
      readiness.register('alerts', async () => evaluator.health());
      closers.push(() => evaluator.stop());
      evaluator.start().catch((error: Error) => fatal.raise(`alerts could not start: ${error.message}`));
    }
    let downloads: DownloadService | undefined;
    if (runs('api') || runs('downloads')) {
      if (!runs('ingest')) registerKafkaCheck(`sending-metrics-downloads.${config.ingest.instanceId}`);
      const service = DownloadService.fromConfig(config, clickhouse.client, logger, {
        registry,
        kafka: {
          kafka: createKafka(config, logger, `sending-metrics-downloads.${config.ingest.instanceId}`),
          topic: downloadRequestsTopic(config),
          groupId: config.downloads.groupId,
          partitions: config.topicPartitions,
          replicationFactor: config.topicReplicationFactor,
          sessionTimeoutMs: config.ingest.sessionTimeoutMs,
          publishTimeoutMs: config.downloads.publishTimeoutMs,
          worker: runs('downloads'),
        },
      });
      downloads = service;
      // The object store is a dependency of its own (DOWNLOADS_URL); the local directory is checked by nothing more than DATA_DIR.
      if (config.downloads.url) readiness.register('downloads', () => service.health());
      closers.push(() => service.stop());
      // In the background: while Kafka is unreachable the API still answers (POST /v1/downloads 503), and /readyz says why.
      service.start().catch((error: Error) => {
        if (runs('downloads')) fatal.raise(`download worker could not start: ${error.message}`);
      });
    }
    let url: string | undefined;
    if (runs('api')) {
      const { secret, generated } = resolveJwtSecret(config);
      // HTTP ingest and the provider webhooks publish through their own idempotent producer (closed after the server).
      const publisher = createConnectingPublisher({
        kafka: createKafka(config, logger, `sending-metrics-api.${config.ingest.instanceId}`),
        topics: topicNames(config.topicPrefix),
        partitions: config.topicPartitions,
        replicationFactor: config.topicReplicationFactor,
        logger,
      });
      closers.push(() => publisher.close());
      publisher.warmUp();
      const server = await startServer({
        config,
        logger,
        clickhouse: clickhouse.client,
        readiness,
        registry,
        jwtSecret: secret,
        downloads,
        answers,
        names,
        publisher,
      });
      closers.push(() => server.close());
      url = server.url;
      const lines = [
        `sending-metrics ready (${roleText}; ClickHouse ${clickhouse.mode}; Kafka ${config.kafkaBrokers.join(',')})`,
        `  dashboard: ${url}/`,
        `  API docs:  ${url}/docs`,
      ];
      if (generated) {
        const token = signToken(secret, { tenantId: config.devTenant, userId: 'dev' }, 24 * 3_600_000);
        lines.push(`  dev token (tenant ${config.devTenant}, 24 h): ${token}`, `  open:      ${url}/#token=${token}`);
      }
      process.stderr.write(`${lines.join('\n')}\n`);
    } else {
      // An ingest-only, alerts-only or downloads-only process still answers /healthz, /readyz and /metrics for its orchestrator.
      const ops = await startOpsServer({ config, logger, readiness, registry });
      closers.push(() => ops.close());
      url = ops.url;
      process.stderr.write(
        `sending-metrics ready (${roleText}; ClickHouse ${clickhouse.mode}; Kafka ${config.kafkaBrokers.join(',')})\n  readiness: ${ops.url}/readyz\n`,
      );
    }
    return { url, close, onFatal: (listener) => fatal.listen(listener) };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
