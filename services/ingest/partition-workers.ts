import type { Admin, Consumer, Producer } from 'kafkajs';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';
import type { HealthCheckResult } from '../platform/health.js';
import type { Logger } from '../platform/logger.js';
import type { ConfluentReader } from '../events/confluent-reader.js';
import { eventTypeOfTopic, type TopicNames } from '../events/topics.js';
import { BatchIntentLog, loadRecentEventIds, WrittenMarks } from './batch-intents.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { InvalidRatioGuard } from './invalid-ratio.js';
import type { PauseControl } from './pause-control.js';
import { PartitionWorker } from './partition-worker.js';
import { createCommitStep } from './steps/commit.js';
import { createDeadLetterStep } from './steps/dead-letter.js';
import { createDecodeStep } from './steps/decode.js';
import { createDeduplicateStep, SeenEventIds } from './steps/deduplicate.js';
import { createUniqueWriteStep } from './steps/unique-write.js';
import { WrittenIds } from './dedup/written-ids.js';
import { acquireWriter, type UniqueWrite } from './dedup/shared-writer.js';
import { createWriteStep, RAW_TABLES, writeOptionsOf, type WritableEvent } from './steps/write.js';
import type { WriterSchemas } from './writer-schemas.js';

export interface PartitionWorkersDeps {
  config: Config;
  clickhouse: ClickHouseClient;
  /** The client of the bookkeeping statements: intents, duplicate lookups, skipped offsets, written marks. */
  bookkeeping: ClickHouseClient;
  admin: Admin;
  consumer: Consumer;
  /** Publishes dead letters. */
  producer: Producer;
  topics: TopicNames;
  metrics: IngestMetrics;
  logger: Logger;
  guard: InvalidRatioGuard;
  pauses: PauseControl;
  /** Confluent-framed records: their reader and writer schemas; undefined without a registry. */
  confluent: { reader: ConfluentReader; schemas: WriterSchemas } | undefined;
  /** Largest dead letter now. */
  deadLetterMaxBytes: () => number;
  /** The partitions this member owns now, as "topic/partition". */
  owned: () => ReadonlySet<string>;
  /** Called with the tenants of every batch once its rows are written (and visible to queries). */
  onWritten?: (tenantIds: Set<string>) => void;
  onWriteHealth(health: HealthCheckResult): void;
  onFatal(reason: string): void;
}

/**
 * The partition workers of one ingest process: one per owned partition, made when its first
 * records are fetched (warmed with the partition's recent ids, its pending batch intents and how
 * far it is written), with the steps wired in; and what happens to them at a rebalance (settle),
 * at a stop (drain), when partitions move (retain) and on a fatal error (revokeAll).
 */
export class PartitionWorkers {
  private readonly workers = new Map<string, Promise<PartitionWorker>>();
  private readonly intents: BatchIntentLog;
  private readonly written: WrittenMarks;
  /** One per engine client in the process (shared-writer.ts): the inserts run one batch at a time, each checked for copies first. */
  private readonly uniqueWrite: UniqueWrite;
  private readonly releaseWriter: () => void;
  /** The ids written within the window, in memory (undefined: INGEST_DEDUP_INDEX_MAX_IDS=0, or deduplication off). */
  readonly writtenIds: WrittenIds | undefined;

  constructor(private readonly deps: PartitionWorkersDeps) {
    const { config, bookkeeping, clickhouse, metrics } = deps;
    this.intents = new BatchIntentLog(bookkeeping, config.ingest.groupId);
    this.written = new WrittenMarks(bookkeeping, config.ingest.groupId);
    const windowHours = config.ingest.dedupWindowHours;
    const writer = acquireWriter(clickhouse, () => {
      const writtenIds =
        config.ingest.dedupMaxIds > 0 && config.ingest.dedupIndexMaxIds > 0
          ? new WrittenIds({
              client: bookkeeping,
              windowHours,
              maxIds: config.ingest.dedupIndexMaxIds,
              // The embedded engine has the writers of this process only (sharing this writer); a server may have several.
              followOthers: config.clickhouseUrl !== undefined,
              logger: deps.logger.child({ component: 'duplicate-index' }),
            })
          : undefined;
      return { writtenIds, write: createUniqueWriteStep(clickhouse, writeOptionsOf(config), bookkeeping, { writtenIds, windowHours }) };
    });
    this.writtenIds = writer.writtenIds;
    this.releaseWriter = () => writer.release();
    const onCheck = (seconds: number, cpuSeconds: number) => {
      metrics.dedupCheck.observe(seconds);
      metrics.dedupCheckCpu.inc(cpuSeconds);
    };
    this.uniqueWrite = (kind, rows, token, cancelled) => writer.write(kind, rows, token, cancelled, onCheck);
  }

  /** This member no longer writes (its stop): the shared writer's window stops with its last member. */
  release(): void {
    this.releaseWriter();
  }

  /** The worker of a partition, made on first use. */
  get(topic: string, partition: number, firstOffset: number): Promise<PartitionWorker> {
    const key = `${topic}/${partition}`;
    let worker = this.workers.get(key);
    if (!worker) {
      worker = this.create(topic, partition, firstOffset);
      this.workers.set(key, worker);
      worker.catch(() => this.workers.delete(key));
    }
    return worker;
  }

  /** Flushes every buffer older than the time bound (the pipeline's timer). */
  flushDue(): void {
    const now = Date.now();
    for (const worker of this.workers.values()) {
      void worker.then((w) => w.flushIfDue(now)).catch((error: Error) => this.deps.logger.error({ err: error }, 'flush failed'));
    }
  }

  /** Revokes the workers of partitions no longer owned (their records come back to the next owner). */
  retain(owned: ReadonlySet<string>): void {
    for (const [key, worker] of this.workers) {
      if (owned.has(key)) continue;
      this.workers.delete(key);
      void worker.then(
        (w) => w.revoke(),
        () => undefined,
      );
    }
  }

  /** Revokes every worker (the pipeline stops on its own). */
  revokeAll(): void {
    for (const worker of this.workers.values())
      void worker.then(
        (w) => w.revoke(),
        () => undefined,
      );
  }

  /** Shutdown: every worker finishes (and commits) the batch being written, for at most graceMs. */
  async drain(graceMs: number): Promise<void> {
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
  async settle(why: string): Promise<void> {
    const workers = [...this.workers.values()];
    this.workers.clear();
    if (workers.length === 0) return;
    const timeoutMs = Math.max(1000, Math.floor(this.deps.config.ingest.sessionTimeoutMs / 2));
    const settled = await Promise.allSettled(workers.map(async (worker) => (await worker).join(timeoutMs)));
    const unsettled = settled.filter((result) => result.status === 'fulfilled' && !result.value).length;
    if (unsettled > 0)
      this.deps.logger.error({ why, unsettled, timeoutMs }, 'partition workers still writing when the member joins its group again');
    else this.deps.logger.info({ why, workers: workers.length }, 'partition workers settled before joining the group again');
  }

  /**
   * How far the partition is written (ingest_written), used only while the group has a committed
   * offset for it: without one (a new group, a topic deleted and created again, offsets expired)
   * the offsets may name other records, and the eventId window and batch tokens apply as before.
   */
  private async writtenThrough(topic: string, partition: number): Promise<number> {
    const [entry] = await this.deps.admin.fetchOffsets({ groupId: this.deps.config.ingest.groupId, topics: [topic] });
    const committed = Number(entry?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
    if (committed < 0) return -1;
    return this.written.writtenThrough(topic, partition);
  }

  private async create(topic: string, partition: number, firstOffset: number): Promise<PartitionWorker> {
    const { config, clickhouse, topics, confluent } = this.deps;
    const kind = eventTypeOfTopic(topics, topic);
    if (!kind) throw new Error(`no event type is consumed from topic ${topic}`);
    const table = RAW_TABLES[kind];
    const capacity = Math.max(1, Math.floor(config.ingest.dedupMaxIds / (2 * config.topicPartitions)));
    const seen = new SeenEventIds(capacity);
    // Warmed with the partition's recent ids only without the duplicate index: with it, a copy of an
    // id written before this worker was made is found by the cross-partition check (at an earlier
    // offset of this partition: another location), and the worker only remembers what it reads.
    const limit = config.ingest.dedupMaxIds === 0 || this.writtenIds ? 0 : capacity;
    const recent = { limit, windowHours: config.ingest.dedupWindowHours };
    await loadRecentEventIds(clickhouse, kind, partition, recent, (tenant, id, offset) => seen.remember(tenant, id, offset));
    const intents = await this.intents.pending(topic, partition, firstOffset);
    const writtenThrough = await this.writtenThrough(topic, partition);
    const log = this.deps.logger.child({ topic, partition });
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
    const commit = createCommitStep(this.deps.consumer);
    return new PartitionWorker({
      topic,
      partition,
      groupId: config.ingest.groupId,
      batchMaxRows: config.ingest.batchMaxRows,
      batchMaxMs: config.ingest.batchMaxMs,
      intents,
      writtenThrough,
      metrics: this.deps.metrics,
      logger: log,
      steps: {
        prepare: confluent ? (records, wait, cancelled) => confluent.schemas.prepare(records, wait, cancelled) : undefined,
        decode: createDecodeStep(kind, { confluent: confluent?.reader }),
        deduplicate: createDeduplicateStep(seen),
        recordIntent: (intent) => this.intents.record(topic, partition, intent),
        deadLetter: createDeadLetterStep(this.deps.producer, topics.deadLetter, this.deps.deadLetterMaxBytes),
        write,
        recordSkipped: async (skipped) => {
          await this.deps.bookkeeping.insert({
            table: 'ingest_skipped',
            values: skipped.map(({ offset, kind: why }) => ({ group_id: config.ingest.groupId, topic, partition, offset, kind: why })),
            format: 'JSONEachRow',
          });
        },
        recordWritten: (lastOffset) => this.written.record(topic, partition, lastOffset),
        commit: async (lastOffset) => {
          // Never commit a partition this member no longer owns: the owner may be past this offset.
          if (!this.deps.owned().has(`${topic}/${partition}`))
            throw new Error(`${topic}[${partition}] is no longer assigned to this member`);
          await commit(topic, partition, lastOffset);
        },
        guard: (invalid) => this.deps.pauses.state?.reason ?? this.deps.guard.observe(invalid),
      },
      onWriteHealth: (ok, detail) => this.deps.onWriteHealth(ok ? { ok: true } : { ok: false, detail }),
      onFatal: (reason) => this.deps.onFatal(reason),
      onGuardBreach: (reason) => this.deps.pauses.pause(reason),
    });
  }
}
