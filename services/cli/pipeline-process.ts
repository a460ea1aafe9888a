import type { Config } from '../platform/config.js';
import { openClickHouse } from '../platform/clickhouse.js';
import { Readiness } from '../platform/health.js';
import { createKafka } from '../platform/kafka.js';
import type { Logger } from '../platform/logger.js';
import { createPrometheusRegistry } from '../platform/prometheus.js';
import { applyMigrations, schemaShapeOf } from '../migrations/migrate.js';
import { IngestPipeline } from '../ingest/pipeline.js';
import { DownloadService } from '../downloads/index.js';
import { AlertEvaluator } from '../alerts/index.js';
import { startOpsServer, startServer } from '../api/server.js';
import { resolveJwtSecret } from '../api/auth/secret.js';
import { signToken } from '../api/auth/tokens.js';

export type Role = 'all' | 'ingest' | 'api' | 'alerts';

export interface RunningPipeline {
  url: string | undefined;
  close(): Promise<void>;
  onFatal(listener: (reason: string) => void): void;
}

/**
 * Starts the roles of one process: ClickHouse (migrated), the ingest consumer, the alert
 * evaluator and/or the API (`all`: every one).
 * In embedded mode ingest and api share this process's single chDB engine.
 */
export async function startPipeline({ config, logger, role }: { config: Config; logger: Logger; role: Role }): Promise<RunningPipeline> {
  const clickhouse = await openClickHouse(config, logger);
  const closers: (() => Promise<void>)[] = [() => clickhouse.close()];
  const fatalListeners: ((reason: string) => void)[] = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer();
  };
  try {
    await applyMigrations(clickhouse.client, logger, { shape: schemaShapeOf(config) });
    const registry = createPrometheusRegistry();
    const readiness = new Readiness();
    readiness.exportTo(registry);
    readiness.register('clickhouse', async () => {
      const result = await clickhouse.client.ping();
      return result.success ? { ok: true } : { ok: false, detail: `ClickHouse ping failed: ${result.error.message}` };
    });
    const runs = (part: 'ingest' | 'api' | 'alerts') => role === 'all' || role === part;
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
      const ingest = new IngestPipeline({ config, kafka, clickhouse: clickhouse.client, logger, registry, instanceClientId });
      ingest.on('fatal', (reason: string) => fatalListeners.forEach((listener) => listener(reason)));
      readiness.register('ingest', async () => ingest.health());
      closers.push(() => ingest.stop());
      // In the background: while Kafka is unreachable the API still answers, and /readyz says why.
      ingest.start().catch((error: Error) => fatalListeners.forEach((listener) => listener(`ingest could not start: ${error.message}`)));
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
      evaluator.start().catch((error: Error) => fatalListeners.forEach((listener) => listener(`alerts could not start: ${error.message}`)));
    }
    let url: string | undefined;
    if (runs('api')) {
      const downloads = DownloadService.fromConfig(config, clickhouse.client, logger, { registry });
      await downloads.start();
      closers.push(() => downloads.stop());
      const { secret, generated } = resolveJwtSecret(config);
      const server = await startServer({
        config,
        logger,
        clickhouse: clickhouse.client,
        readiness,
        registry,
        jwtSecret: secret,
        downloads,
      });
      closers.push(() => server.close());
      url = server.url;
      const lines = [
        `sending-metrics ready (${role}; ClickHouse ${clickhouse.mode}; Kafka ${config.kafkaBrokers.join(',')})`,
        `  dashboard: ${url}/`,
        `  API docs:  ${url}/docs`,
      ];
      if (generated) {
        const token = signToken(secret, { tenantId: config.devTenant, userId: 'dev' }, 24 * 3_600_000);
        lines.push(`  dev token (tenant ${config.devTenant}, 24 h): ${token}`, `  open:      ${url}/#token=${token}`);
      }
      process.stderr.write(`${lines.join('\n')}\n`);
    } else {
      // An ingest-only or alerts-only process still answers /healthz, /readyz and /metrics for its orchestrator.
      const ops = await startOpsServer({ config, logger, readiness, registry });
      closers.push(() => ops.close());
      url = ops.url;
      process.stderr.write(
        `sending-metrics ready (${role}; ClickHouse ${clickhouse.mode}; Kafka ${config.kafkaBrokers.join(',')})\n  readiness: ${ops.url}/readyz\n`,
      );
    }
    return { url, close, onFatal: (listener) => fatalListeners.push(listener) };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
