import type { Admin, Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { topicNames } from '../../services/events/topics.js';
import { IngestPipeline } from '../../services/ingest/pipeline.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { AGGREGATES_BY_HOUR_SQL, type Truth } from '../../fixtures/events.js';
import { openTestClickHouse } from './clickhouse.js';
import { deleteTopics, topicOffsets } from './kafka.js';

export async function readAggregates(client: ClickHouseClient): Promise<Truth> {
  const result = await client.query({ query: AGGREGATES_BY_HOUR_SQL, format: 'JSONCompactEachRow' });
  const rows = (await result.json()) as [string, string | number][];
  return new Map(rows.map(([key, n]) => [key, Number(n)]));
}

export async function countRaw(client: ClickHouseClient): Promise<number> {
  const result = await client.query({
    query: 'SELECT (SELECT count() FROM assignment_events) + (SELECT count() FROM delivery_events) AS n',
    format: 'JSONCompactEachRow',
  });
  const [[n]] = (await result.json()) as [[string | number]];
  return Number(n);
}

// Kept here for the files that import it from the ingest's support (the wait lives in wait-for.ts).
export { waitFor } from './wait-for.js';

/** Total records in the topics, and how many the group has committed past. */
export async function groupProgress(admin: Admin, groupId: string, topics: string[]): Promise<{ end: number; committed: number }> {
  let end = 0;
  let committed = 0;
  for (const topic of topics) {
    for (const partition of await topicOffsets(admin, topic)) end += Number(partition.high) - Number(partition.low);
  }
  const offsets = await admin.fetchOffsets({ groupId, topics });
  for (const topic of offsets) for (const partition of topic.partitions) committed += Math.max(0, Number(partition.offset));
  return { end, committed };
}

/** Per partition of one topic: its high watermark and the group's committed offset (-1: none). */
export async function partitionProgress(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<{ partition: number; low: number; high: number; committed: number }[]> {
  const offsets = await topicOffsets(admin, topic);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const byPartition = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
  return offsets.map((p) => ({
    partition: p.partition,
    low: Number(p.low),
    high: Number(p.high),
    committed: byPartition.get(p.partition) ?? -1,
  }));
}

/** The current samples of one metric of a prom-client registry (empty when it is not registered). */
export async function metricSamples(
  registry: Registry,
  name: string,
): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return [];
  const { values } = await metric.get();
  return values.map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/**
 * Reads the dead-letter topic from the beginning until `until(letters)` holds (a fresh group
 * each time), then returns every letter read so far.
 */
export async function readDeadLetters(
  kafka: Kafka,
  topic: string,
  until: (letters: DeadLetter[]) => boolean,
  timeoutMs = 120_000,
): Promise<DeadLetter[]> {
  const consumer = kafka.consumer({ groupId: `dlq-reader-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 200 });
  const letters: DeadLetter[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = value?.toString() ?? '';
        letters.push({ key: message.key, value: message.value, headers, partition, offset: message.offset });
        if (until(letters)) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${letters.length} dead letters arrived within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([finished, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return letters;
  } finally {
    await consumer.disconnect();
  }
}

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
