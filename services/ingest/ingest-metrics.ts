import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/** One owned partition's lag in seconds, as computed when /metrics is scraped. */
export interface PartitionLagSeconds {
  topic: string;
  partition: number;
  seconds: number;
}

/** `lagSeconds` gives the lag_seconds samples at each scrape (none when absent). */
/** The duplicate index's size and state, as computed when /metrics is scraped. */
export interface DuplicateIndexSample {
  ids: number;
  bytes: number;
  state: 'warming' | 'ready' | 'off';
}

/** `lagSeconds` gives the lag_seconds samples at each scrape (none when absent); `duplicateIndex` the index's. */
export function createIngestMetrics(
  registry: Registry,
  options: { lagSeconds?: () => PartitionLagSeconds[]; duplicateIndex?: () => DuplicateIndexSample | undefined } = {},
) {
  const registers = [registry];
  const { lagSeconds, duplicateIndex } = options;
  return {
    consumed: new Counter({
      name: 'sending_metrics_ingest_consumed_total',
      help: 'Records read from Kafka',
      labelNames: ['topic'],
      registers,
    }),
    written: new Counter({
      name: 'sending_metrics_ingest_written_total',
      help: 'Events written to ClickHouse',
      labelNames: ['topic'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'sending_metrics_ingest_dead_lettered_total',
      help: 'Records sent to the dead-letter topic, by the kind of reason (empty, undecodable, invalid, wrong_topic, other)',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    deadLettersTruncated: new Counter({
      name: 'sending_metrics_ingest_dead_letters_truncated_total',
      help: 'Dead letters sent with only a prefix of the value because the whole record would exceed the size limit',
      labelNames: ['topic'],
      registers,
    }),
    duplicates: new Counter({
      name: 'sending_metrics_ingest_duplicates_dropped_total',
      help: 'Events dropped because their eventId was already counted',
      labelNames: ['topic'],
      registers,
    }),
    dedupCheck: new Histogram({
      name: 'sending_metrics_ingest_dedup_check_seconds',
      help: "Time to check one batch's event ids for copies written within the window (INGEST_DEDUP_WINDOW_HOURS), before its insert",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    dedupCheckCpu: new Counter({
      name: 'sending_metrics_ingest_dedup_check_cpu_seconds_total',
      help: "CPU of the ingest's JS thread spent checking batches' event ids for copies (hashing, the in-memory index, choosing the rows)",
      registers,
    }),
    dedupIndex: new Gauge({
      name: 'sending_metrics_ingest_dedup_index',
      help: 'The in-memory duplicate index: `ids` in the window and `bytes` held, and `ready` 1 once warm (0 while warming, -1 when off: every batch asks ClickHouse)',
      labelNames: ['measure'],
      registers,
      collect() {
        const sample = duplicateIndex?.();
        if (!sample) return;
        this.set({ measure: 'ids' }, sample.ids);
        this.set({ measure: 'bytes' }, sample.bytes);
        this.set({ measure: 'ready' }, sample.state === 'ready' ? 1 : sample.state === 'warming' ? 0 : -1);
      },
    }),
    writeFailures: new Counter({ name: 'sending_metrics_ingest_write_failures_total', help: 'Failed batch writes (retried)', registers }),
    batchSize: new Histogram({
      name: 'sending_metrics_ingest_batch_size',
      help: 'Records per written batch',
      buckets: [1, 10, 100, 1000, 5000, 10000, 20000, 50000, 100000],
      registers,
    }),
    writeLatency: new Histogram({
      name: 'sending_metrics_ingest_write_seconds',
      help: 'Time to write one batch (dead letters, insert and commit)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    lastCommit: new Gauge({
      name: 'sending_metrics_ingest_last_commit_seconds',
      help: 'Unix time of the last offset commit of this process (after a written batch)',
      registers,
    }),
    paused: new Gauge({
      name: 'sending_metrics_ingest_paused',
      help: '1 while the invalid-ratio guard holds consumption (until `sending-metrics ingest-resume`), else 0',
      registers,
    }),
    pausedSince: new Gauge({
      name: 'sending_metrics_ingest_paused_since_seconds',
      help: 'Unix time the current pause began; 0 when not paused',
      registers,
    }),
    lag: new Gauge({
      name: 'sending_metrics_ingest_lag',
      help: 'Records of an owned partition not yet committed: high watermark minus the committed offset, refreshed from the broker',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    lagSeconds: new Gauge({
      name: 'sending_metrics_ingest_lag_seconds',
      help:
        'Seconds from the time before which everything published to an owned partition is counted, to now (computed at scrape). ' +
        'Before this process has seen the partition caught up once, the seconds since its first look at it: a lower bound',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        if (!lagSeconds) return;
        this.reset();
        for (const { topic, partition, seconds } of lagSeconds()) this.set({ topic, partition: String(partition) }, seconds);
      },
    }),
  };
}
