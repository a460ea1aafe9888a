import type { Admin } from 'kafkajs';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { dateTime64Text } from '../platform/clickhouse-values.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { TopicNames } from '../events/topics.js';
import { CountedThroughTracker } from './counted-through.js';
import type { IngestMetrics, PartitionLagSeconds } from './ingest-metrics.js';

type ProgressRow = [string, string, number, string, number, number, string];

export interface ProgressReporterDeps {
  config: Config;
  admin: Admin;
  /** Where `ingest_progress` rows go (the bookkeeping client). */
  bookkeeping: ClickHouseClient;
  topics: TopicNames;
  metrics: IngestMetrics;
  logger: Logger;
  /** The partitions this member owns now, as "topic/partition". */
  owned: () => ReadonlySet<string>;
}

/**
 * The ingest's lag and progress, read from the broker (not from fetched batches: a partition
 * whose batch cannot be written fetches nothing more, and its lag must still grow): every
 * INGEST_LAG_REFRESH_MS it sets the lag gauges and records the observation in `ingest_progress`,
 * where every API replica reads its `freshness`.
 */
export class ProgressReporter {
  /** Per owned partition, the time everything published before it is counted (the lag_seconds gauge). */
  private readonly countedThrough = new CountedThroughTracker();
  /** The last insert into ingest_progress failed (logged once at warn, then at debug until it works again). */
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  /** The refresh under way, awaited by stop() before the clients close. */
  private refreshing: Promise<void> | undefined;

  constructor(private readonly deps: ProgressReporterDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    }, this.deps.config.ingest.lagRefreshMs);
  }

  /** Stops refreshing (after the refresh under way); nothing is owned any more: no lag to report. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.refreshing;
    this.countedThrough.retain(new Set());
  }

  /** Forgets the partitions this member no longer owns. */
  retain(owned: ReadonlySet<string>): void {
    this.countedThrough.retain(owned);
  }

  /** The lag_seconds samples, computed at scrape time from the last observations. */
  lagSecondsSamples(): PartitionLagSeconds[] {
    const now = Date.now();
    return this.countedThrough.keys().flatMap((key) => {
      const seconds = this.countedThrough.lagSeconds(key, now);
      const slash = key.lastIndexOf('/');
      return seconds === undefined ? [] : [{ topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)), seconds }];
    });
  }

  /**
   * Observes every owned partition: sets the lag gauges and records the observation in
   * `ingest_progress` (one insert per refresh), from which the API computes `freshness`.
   * `observedAt` is taken before the high watermarks are asked for, so everything published
   * before it has an offset below the high watermark returned; the committed offsets are read
   * after (a committed offset at least that high means all of it is written: the ingest commits
   * only what it has written). Failures are logged and the next refresh tries again.
   */
  private async refresh(): Promise<void> {
    if (!this.timer) return;
    const { admin, metrics, topics: names } = this.deps;
    try {
      const { groupId, instanceId } = this.deps.config.ingest;
      const topics = [names.assignments, names.deliveries];
      const observedAt = Date.now();
      const watermarks: { topic: string; partition: number; high: number; low: number }[] = [];
      for (const topic of topics) {
        for (const { partition, high, low } of await admin.fetchTopicOffsets(topic))
          watermarks.push({ topic, partition, high: Number(high), low: Number(low) });
      }
      const committed = new Map<string, number>();
      for (const topic of await admin.fetchOffsets({ groupId, topics }))
        for (const p of topic.partitions) committed.set(`${topic.topic}/${p.partition}`, Number(p.offset));
      const owned = this.deps.owned();
      const observedAtText = dateTime64Text(observedAt);
      const rows: ProgressRow[] = [];
      for (const { topic, partition, high, low } of watermarks) {
        const key = `${topic}/${partition}`;
        const labels = { topic, partition: String(partition) };
        if (!owned.has(key)) {
          metrics.lag.remove(labels);
          continue;
        }
        // -1: the group has committed nothing for the partition yet; it starts at the low watermark.
        const position = committed.get(key) ?? -1;
        const done = position >= 0 ? position : low;
        metrics.lag.set(labels, Math.max(0, high - done));
        this.countedThrough.observe(key, observedAt, high, done);
        rows.push([groupId, topic, partition, observedAtText, high, done, instanceId]);
      }
      this.countedThrough.retain(owned);
      if (rows.length > 0) await this.record(rows);
    } catch (error) {
      this.deps.logger.debug({ err: error }, 'cannot refresh the lag now');
    }
  }

  /** One insert of a refresh's rows into ingest_progress; a failure is logged, never thrown. */
  private async record(rows: ProgressRow[]): Promise<void> {
    const log = this.deps.logger;
    try {
      await this.deps.bookkeeping.insert({
        table: 'ingest_progress',
        columns: ['group_id', 'topic', 'partition', 'observed_at', 'high_watermark', 'committed_offset', 'instance_id'],
        format: 'JSONCompactEachRow',
        values: rows,
        clickhouse_settings: { insert_deduplicate: 0 },
      });
      if (this.failing) log.info('recording the ingest progress works again');
      this.failing = false;
    } catch (error) {
      const message = 'cannot record the ingest progress (freshness); trying again at the next lag refresh';
      if (this.failing) log.debug({ err: error }, message);
      else log.warn({ err: error }, message);
      this.failing = true;
    }
  }
}
