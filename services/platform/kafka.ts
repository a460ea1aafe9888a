import { createRequire } from 'node:module';
import { Kafka, logLevel as KafkaLogLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import { ConfigError, type Config } from './config.js';
import type { Logger } from './logger.js';

// kafkajs logs every error response at ERROR level, also the ones it retries by itself (a
// coordinator still loading after a broker start, a leader moving). Those are debug noise; an
// error that outlasts the retries reaches the caller as a thrown error.
const RETRIABLE_ERRORS = new Set(
  (createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: { retriable: boolean; message: string }[] }).errorCodes
    .filter((code) => code.retriable)
    .map((code) => code.message),
);

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** How long a repeated kafkajs line (same level, message and broker) is kept to debug after it was logged. */
export const REPEAT_QUIET_MS = 10_000;

/**
 * kafkajs log entries as pino lines. Errors kafkajs retries by itself go to debug; so does a line
 * repeated within REPEAT_QUIET_MS (a broker that is down is retried many times a second by every
 * client: the first line says so, the rest would bury everything else).
 */
export function kafkaLogCreator(logger: Logger, now: () => number = Date.now): (entry: Pick<LogEntry, 'level' | 'log'>) => void {
  const log = logger.child({ component: 'kafka' });
  const lastLogged = new Map<string, number>();
  return ({ level, log: entry }) => {
    const { message, ...rest } = entry;
    // kafkajs warns about its own default partitioner on every start; that is noise here.
    if (typeof message === 'string' && message.includes('KafkaJS v2.0.0 switched default partitioner')) return;
    // The API's producer limits its retries on purpose (a request must answer in bounded time; the
    // eventId makes a repeat count once: docs/api.md, "HTTP ingest and provider webhooks"); kafkajs
    // warns about it at every start.
    if (typeof message === 'string' && message.startsWith('Limiting retries for the idempotent producer')) {
      log.debug(rest, message);
      return;
    }
    const retried = level === KafkaLogLevel.ERROR && typeof rest.error === 'string' && RETRIABLE_ERRORS.has(rest.error);
    let pinoLevel = retried ? 'debug' : (LEVELS[level] ?? 'info');
    if (pinoLevel !== 'debug') {
      const key = `${level}\u0000${String(message)}\u0000${String(rest.broker ?? '')}`;
      const at = now();
      if (at - (lastLogged.get(key) ?? Number.NEGATIVE_INFINITY) < REPEAT_QUIET_MS) pinoLevel = 'debug';
      else lastLogged.set(key, at);
      if (lastLogged.size > 1000) lastLogged.clear();
    }
    log[pinoLevel](rest, message);
  };
}

/** kafkajs client whose log lines go through the root pino logger. */
export function createKafka(config: Pick<Config, 'kafkaBrokers'>, logger: Logger, clientId = 'sending-metrics'): Kafka {
  const logEntry = kafkaLogCreator(logger);
  return new Kafka({
    clientId,
    brokers: config.kafkaBrokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => logEntry,
  });
}

export interface TopicOptions {
  /** Replicas of each partition (TOPIC_REPLICATION_FACTOR); undefined: the cluster's default.replication.factor. */
  replicationFactor?: number;
  timeoutMs?: number;
}

/**
 * Creates the named topics when missing (existing ones are left as they are) and waits until
 * every partition of each has a leader, so producers and consumers can use them at once. A
 * replication factor larger than the cluster's broker count is a ConfigError naming the variable.
 */
export async function ensureTopics(admin: Admin, partitions: number, names: string[], options: TopicOptions = {}): Promise<void> {
  const { replicationFactor, timeoutMs = 30_000 } = options;
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = names
    .filter((name) => !existing.has(name))
    .map((topic) => ({ topic, numPartitions: partitions, replicationFactor: replicationFactor ?? -1 }));
  if (missing.length > 0 && replicationFactor !== undefined) {
    const { brokers } = await admin.describeCluster();
    if (replicationFactor > brokers.length) {
      throw new ConfigError(
        `TOPIC_REPLICATION_FACTOR=${replicationFactor} is larger than the ${brokers.length} broker(s) of the cluster; expected at most ${brokers.length}`,
      );
    }
  }
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: false });
    } catch (error) {
      // Another process may have created them between the list and the create.
      if (!(error instanceof Error && /already exists/i.test(error.message))) throw error;
    }
  }
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      if (topics.every((topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      // Metadata of a topic just created can briefly be missing on the broker.
      if (Date.now() > until) throw error;
    }
    if (Date.now() > until) throw new Error(`topics ${names.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
