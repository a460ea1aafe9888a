import type { Kafka, Producer } from 'kafkajs';
import type { Config } from '../platform/config.js';
import { createKafka, ensureTopics } from '../platform/kafka.js';
import type { Logger } from '../platform/logger.js';
import type { DownloadJob } from './download-store.js';

/**
 * The `download-requests` topic: one message {id, tenantId} per queued job, keyed by tenant (so
 * that one tenant's jobs all go to one partition and run one after the other). The API side
 * publishes; the workers' consumer group reads.
 */
export interface DownloadKafkaOptions {
  kafka: Kafka;
  /** The `download-requests` topic (with TOPIC_PREFIX). */
  topic: string;
  groupId: string;
  partitions: number;
  replicationFactor?: number;
  sessionTimeoutMs: number;
  /** Does this process run jobs (role downloads), or only queue them (role api)? */
  worker: boolean;
  /**
   * How long POST /v1/downloads waits for Kafka to acknowledge a job before answering 503
   * (DOWNLOADS_PUBLISH_TIMEOUT_MS, default 5 s); the job is then failed and not charged to the quota.
   */
  publishTimeoutMs?: number;
  /** How long the group waits for a member busy with a job to rejoin at a rebalance (default 10 minutes). */
  rebalanceTimeoutMs?: number;
}

export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;

export function downloadRequestsTopic(config: Pick<Config, 'topicPrefix'>): string {
  return `${config.topicPrefix}download-requests`;
}

/** The Kafka side as the configuration names it (KAFKA_BROKERS, TOPIC_PREFIX, DOWNLOADS_GROUP_ID, …). */
export function downloadKafkaFromConfig(config: Config, logger: Logger, worker: boolean): DownloadKafkaOptions {
  return {
    kafka: createKafka(config, logger, `sending-metrics-downloads.${config.ingest.instanceId}`),
    topic: downloadRequestsTopic(config),
    groupId: config.downloads.groupId,
    partitions: config.topicPartitions,
    replicationFactor: config.topicReplicationFactor,
    sessionTimeoutMs: config.ingest.sessionTimeoutMs,
    publishTimeoutMs: config.downloads.publishTimeoutMs,
    worker,
  };
}

/** Creates the download-requests topic if it is missing (the API publishes to it, workers read it). */
export async function ensureRequestsTopic(options: DownloadKafkaOptions): Promise<void> {
  const admin = options.kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, options.partitions, [options.topic], { replicationFactor: options.replicationFactor });
  } finally {
    await admin.disconnect();
  }
}

/** A request message's value; undefined when it is not one (not JSON: `notJson`). */
export function parseRequest(value: Buffer): { id: string; tenantId: string } | 'notJson' | undefined {
  let request: { id?: unknown; tenantId?: unknown };
  try {
    request = JSON.parse(value.toString()) as typeof request;
  } catch {
    return 'notJson';
  }
  if (typeof request.id !== 'string' || typeof request.tenantId !== 'string') return undefined;
  return { id: request.id, tenantId: request.tenantId };
}

/** The message that hands `job` to the workers. */
export function requestMessage(job: Pick<DownloadJob, 'id' | 'tenantId'>): { key: string; value: string } {
  return { key: job.tenantId, value: JSON.stringify({ id: job.id, tenantId: job.tenantId }) };
}

/** Kafka did not acknowledge a download request within the publish timeout. */
export class PublishTimeoutError extends Error {
  override name = 'PublishTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`Kafka did not acknowledge within ${timeoutMs} ms`);
  }
}

/** Publishes requests through one idempotent producer, connected (and the topic created) at the first one. */
export class DownloadRequestPublisher {
  private producer: Producer | undefined;
  private producing: Promise<Producer> | undefined;

  constructor(private readonly options: DownloadKafkaOptions) {}

  /** Hands the job to Kafka; PublishTimeoutError when Kafka did not acknowledge it within the publish timeout. */
  async publish(job: DownloadJob): Promise<void> {
    const timeoutMs = this.options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishTimeoutError(timeoutMs)), timeoutMs);
    });
    const sent = this.send(job);
    // A send that ends after the timeout is only logged (its job is failed and withdrawn by then; a worker skips it).
    sent.catch(() => undefined);
    try {
      await Promise.race([sent, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Disconnects the producer (one still connecting too). */
  async close(): Promise<void> {
    await this.producing?.catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
    this.producing = undefined;
  }

  private async send(job: DownloadJob): Promise<void> {
    this.producing ??= (async () => {
      await ensureRequestsTopic(this.options);
      const producer = this.options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      this.producer = producer;
      return producer;
    })().catch((error: Error) => {
      this.producing = undefined;
      throw error;
    });
    const producer = await this.producing;
    await producer.send({ topic: this.options.topic, acks: -1, messages: [requestMessage(job)] });
  }
}
