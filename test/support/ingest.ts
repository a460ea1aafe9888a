import type { Admin, Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { topicNames } from '../../services/events/topics.js';
import { IngestPipeline } from '../../services/ingest/pipeline.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { openTestClickHouse } from './clickhouse.js';
import { deleteTopics } from './kafka.js';

export interface IngestBed {
  clickhouse: ClickHouseHandle;
  config: Config;
  kafka: Kafka;
  admin: Admin;
  ingest: IngestPipeline;
  registry: Registry;
  /** Stops the ingest, deletes the test's topics, closes the clients. */
  close(): Promise<void>;
}

/**
 * A fresh engine (migrated), topics and group of their own (prefixed `name-<time>`), and an
 * IngestPipeline over them, started. `client` may wrap the ClickHouse client the ingest writes
 * through (fault injection); `beforeStart` runs once Kafka is reachable, before the ingest starts.
 */
export async function openIngestBed(
  name: string,
  ingestSettings: Partial<Config['ingest']> = {},
  options: {
    client?: (client: ClickHouseClient) => ClickHouseClient;
    beforeStart?: (bed: Omit<IngestBed, 'ingest' | 'close'>) => Promise<void>;
    /** Told the tenants of every batch written (IngestDeps.onWritten). */
    onWritten?: (tenantIds: Set<string>) => void;
  } = {},
): Promise<IngestBed> {
  const logger = createLogger(process.env.LOG_LEVEL ?? 'error');
  const opened = await openTestClickHouse(name);
  const clickhouse = opened.handle;
  const stamp = Date.now();
  const config: Config = {
    ...opened.config,
    topicPrefix: `${name}-${stamp}.`,
    ingest: { ...opened.config.ingest, groupId: `${name}-${stamp}`, ...ingestSettings },
  };
  await applyMigrations(clickhouse.client, logger);
  const kafka = createKafka(config, logger, `${name}-test`);
  const admin = kafka.admin();
  await admin.connect();
  const registry = new Registry();
  await options.beforeStart?.({ clickhouse, config, kafka, admin, registry });
  const client = options.client ? options.client(clickhouse.client) : clickhouse.client;
  const ingest = new IngestPipeline({ config, kafka, clickhouse: client, logger, registry, onWritten: options.onWritten });
  await ingest.start();
  return {
    clickhouse,
    config,
    kafka,
    admin,
    ingest,
    registry,
    async close() {
      await ingest.stop();
      await admin.disconnect();
      await deleteTopics(kafka, Object.values(topicNames(config.topicPrefix)));
      await clickhouse.close();
    },
  };
}
