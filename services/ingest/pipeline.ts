/**
 * The ingest's start, stop and health. Over 300 lines on purpose: the lifecycle's order (topics,
 * consumer, workers, the control reader, then draining and closing in reverse) reads top to bottom
 * here; what it composes lives in its own files (partition-workers.ts, membership.ts, …).
 */
import { EventEmitter } from 'node:events';
import kafkajs, { type Admin, type Consumer, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { sideClientOf, type ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';
import type { HealthCheckResult } from '../platform/health.js';
import { ensureTopics } from '../platform/kafka.js';
import type { Logger } from '../platform/logger.js';
import { topicNames, type TopicNames } from '../events/topics.js';
import { ConfluentReader } from '../events/confluent-reader.js';
import { createSchemaRegistryClient } from '../platform/schema-registry-client.js';
import { ControlReader } from './control-reader.js';
import { liveTwin, removePredecessors } from './membership.js';
import { PauseControl } from './pause-control.js';
import { ProgressReporter } from './progress-reporter.js';
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';
import { InvalidRatioGuard } from './invalid-ratio.js';
import { PartitionWorkers } from './partition-workers.js';
import type { WrittenIds } from './dedup/written-ids.js';
import { WriterSchemas } from './writer-schemas.js';
import { messageOf } from '../platform/errors.js';

export interface IngestDeps {
  config: Config;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  logger: Logger;
  registry: Registry;
  /**
   * The Kafka client id of this process slot (derived from INGEST_INSTANCE_ID; `kafka` must use
   * it). When set, members of the group with this client id — a crashed predecessor, which would
   * hold its partitions until its session times out — are removed before joining, and a second
   * live process with the same id is refused.
   */
  instanceClientId?: string;
  /** Called with the tenants of every batch once its rows are written (and visible to queries). */
  onWritten?: (tenantIds: Set<string>) => void;
  /** Consume only once the duplicate index is warm (benchmarks; a service warms it while consuming). */
  awaitDuplicateIndex?: boolean;
}

/**
 * The ingest service: a consumer group over the assignment and delivery topics. Each assigned
 * partition gets a PartitionWorker (decode → validate → deduplicate → batch → dead-letter →
 * write → commit); the kafkajs fetch loop is the source and the worker's queue its backpressure.
 * Emits 'fatal' (reason) when it stops on its own.
 */
export class IngestPipeline extends EventEmitter {
  private readonly topics: TopicNames;
  private readonly consumer: Consumer;
  /** Reads the ingest-control topic: a group of its own per instance, so every instance sees every request. */
  private readonly control: ControlReader;
  /** The invalid-ratio pause, lifted by an operator's resume request. */
  private readonly pauses: PauseControl;
  private readonly producer: Producer;
  private readonly workers: PartitionWorkers;
  private readonly metrics: IngestMetrics;
  private readonly guard: InvalidRatioGuard;
  /** The client of the bookkeeping statements: intents, duplicate lookups, skipped offsets, progress. */
  private readonly bookkeeping: ClickHouseClient;
  private readonly log: Logger;
  private readonly admin: Admin;
  /** Confluent-framed records: their writer schemas, looked up in the registry (SCHEMA_REGISTRY_URL); undefined without one. */
  private readonly confluent: { reader: ConfluentReader; schemas: WriterSchemas } | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The lag gauges and `ingest_progress` (freshness). */
  private readonly progress: ProgressReporter;
  /** Partitions this member owns, as "topic/partition". */
  private owned = new Set<string>();
  /** Largest dead letter: INGEST_DEAD_LETTER_MAX_BYTES, lowered to the dead-letter topic's max.message.bytes. */
  private deadLetterMaxBytes: number;
  private writeHealth: HealthCheckResult = { ok: true };
  private running = false;
  /** The consumer has joined its group and holds an assignment (possibly empty: more members than partitions). */
  private joined = false;
  private stopped = false;
  private connectError: string | undefined;
  private fatal: string | undefined;
  /** Members of a predecessor removed at start. */
  private predecessors: string[] = [];

  constructor(private readonly deps: IngestDeps) {
    super();
    const { config, kafka } = deps;
    this.topics = topicNames(config.topicPrefix);
    this.log = deps.logger.child({ component: 'ingest' });
    this.metrics = createIngestMetrics(deps.registry, {
      lagSeconds: () => this.progress.lagSecondsSamples(),
      duplicateIndex: () => {
        const index = this.workers?.writtenIds;
        return index ? { ...index.size(), state: index.state } : undefined;
      },
    });
    this.guard = new InvalidRatioGuard(config.ingest.maxInvalidRatio, config.ingest.invalidRatioWindow);
    // The batches' bookkeeping and duplicate lookups run beside the inserts (on the embedded
    // engine a session of their own; a server runs statements concurrently anyway).
    this.bookkeeping = sideClientOf(deps.clickhouse);
    this.consumer = kafka.consumer({
      groupId: config.ingest.groupId,
      sessionTimeout: config.ingest.sessionTimeoutMs,
      heartbeatInterval: Math.floor(config.ingest.sessionTimeoutMs / 10),
      minBytes: 1,
      maxBytes: 64 * 1024 * 1024,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxWaitTimeInMs: Math.min(config.ingest.batchMaxMs, 500),
      retry: { retries: 10 },
    });
    // Dead letters are at-least-once (a batch written again may send its letters again), so the
    // producer needs no idempotence; the batch retry loop does the retrying.
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
    this.admin = kafka.admin();
    this.pauses = new PauseControl({
      consumer: this.consumer,
      topics: this.topics,
      metrics: this.metrics,
      guard: this.guard,
      logger: this.log,
    });
    this.control = new ControlReader({
      kafka,
      admin: this.admin,
      config,
      topic: this.topics.ingestControl,
      logger: this.log,
      onRequest: (request, offset) => this.pauses.resume(request, offset),
    });
    this.progress = new ProgressReporter({
      config,
      admin: this.admin,
      bookkeeping: this.bookkeeping,
      topics: this.topics,
      metrics: this.metrics,
      logger: this.log,
      owned: () => this.owned,
    });
    this.deadLetterMaxBytes = config.ingest.deadLetterMaxBytes;
    if (config.schemaRegistry) {
      const reader = new ConfluentReader();
      const schemas = new WriterSchemas(
        reader,
        createSchemaRegistryClient(config.schemaRegistry),
        this.log.child({ component: 'schema-registry' }),
      );
      this.confluent = { reader, schemas };
    }
    this.workers = new PartitionWorkers({
      config,
      clickhouse: deps.clickhouse,
      bookkeeping: this.bookkeeping,
      admin: this.admin,
      consumer: this.consumer,
      producer: this.producer,
      topics: this.topics,
      metrics: this.metrics,
      logger: this.log,
      guard: this.guard,
      pauses: this.pauses,
      confluent: this.confluent,
      deadLetterMaxBytes: () => this.deadLetterMaxBytes,
      owned: () => this.owned,
      onWritten: deps.onWritten,
      onWriteHealth: (health) => (this.writeHealth = health),
      onFatal: (reason) => this.fail(reason),
    });
  }

  /** The `schema-registry` readiness check: failing while a writer schema cannot be looked up; undefined without a registry. */
  /** The in-memory duplicate index (undefined when INGEST_DEDUP_INDEX_MAX_IDS or INGEST_DEDUP_MAX_IDS is 0). */
  duplicateIndex(): WrittenIds | undefined {
    return this.workers.writtenIds;
  }

  schemaRegistryHealth(): HealthCheckResult | undefined {
    return this.confluent?.schemas.health();
  }

  /**
   * Connects (retrying with backoff while Kafka is unreachable, reported by health()), creates
   * the topics when missing, and starts consuming. Resolves once consuming, or when stop() is
   * called before that.
   */
  async start(): Promise<void> {
    const { config } = this.deps;
    // Warms in the background: until it is warm, batches look their ids up in ClickHouse.
    this.workers.writtenIds?.start();
    for (let attempt = 1; ; attempt += 1) {
      if (this.stopped) return;
      try {
        await this.admin.connect();
        const { ingestControl, ...dataTopics } = this.topics;
        await ensureTopics(this.admin, config.topicPartitions, Object.values(dataTopics), {
          replicationFactor: config.topicReplicationFactor,
        });
        await ensureTopics(this.admin, 1, [ingestControl], { replicationFactor: config.topicReplicationFactor });
        this.deadLetterMaxBytes = Math.min(config.ingest.deadLetterMaxBytes, await this.topicMaxMessageBytes(this.topics.deadLetter));
        await this.producer.connect();
        await this.consumer.connect();
        const { instanceClientId } = this.deps;
        this.predecessors = instanceClientId ? await removePredecessors(this.admin, config.ingest.groupId, instanceClientId, this.log) : [];
        await this.control.deleteStaleGroups();
        this.connectError = undefined;
        break;
      } catch (error) {
        this.connectError = messageOf(error);
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
        this.log.warn({ err: error, attempt, retryInMs: delay }, 'cannot reach Kafka yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    if (this.stopped) return;
    // A predecessor removed at start that was in fact alive notices at its next heartbeat and
    // joins again: for half a session after the removal, a member with this slot's client id
    // besides this one means the id is in use twice, and this process (the newcomer) gives way.
    const probationUntil = this.predecessors.length > 0 ? Date.now() + config.ingest.sessionTimeoutMs / 2 : 0;
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      this.onAssignment(payload.memberAssignment);
      if (Date.now() < probationUntil) void this.refuseLiveTwin(payload.memberId);
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      // A restarted consumer joins again: not ready until it has.
      this.joined = false;
      this.log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
      if (!payload.restart) this.fail(`the Kafka consumer stopped: ${payload.error.message}`);
    });
    // Without the control reader a paused instance resumes only by a restart: worth a loud line, not a stop.
    await this.control
      .start()
      .catch((error: Error) =>
        this.log.error(
          { err: error, topic: this.topics.ingestControl },
          'cannot read the ingest-control topic; ingest-resume will not reach this instance',
        ),
      );
    if (this.stopped) return;
    if (this.deps.awaitDuplicateIndex) await this.workers.writtenIds?.whenSettled();
    if (this.stopped) return;
    await this.consumer.subscribe({ topics: [this.topics.assignments, this.topics.deliveries], fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      // The revocation contract: before this member joins the group again (so before another one
      // is given its partitions), every worker finishes or abandons its flush and commits nothing.
      beforeRejoin: () => this.workers.settle('rebalance'),
      // Decoding one partition's records overlaps with writing another's (the engine still runs one write at a time).
      partitionsConsumedConcurrently: 3,
      eachBatch: async (payload: EachBatchPayload) => {
        const { batch } = payload;
        if (!payload.isRunning() || payload.isStale() || this.fatal || this.stopped) return;
        this.metrics.consumed.inc({ topic: batch.topic }, batch.messages.length);
        if (batch.messages.length === 0) return;
        const worker = await this.workers.get(batch.topic, batch.partition, Number(batch.messages[0]!.offset));
        // Stopping (or revoked) while the worker was made: its records come back to the next owner.
        if (this.stopped || worker.isRevoked) return;
        await worker.add(
          batch.messages.map((message) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: Number(message.offset),
            key: message.key,
            value: message.value,
          })),
          () => payload.heartbeat(),
        );
      },
    });
    this.timer = setInterval(() => this.workers.flushDue(), Math.max(20, Math.min(100, Math.floor(config.ingest.batchMaxMs / 4))));
    // The lag is read from the broker, not from fetched batches: a partition whose batch cannot be
    // written fetches nothing more, and its lag must still grow. Each refresh also records the
    // progress in ClickHouse, where every API replica reads its `freshness`.
    this.progress.start();
    this.log.info({ topics: this.topics, groupId: config.ingest.groupId }, 'ingest started');
  }

  /** Fails when another member with this slot's client id is in the group: a second live process with the same INGEST_INSTANCE_ID. */
  private async refuseLiveTwin(ownMemberId: string): Promise<void> {
    try {
      const twin = await liveTwin(this.admin, this.deps.config.ingest.groupId, this.deps.instanceClientId!, ownMemberId);
      if (twin) this.fail(twin);
    } catch (error) {
      this.log.warn({ err: error }, 'could not check the group for a second process with this instance id');
    }
  }

  /** Ready once the consumer has joined its group (and so owns its partitions), and while the last write succeeded. */
  health(): HealthCheckResult {
    if (this.fatal) return { ok: false, detail: this.fatal };
    if (!this.running) return { ok: false, detail: this.connectError ? `connecting to Kafka: ${this.connectError}` : 'not consuming' };
    if (!this.joined) return { ok: false, detail: `joining consumer group ${this.deps.config.ingest.groupId}` };
    const paused = this.pauses.state;
    if (paused) {
      const { since, reason } = paused;
      return {
        ok: false,
        detail: `paused since ${since.toISOString()}: ${reason}; after fixing the producer, \`npx sending-metrics ingest-resume --reason TEXT\` resumes and dead-letters the burst`,
      };
    }
    return this.writeHealth;
  }

  /** Finishes the batch being written, commits it, abandons what is only buffered, leaves the group. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopped = true;
    this.workers.release();
    if (!this.running) {
      await Promise.allSettled([
        this.consumer.disconnect(),
        this.control.disconnect(),
        this.producer.disconnect(),
        this.admin.disconnect(),
      ]);
      return;
    }
    this.running = false;
    clearInterval(this.timer);
    await this.progress.stop();
    await this.workers.drain(graceMs);
    await this.consumer.disconnect();
    // A worker made by a batch that was being handled while the first drain ran.
    await this.workers.drain(graceMs);
    await this.control.stop();
    await this.producer.disconnect();
    await this.admin.disconnect();
    this.log.info('ingest stopped');
  }

  private fail(reason: string): void {
    if (this.fatal) return;
    this.fatal = reason;
    this.log.fatal({ reason }, 'ingest stopped on its own');
    this.workers.revokeAll();
    this.emit('fatal', reason);
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    const owned = new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((p) => `${topic}/${p}`)));
    this.owned = owned;
    this.progress.retain(owned);
    this.workers.retain(owned);
    this.log.info({ partitions: [...owned] }, 'partitions assigned');
  }

  /** The dead-letter topic's max.message.bytes less a batch header, or the setting when it cannot be read. */
  private async topicMaxMessageBytes(topic: string): Promise<number> {
    try {
      const described = await this.admin.describeConfigs({
        resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
        includeSynonyms: false,
      });
      const entry = described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes');
      const value = Number(entry?.configValue);
      if (Number.isFinite(value) && value > 0) return value;
    } catch (error) {
      this.log.warn({ err: error, topic }, 'cannot read the dead-letter topic max.message.bytes; using INGEST_DEAD_LETTER_MAX_BYTES');
    }
    return this.deps.config.ingest.deadLetterMaxBytes;
  }
}
