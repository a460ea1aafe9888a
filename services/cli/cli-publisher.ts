import { pino } from 'pino';
import { topicNames } from '../events/topics.js';
import { loadConfig, type Config } from '../platform/config.js';
import { createKafka } from '../platform/kafka.js';
import { createLogger } from '../platform/logger.js';
import { createSchemaRegistryClient } from '../platform/schema-registry-client.js';
import { createPublisher, type Publisher } from '../producer/publisher.js';
import { messageOf } from '../platform/errors.js';

/**
 * The publisher of a producer command, configured from the environment. Log lines (kafkajs
 * warnings, retries) go to stderr, so stdout carries only the command's own output.
 */
export function openCommandPublisher(clientId: string): { config: Config; publisher: Publisher } {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, pino.destination(2));
  const kafka = createKafka(config, logger, clientId);
  const publisher = createPublisher({
    kafka,
    topics: topicNames(config.topicPrefix),
    partitions: config.topicPartitions,
    replicationFactor: config.topicReplicationFactor,
    logger,
    schemaRegistry: config.schemaRegistry ? createSchemaRegistryClient(config.schemaRegistry) : undefined,
  });
  return { config, publisher };
}

/** One line for a failure to reach or write to Kafka. */
export function kafkaFailure(config: Config, error: unknown): string {
  return `Kafka at ${config.kafkaBrokers.join(',')} failed: ${messageOf(error)}`;
}
