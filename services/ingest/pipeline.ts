import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import kafkajs, { type Admin, type Consumer, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { sideClientOf, type ClickHouseClient } from '../platform/clickhouse.js';
import { dateTime64Text } from '../platform/clickhouse-values.js';
import type { Config } from '../platform/config.js';
import type { HealthCheckResult } from '../platform/health.js';
import { ensureTopics } from '../platform/kafka.js';
import type { Logger } from '../platform/logger.js';
import { eventTypeOfTopic, topicNames, type TopicNames } from '../events/topics.js';
import { ConfluentReader } from '../events/confluent-reader.js';
import { createSchemaRegistryClient } from '../platform/schema-registry-client.js';
import { BatchIntentLog, loadRecentEventIds, WrittenMarks } from './batch-intents.js';
import { parseControlRequest, type ControlRequest } from './control.js';
import { CountedThroughTracker } from './counted-through.js';
import { createIngestMetrics, type IngestMetrics, type PartitionLagSeconds } from './ingest-metrics.js';
import { InvalidRatioGuard } from './invalid-ratio.js';
import { PartitionWorker } from './partition-worker.js';
import { createCommitStep } from './steps/commit.js';
import { createDeadLetterStep } from './steps/dead-letter.js';
import { createDecodeStep } from './steps/decode.js';
import { WriterSchemas } from './writer-schemas.js';
import { createDeduplicateStep, SeenEventIds } from './steps/deduplicate.js';
import { createUniqueWriteStep, createWriteStep, RAW_TABLES, writeOptionsOf, type WritableEvent } from './steps/write.js';

/** LeaveGroup on behalf of other members (kafkajs admin, patched in patches/kafkajs+2.2.4.patch). */
interface GroupMemberRemoval {
  removeGroupMembers(options: { groupId: string; memberIds: string[] }): Promise<void>;
}

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
  private readonly control: Consumer;
  private readonly controlGroupId: string;
  /** Set while the invalid-ratio guard holds consumption; resolved by an operator's resume request. */
  private paused: { since: Date; reason: string; resume: () => void; resumed: Promise<void> } | undefined;
  private readonly producer: Producer;
  private readonly workers = new Map<string, Promise<PartitionWorker>>();
  private readonly metrics: IngestMetrics;
  private readonly guard: InvalidRatioGuard;
  private readonly intents: BatchIntentLog;
  private readonly written: WrittenMarks;
  /** The client of the bookkeeping statements: intents, duplicate lookups, skipped offsets, progress. */
  private readonly bookkeeping: ClickHouseClient;
  private readonly log: Logger;
  /** One per process: the inserts run one batch at a time, each batch's cross-partition duplicate lookup beside the insert before it. */
  private readonly uniqueWrite: ReturnType<typeof createUniqueWriteStep>;
  private readonly admin: Admin;
  /** Confluent-framed records: their writer schemas, looked up in the registry (SCHEMA_REGISTRY_URL); undefined without one. */
  private readonly confluent: { reader: ConfluentReader; schemas: WriterSchemas } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  /** The refresh under way, awaited by stop() before the clients close. */
  private lagRefreshing: Promise<void> | undefined;
  /** Per owned partition, the time everything published before it is counted (the lag_seconds gauge). */
  private readonly countedThrough = new CountedThroughTracker();
  /** The last insert into ingest_progress failed (logged once at warn, then at debug until it works again). */
  private progressFailing = false;
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
    this.metrics = createIngestMetrics(deps.registry, { lagSeconds: () => this.lagSecondsSamples() });
    this.guard = new InvalidRatioGuard(config.ingest.maxInvalidRatio, config.ingest.invalidRatioWindow);
    // The batches' bookkeeping and duplicate lookups run beside the inserts (on the embedded
    // engine a session of their own; a server runs statements concurrently anyway).
    this.bookkeeping = sideClientOf(deps.clickhouse);
    this.intents = new BatchIntentLog(this.bookkeeping, config.ingest.groupId);
    this.written = new WrittenMarks(this.bookkeeping, config.ingest.groupId);
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
    this.controlGroupId = `${config.ingest.groupId}.control.${randomUUID()}`;
    this.control = kafka.consumer({
      groupId: this.controlGroupId,
      sessionTimeout: config.ingest.sessionTimeoutMs,
      maxWaitTimeInMs: 1000,
      retry: { retries: 10 },
    });
    this.admin = kafka.admin();
    this.deadLetterMaxBytes = config.ingest.deadLetterMaxBytes;
    this.uniqueWrite = createUniqueWriteStep(deps.clickhouse, writeOptionsOf(config), this.bookkeeping);
    if (config.schemaRegistry) {
      const reader = new ConfluentReader();
      const schemas = new WriterSchemas(
        reader,
        createSchemaRegistryClient(config.schemaRegistry),
        this.log.child({ component: 'schema-registry' }),
      );
      this.confluent = { reader, schemas };
    }
  }

  /** The `schema-registry` readiness check: failing while a writer schema cannot be looked up; undefined without a registry. */
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
        this.predecessors = await this.removePredecessors();
        await this.deleteStaleControlGroups();
        this.connectError = undefined;
        break;
      } catch (error) {
        this.connectError = (error as Error).message;
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
    await this.startControl().catch((error: Error) =>
      this.log.error(
        { err: error, topic: this.topics.ingestControl },
        'cannot read the ingest-control topic; ingest-resume will not reach this instance',
      ),
    );
    if (this.stopped) return;
    await this.consumer.subscribe({ topics: [this.topics.assignments, this.topics.deliveries], fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      // The revocation contract: before this member joins the group again (so before another one
      // is given its partitions), every worker finishes or abandons its flush and commits nothing.
      beforeRejoin: () => this.settleWorkers('rebalance'),
      // Decoding one partition's records overlaps with writing another's (the engine still runs one write at a time).
      partitionsConsumedConcurrently: 3,
      eachBatch: async (payload: EachBatchPayload) => {
        const { batch } = payload;
        if (!payload.isRunning() || payload.isStale() || this.fatal || this.stopped) return;
        this.metrics.consumed.inc({ topic: batch.topic }, batch.messages.length);
        if (batch.messages.length === 0) return;
        const worker = await this.worker(batch.topic, batch.partition, Number(batch.messages[0]!.offset));
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
    this.timer = setInterval(() => this.flushDue(), Math.max(20, Math.min(100, Math.floor(config.ingest.batchMaxMs / 4))));
    // The lag is read from the broker, not from fetched batches: a partition whose batch cannot be
    // written fetches nothing more, and its lag must still grow. Each refresh also records the
    // progress in ClickHouse, where every API replica reads its `freshness`.
    this.lagTimer = setInterval(() => {
      this.lagRefreshing ??= this.refreshLag().finally(() => (this.lagRefreshing = undefined));
    }, config.ingest.lagRefreshMs);
    this.log.info({ topics: this.topics, groupId: config.ingest.groupId }, 'ingest started');
  }

  /**
   * Removes the members of the group that carry this process slot's client id: what a crashed
   * predecessor left behind. Without this, its partitions wait for its session to time out.
   */
  private async removePredecessors(): Promise<string[]> {
    const clientId = this.deps.instanceClientId;
    if (!clientId) return [];
    const groupId = this.deps.config.ingest.groupId;
    const { groups } = await this.admin.describeGroups([groupId]);
    const memberIds = (groups[0]?.members ?? []).filter((member) => member.clientId === clientId).map((member) => member.memberId);
    if (memberIds.length === 0) return [];
    await (this.admin as Admin & GroupMemberRemoval).removeGroupMembers({ groupId, memberIds });
    this.log.warn({ groupId, clientId, memberIds }, 'removed the group members a previous process of this instance left behind');
    return memberIds;
  }

  /** Fails when another member with this slot's client id is in the group: a second live process with the same INGEST_INSTANCE_ID. */
  private async refuseLiveTwin(ownMemberId: string): Promise<void> {
    const clientId = this.deps.instanceClientId!;
    try {
      const { groups } = await this.admin.describeGroups([this.deps.config.ingest.groupId]);
      const twin = (groups[0]?.members ?? []).find((member) => member.clientId === clientId && member.memberId !== ownMemberId);
      if (twin) {
        this.fail(
          `another live process uses this INGEST_INSTANCE_ID (Kafka client id ${clientId}, member ${twin.memberId} from ${twin.clientHost}); give every process its own INGEST_INSTANCE_ID`,
        );
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not check the group for a second process with this instance id');
    }
  }

  /** Ready once the consumer has joined its group (and so owns its partitions), and while the last write succeeded. */
  health(): HealthCheckResult {
    if (this.fatal) return { ok: false, detail: this.fatal };
    if (!this.running) return { ok: false, detail: this.connectError ? `connecting to Kafka: ${this.connectError}` : 'not consuming' };
    if (!this.joined) return { ok: false, detail: `joining consumer group ${this.deps.config.ingest.groupId}` };
    if (this.paused) {
      const { since, reason } = this.paused;
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
    clearInterval(this.lagTimer);
    await this.lagRefreshing;
    await this.drainWorkers(graceMs);
    await this.consumer.disconnect();
    // A worker made by a batch that was being handled while the first drain ran.
    await this.drainWorkers(graceMs);
    await this.control.disconnect();
    await this.deleteControlGroup();
    await this.producer.disconnect();
    await this.admin.disconnect();
    // No partition is owned any more: nothing to report a lag for.
    this.countedThrough.retain(new Set());
    this.log.info('ingest stopped');
  }

  private async drainWorkers(graceMs: number): Promise<void> {
    const workers = await Promise.allSettled(this.workers.values());
    await Promise.all(workers.flatMap((w) => (w.status === 'fulfilled' ? [w.value.drain(graceMs)] : [])));
  }

  /**
   * The revocation contract, run before this member joins its group again (a rebalance gives every
   * partition out anew): every worker starts no new flush, abandons the one in flight if its insert
   * has not started and waits for it if it has, and commits nothing; then the workers are
   * forgotten, and whoever is given a partition reads it again from its committed offset (records
   * an earlier batch wrote are skipped by the written mark). The wait stays within half a session
   * so that the group does not drop this member (and give its partitions out) meanwhile.
   */
  private async settleWorkers(why: string): Promise<void> {
    const workers = [...this.workers.values()];
    this.workers.clear();
    if (workers.length === 0) return;
    const timeoutMs = Math.max(1000, Math.floor(this.deps.config.ingest.sessionTimeoutMs / 2));
    const settled = await Promise.allSettled(workers.map(async (worker) => (await worker).join(timeoutMs)));
    const unsettled = settled.filter((result) => result.status === 'fulfilled' && !result.value).length;
    if (unsettled > 0)
      this.log.error({ why, unsettled, timeoutMs }, 'partition workers still writing when the member joins its group again');
    else this.log.info({ why, workers: workers.length }, 'partition workers settled before joining the group again');
  }

  /** The control reader's group is this process's alone: deleted when it stops (best effort). */
  private async deleteControlGroup(): Promise<void> {
    try {
      await this.admin.deleteGroups([this.controlGroupId]);
    } catch (error) {
      this.log.debug({ err: error, groupId: this.controlGroupId }, 'cannot delete the control reader group');
    }
  }

  /**
   * Deletes the control reader groups that earlier processes left behind (a crash, a kill): those
   * of this ingest group that have no member. A group with members belongs to a running process.
   */
  private async deleteStaleControlGroups(): Promise<void> {
    try {
      const prefix = `${this.deps.config.ingest.groupId}.control.`;
      const { groups } = await this.admin.listGroups();
      const candidates = groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix) && id !== this.controlGroupId);
      if (candidates.length === 0) return;
      const described = await this.admin.describeGroups(candidates);
      const empty = described.groups.filter((group) => group.members.length === 0).map((group) => group.groupId);
      if (empty.length === 0) return;
      await this.admin.deleteGroups(empty);
      this.log.info({ groups: empty }, 'deleted the control reader groups of earlier processes');
    } catch (error) {
      this.log.debug({ err: error }, 'cannot delete the control reader groups of earlier processes');
    }
  }

  /**
   * Reads operator requests published after this instance started (the offsets before are the
   * audit trail of earlier pauses, not requests to this one).
   */
  private async startControl(): Promise<void> {
    const topic = this.topics.ingestControl;
    const [partition] = await this.admin.fetchTopicOffsets(topic);
    const from = Number(partition?.high ?? 0);
    await this.control.connect();
    await this.control.subscribe({ topics: [topic], fromBeginning: true });
    await this.control.run({
      eachMessage: async ({ message }) => {
        if (Number(message.offset) < from) return;
        const request = parseControlRequest(message.value);
        if (!request) {
          this.log.warn({ offset: message.offset }, 'ignoring an unreadable ingest-control record');
          return;
        }
        this.resume(request, message.offset);
      },
    });
  }

  /** The guard tripped: pause fetching every partition until an operator resumes; workers hold meanwhile. */
  private pause(reason: string): Promise<void> {
    if (!this.paused) {
      let resume: () => void = () => undefined;
      const resumed = new Promise<void>((resolve) => (resume = resolve));
      this.paused = { since: new Date(), reason, resume, resumed };
      this.consumer.pause([{ topic: this.topics.assignments }, { topic: this.topics.deliveries }]);
      this.metrics.paused.set(1);
      this.metrics.pausedSince.set(this.paused.since.getTime() / 1000);
      this.log.error(
        { reason, since: this.paused.since.toISOString() },
        'ingest paused: too many invalid records; nothing past them is written or committed until `sending-metrics ingest-resume`',
      );
    }
    return this.paused.resumed;
  }

  private resume(request: ControlRequest, offset: string): void {
    const paused = this.paused;
    if (!paused) {
      this.log.info({ request, offset }, 'ingest resume requested, but this instance is not paused');
      return;
    }
    this.paused = undefined;
    this.guard.acknowledge();
    this.metrics.paused.set(0);
    this.metrics.pausedSince.set(0);
    this.log.warn(
      { request, offset, pausedSince: paused.since.toISOString(), pauseReason: paused.reason },
      'ingest resumed by an operator: the invalid records are dead-lettered until the invalid share is back within the limit',
    );
    paused.resume();
    this.consumer.resume([{ topic: this.topics.assignments }, { topic: this.topics.deliveries }]);
  }

  private fail(reason: string): void {
    if (this.fatal) return;
    this.fatal = reason;
    this.log.fatal({ reason }, 'ingest stopped on its own');
    for (const worker of this.workers.values())
      void worker.then(
        (w) => w.revoke(),
        () => undefined,
      );
    this.emit('fatal', reason);
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    const owned = new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((p) => `${topic}/${p}`)));
    this.owned = owned;
    this.countedThrough.retain(owned);
    for (const [key, worker] of this.workers) {
      if (owned.has(key)) continue;
      this.workers.delete(key);
      void worker.then(
        (w) => w.revoke(),
        () => undefined,
      );
    }
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

  /**
   * Observes every owned partition: sets the lag gauges and records the observation in
   * `ingest_progress` (one insert per refresh), from which the API computes `freshness`.
   * `observedAt` is taken before the high watermarks are asked for, so everything published
   * before it has an offset below the high watermark returned; the committed offsets are read
   * after (a committed offset at least that high means all of it is written: the ingest commits
   * only what it has written). Failures are logged and the next refresh tries again.
   */
  private async refreshLag(): Promise<void> {
    if (!this.running) return;
    try {
      const { groupId, instanceId } = this.deps.config.ingest;
      const topics = [this.topics.assignments, this.topics.deliveries];
      const observedAt = Date.now();
      const watermarks: { topic: string; partition: number; high: number; low: number }[] = [];
      for (const topic of topics) {
        for (const { partition, high, low } of await this.admin.fetchTopicOffsets(topic))
          watermarks.push({ topic, partition, high: Number(high), low: Number(low) });
      }
      const committed = new Map<string, number>();
      for (const topic of await this.admin.fetchOffsets({ groupId, topics }))
        for (const p of topic.partitions) committed.set(`${topic.topic}/${p.partition}`, Number(p.offset));
      const owned = this.owned;
      const observedAtText = dateTime64Text(observedAt);
      const rows: [string, string, number, string, number, number, string][] = [];
      for (const { topic, partition, high, low } of watermarks) {
        const key = `${topic}/${partition}`;
        const labels = { topic, partition: String(partition) };
        if (!owned.has(key)) {
          this.metrics.lag.remove(labels);
          continue;
        }
        // -1: the group has committed nothing for the partition yet; it starts at the low watermark.
        const position = committed.get(key) ?? -1;
        const done = position >= 0 ? position : low;
        this.metrics.lag.set(labels, Math.max(0, high - done));
        this.countedThrough.observe(key, observedAt, high, done);
        rows.push([groupId, topic, partition, observedAtText, high, done, instanceId]);
      }
      this.countedThrough.retain(owned);
      if (rows.length > 0) await this.recordProgress(rows);
    } catch (error) {
      this.log.debug({ err: error }, 'cannot refresh the lag now');
    }
  }

  /** One insert of a refresh's rows into ingest_progress; a failure is logged, never thrown. */
  private async recordProgress(rows: [string, string, number, string, number, number, string][]): Promise<void> {
    try {
      await this.bookkeeping.insert({
        table: 'ingest_progress',
        columns: ['group_id', 'topic', 'partition', 'observed_at', 'high_watermark', 'committed_offset', 'instance_id'],
        format: 'JSONCompactEachRow',
        values: rows,
        clickhouse_settings: { insert_deduplicate: 0 },
      });
      if (this.progressFailing) this.log.info('recording the ingest progress works again');
      this.progressFailing = false;
    } catch (error) {
      const message = 'cannot record the ingest progress (freshness); trying again at the next lag refresh';
      if (this.progressFailing) this.log.debug({ err: error }, message);
      else this.log.warn({ err: error }, message);
      this.progressFailing = true;
    }
  }

  /** The lag_seconds samples, computed at scrape time from the last observations. */
  private lagSecondsSamples(): PartitionLagSeconds[] {
    const now = Date.now();
    return this.countedThrough.keys().flatMap((key) => {
      const seconds = this.countedThrough.lagSeconds(key, now);
      const slash = key.lastIndexOf('/');
      return seconds === undefined ? [] : [{ topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)), seconds }];
    });
  }

  private flushDue(): void {
    const now = Date.now();
    for (const worker of this.workers.values()) {
      void worker.then((w) => w.flushIfDue(now)).catch((error: Error) => this.log.error({ err: error }, 'flush failed'));
    }
  }

  private worker(topic: string, partition: number, firstOffset: number): Promise<PartitionWorker> {
    const key = `${topic}/${partition}`;
    let worker = this.workers.get(key);
    if (!worker) {
      worker = this.createWorker(topic, partition, firstOffset);
      this.workers.set(key, worker);
      worker.catch(() => this.workers.delete(key));
    }
    return worker;
  }

  /**
   * How far the partition is written (ingest_written), used only while the group has a committed
   * offset for it: without one (a new group, a topic deleted and created again, offsets expired)
   * the offsets may name other records, and the eventId window and batch tokens apply as before.
   */
  private async writtenThrough(topic: string, partition: number): Promise<number> {
    const [entry] = await this.admin.fetchOffsets({ groupId: this.deps.config.ingest.groupId, topics: [topic] });
    const committed = Number(entry?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
    if (committed < 0) return -1;
    return this.written.writtenThrough(topic, partition);
  }

  private async createWorker(topic: string, partition: number, firstOffset: number): Promise<PartitionWorker> {
    const { config, clickhouse } = this.deps;
    const kind = eventTypeOfTopic(this.topics, topic);
    if (!kind) throw new Error(`no event type is consumed from topic ${topic}`);
    const table = RAW_TABLES[kind];
    const capacity = Math.max(1, Math.floor(config.ingest.dedupMaxIds / (2 * config.topicPartitions)));
    const seen = new SeenEventIds(capacity);
    await loadRecentEventIds(clickhouse, kind, partition, config.ingest.dedupMaxIds === 0 ? 0 : capacity, (tenant, id, offset) =>
      seen.remember(tenant, id, offset),
    );
    const intents = await this.intents.pending(topic, partition, firstOffset);
    const writtenThrough = await this.writtenThrough(topic, partition);
    const log = this.log.child({ topic, partition });
    log.info({ firstOffset, knownEventIds: seen.size, pendingBatches: intents.length, writtenThrough }, 'partition worker ready');
    const plainWrite = createWriteStep(clickhouse, writeOptionsOf(config));
    // INGEST_DEDUP_MAX_IDS=0 turns duplicate detection off, across partitions too.
    const writeRows =
      config.ingest.dedupMaxIds === 0
        ? async (rows: WritableEvent[], token: string, cancelled: () => boolean) => {
            if (cancelled()) return { duplicates: 0, abandoned: true };
            await plainWrite(table, rows, token);
          }
        : (rows: WritableEvent[], token: string, cancelled: () => boolean) => this.uniqueWrite(kind, rows, token, cancelled);
    const write = async (rows: WritableEvent[], token: string, cancelled: () => boolean) => {
      try {
        return await writeRows(rows, token, cancelled);
      } finally {
        // Also after a failure: part of the batch may be in (answers cached before it are dropped).
        this.deps.onWritten?.(new Set(rows.map((row) => row.event.tenantId)));
      }
    };
    const commit = createCommitStep(this.consumer);
    return new PartitionWorker({
      topic,
      partition,
      groupId: config.ingest.groupId,
      batchMaxRows: config.ingest.batchMaxRows,
      batchMaxMs: config.ingest.batchMaxMs,
      intents,
      writtenThrough,
      metrics: this.metrics,
      logger: log,
      steps: {
        prepare: this.confluent ? (records, wait, cancelled) => this.confluent!.schemas.prepare(records, wait, cancelled) : undefined,
        decode: createDecodeStep(kind, { confluent: this.confluent?.reader }),
        deduplicate: createDeduplicateStep(seen),
        recordIntent: (intent) => this.intents.record(topic, partition, intent),
        deadLetter: createDeadLetterStep(this.producer, this.topics.deadLetter, () => this.deadLetterMaxBytes),
        write,
        recordSkipped: async (skipped) => {
          await this.bookkeeping.insert({
            table: 'ingest_skipped',
            values: skipped.map(({ offset, kind: why }) => ({ group_id: config.ingest.groupId, topic, partition, offset, kind: why })),
            format: 'JSONEachRow',
          });
        },
        recordWritten: (lastOffset) => this.written.record(topic, partition, lastOffset),
        commit: async (lastOffset) => {
          // Never commit a partition this member no longer owns: the owner may be past this offset.
          if (!this.owned.has(`${topic}/${partition}`)) throw new Error(`${topic}[${partition}] is no longer assigned to this member`);
          await commit(topic, partition, lastOffset);
        },
        guard: (invalid) => this.paused?.reason ?? this.guard.observe(invalid),
      },
      onWriteHealth: (ok, detail) => {
        this.writeHealth = ok ? { ok: true } : { ok: false, detail };
      },
      onFatal: (reason) => this.fail(reason),
      onGuardBreach: (reason) => this.pause(reason),
    });
  }
}
