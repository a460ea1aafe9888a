/**
 * make bench-ingest: events per second from Kafka into queryable ClickHouse aggregates, against
 * two bounds measured in the same run on the same machine:
 *   - consume bound: a bare kafkajs consumer reading the same topics without decoding or writing;
 *   - write bound:   the same rows inserted into the same tables (views included) from memory.
 * ratio_to_bound = ingest rate / the lower bound, the median of three alternating pairs (each ingest
 * run its own topics and events, each followed by the write bound of the same rows).
 * --window-ids N first fills the deduplication state (ingest_event_ids, ingest_event_id_hashes)
 * with N ids written over the last day, as a sender of N events a day would have; the ingest
 * warms its duplicate index from them (timed apart) and every batch is checked against them. The
 * RESULT line carries window_ids and the per-batch duplicate-check time (mean over the runs'
 * batches). Also the freshness at 1,000 events/s: p95 of
 * the time from publishing to being counted in the aggregates, and how the ingest wrote (rows per
 * insert, inserts per second, from its batch-size histogram). Where the time goes: the event
 * loop's delay while ingesting, the process's CPU (JS thread and engine threads) in the ingest and
 * in the write bound, and each kind of engine statement's count and time (chDB keeps no query_log).
 * Usage: npx tsx bench/ingest.ts [--events 1000000] [--window-ids 0]   (make: WINDOW_IDS=N make bench-ingest)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { topicNames } from '../services/events/topics.js';
import type { SendingEvent } from '../services/events/types.js';
import { IngestPipeline } from '../services/ingest/pipeline.js';
import { createWriteStep } from '../services/ingest/steps/write.js';
import { observeEngineStatements, openClickHouse, type EngineStatement } from '../services/platform/clickhouse.js';
import { loadConfig } from '../services/platform/config.js';
import { createKafka } from '../services/platform/kafka.js';
import { createLogger } from '../services/platform/logger.js';
import { createPublisher } from '../services/producer/publisher.js';
import { createSimulator } from '../services/producer/simulator.js';
import { applyMigrations } from '../services/migrations/migrate.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'freshness-seconds': { type: 'string', default: '15' },
    'window-ids': { type: 'string', default: '0' },
  },
});
const total = Number(values.events);
const windowIds = Number(values['window-ids']);
const PAIRS = 3;
const stamp = Date.now();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-ingest-'));
const config = loadConfig({
  ...process.env,
  DATA_DIR: dataDir,
  TOPIC_PREFIX: `bench-ingest-${stamp}.`,
  INGEST_GROUP_ID: `bench-ingest-${stamp}`,
  LOG_LEVEL: 'warn',
});
const logger = createLogger('warn');
const kafka = createKafka(config, logger, 'bench-ingest');
const clickhouse = await openClickHouse(config, logger);
await applyMigrations(clickhouse.client, logger);
const say = (line: string) => process.stdout.write(`${line}\n`);
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

async function scalar(query: string): Promise<number> {
  const result = await clickhouse.client.query({ query, format: 'JSONCompactEachRow' });
  return Number(((await result.json()) as [[string | number]])[0]![0]);
}
/** Engine time by statement (chDB has no query_log): "insert <table>" or "<kind> <first table read>". */
function engineTime(): { stop: () => Map<string, { ms: number; count: number }> } {
  const byLabel = new Map<string, { ms: number; count: number }>();
  const label = ({ kind, text }: EngineStatement) => {
    const insert = /^\s*INSERT INTO\s+([\w.`"]+)/i.exec(text);
    if (insert) return `insert ${insert[1]}`;
    const from = /\bFROM\s+([\w.]+)/i.exec(text);
    return `${kind} ${from ? from[1] : text.trim().split(/\s+/).slice(0, 3).join(' ')}`;
  };
  const stop = observeEngineStatements(clickhouse.client, (statement) => {
    const key = label(statement);
    const entry = byLabel.get(key) ?? { ms: 0, count: 0 };
    entry.ms += statement.ms;
    entry.count += 1;
    byLabel.set(key, entry);
  });
  return {
    stop: () => {
      stop();
      return byLabel;
    },
  };
}
/** The statements' time, summed over the engine's sessions (the ingest's bookkeeping runs on a second one, so it may pass 100 %). */
function sayEngineTime(title: string, byLabel: Map<string, { ms: number; count: number }>, wallMs: number): void {
  const entries = [...byLabel].sort((a, b) => b[1].ms - a[1].ms);
  const busy = entries.reduce((sum, [, e]) => sum + e.ms, 0);
  say(`${title} statements ${(busy / 1000).toFixed(2)} s in ${(wallMs / 1000).toFixed(2)} s (${Math.round((100 * busy) / wallMs)} %):`);
  for (const [key, { ms, count }] of entries.slice(0, 8))
    say(
      `  ${key.padEnd(44)} ${String(count).padStart(6)} × ${(ms / count).toFixed(1).padStart(7)} ms = ${(ms / 1000).toFixed(2).padStart(6)} s`,
    );
}
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

const counted = () =>
  scalar('SELECT (SELECT sum(entries + exits) FROM assignment_counts_15m) + (SELECT sum(events) FROM delivery_counts_15m)');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const histogram = async (registry: Registry, name: string) => {
  const values = (await registry.getSingleMetric(name)!.get()).values as { metricName?: string; value: number }[];
  return {
    count: values.find((v) => v.metricName === `${name}_count`)?.value ?? 0,
    sum: values.find((v) => v.metricName === `${name}_sum`)?.value ?? 0,
  };
};
const RAW_AND_ROLLUPS = [
  'assignment_events',
  'delivery_events',
  'assignment_counts_15m',
  'delivery_counts_15m',
  'assignment_counts_1d',
  'delivery_counts_1d',
  'campaign_names',
];

let started = Date.now();

// 0. The deduplication state of a sender of `windowIds` events a day: ids written over the last
// day, in both id tables (as the ingest's views write them), none of them among the runs' events.
if (windowIds > 0) {
  started = Date.now();
  for (let from = 0; from < windowIds; from += 4_000_000) {
    const count = Math.min(4_000_000, windowIds - from);
    const ids = `SELECT if(number % 2 = 0, 'assignment', 'delivery') AS kafka_topic, concat('window-', toString(number % 7)) AS tenant_id,
                        concat('window-event-', toString(number)) AS event_id, toUInt32(number % ${config.topicPartitions}) AS kafka_partition,
                        intDiv(number, ${2 * config.topicPartitions}) AS kafka_offset,
                        toDateTime(now() - ((number * 86399) % 86400)) AS ingested_at
                 FROM numbers(${from}, ${count})`;
    await clickhouse.client.command({
      query: `INSERT INTO ingest_event_ids (tenant_id, event_id, kafka_topic, kafka_partition, kafka_offset, ingested_at)
              SELECT tenant_id, event_id, kafka_topic, kafka_partition, kafka_offset, ingested_at FROM (${ids})`,
    });
    await clickhouse.client.command({
      query: `INSERT INTO ingest_event_id_hashes (kafka_topic, id_hash, tenant_id, event_id, kafka_partition, kafka_offset, ingested_at)
              SELECT kafka_topic, xxHash64(concat(tenant_id, '\\0', event_id)), tenant_id, event_id, kafka_partition, kafka_offset, ingested_at FROM (${ids})`,
    });
  }
  say(
    `window:        ${windowIds} ids of the last day written to ingest_event_ids and ingest_event_id_hashes in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

interface IngestRun {
  rate: number;
  ms: number;
  cpu: number;
  warmMs: number;
  indexIds: number;
  indexBytes: number;
  checkMs: number;
  /** The JS thread's CPU per batch's check (wall time varies with what else the 2 cores run). */
  checkCpuMs: number;
  batches: number;
  batchRows: number;
  loopDelay: { p50: number; p99: number; max: number };
  statements: Map<string, { ms: number; count: number }>;
}

/** One ingest run over its own topics: from the first fetch (the duplicate index warm) to every event counted. */
async function ingestRun(run: number, events: SendingEvent[], freshness: boolean): Promise<IngestRun & { freshP95?: number }> {
  const runConfig = {
    ...config,
    topicPrefix: `bench-ingest-${stamp}-${run}.`,
    ingest: { ...config.ingest, groupId: `bench-ingest-${stamp}-${run}` },
  };
  const topics = topicNames(runConfig.topicPrefix);
  const publisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger });
  await publisher.connect();
  let started = Date.now();
  await publisher.publish(events);
  await publisher.disconnect();
  say(
    `run ${run + 1}: published ${events.length} events in ${((Date.now() - started) / 1000).toFixed(1)} s (${rate(events.length, Date.now() - started)}/s) to ${config.topicPartitions} partitions per topic`,
  );
  const registry = new Registry();
  const ingest = new IngestPipeline({
    config: runConfig,
    kafka,
    clickhouse: clickhouse.client,
    logger,
    registry,
    awaitDuplicateIndex: true,
  });
  const warmStarted = Date.now();
  const starting = ingest.start();
  await ingest.duplicateIndex()?.whenSettled();
  const warmMs = Date.now() - warmStarted;
  const index = ingest.duplicateIndex()?.size() ?? { ids: 0, bytes: 0 };
  started = Date.now();
  const cpu = process.cpuUsage();
  const engine = engineTime();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  await starting;
  // Progress is read from the ingest's own counter of written rows (no query: the engine runs one
  // statement at a time, and a poll of the rollups every 100 ms took a sixth of its time); once
  // every row is written, one query confirms they are all counted in the rollups.
  const writtenRows = async () =>
    (await registry.getSingleMetric('sending_metrics_ingest_written_total')!.get()).values.reduce((sum, v) => sum + v.value, 0);
  for (;;) {
    if ((await writtenRows()) >= events.length && (await counted()) >= events.length) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  loopDelay.disable();
  const ms = Date.now() - started;
  const result = {
    rate: rate(events.length, ms),
    ms,
    cpu: cpuSeconds(cpu),
    warmMs,
    indexIds: index.ids,
    indexBytes: index.bytes,
    statements: engine.stop(),
    loopDelay: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    ...(await (async () => {
      const batch = await histogram(registry, 'sending_metrics_ingest_batch_size');
      const check = await histogram(registry, 'sending_metrics_ingest_dedup_check_seconds');
      const checkCpu =
        (await registry.getSingleMetric('sending_metrics_ingest_dedup_check_cpu_seconds_total')!.get()).values[0]?.value ?? 0;
      return {
        batches: batch.count,
        batchRows: batch.sum,
        checkMs: check.count > 0 ? (1000 * check.sum) / check.count : 0,
        checkCpuMs: check.count > 0 ? (1000 * checkCpu) / check.count : 0,
      };
    })()),
  };
  say(
    `run ${run + 1}: ingest ${events.length} events consumed, decoded, validated, deduplicated, written and queryable in ${(ms / 1000).toFixed(2)} s = ${result.rate} events/s; ` +
      `duplicate index warmed first in ${(warmMs / 1000).toFixed(1)} s (${index.ids} ids, ${(index.bytes / 1e6).toFixed(0)} MB); ` +
      `duplicate check ${result.checkMs.toFixed(1)} ms per batch (${result.checkCpuMs.toFixed(1)} ms of the JS thread's CPU) over ${result.batches} batches of ${result.batches > 0 ? Math.round(result.batchRows / result.batches) : 0} rows`,
  );
  const freshP95 = freshness ? await measureFreshness(topics) : undefined;
  await ingest.stop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect();
  return { ...result, freshP95 };
}

/** Freshness at 1,000 events/s while the ingest runs: publish → counted in the aggregates. */
async function measureFreshness(topics: ReturnType<typeof topicNames>): Promise<number> {
  const freshSeconds = Number(values['freshness-seconds']);
  const freshPublisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger });
  await freshPublisher.connect();
  const live = createSimulator({ seed: 7, tenants: 1, campaigns: 3, clock: () => Date.now() });
  const ticks: { tenant: string; count: number; sentAt: number; seenAt?: number }[] = [];
  const polling = (async () => {
    while (ticks.length < freshSeconds * 10 || ticks.some((t) => t.seenAt === undefined)) {
      const result = await clickhouse.client.query({
        query: `SELECT tenant_id, sum(n) FROM (
                  SELECT tenant_id, sum(entries + exits) AS n FROM assignment_counts_15m WHERE startsWith(tenant_id, 'fresh-') GROUP BY tenant_id
                  UNION ALL SELECT tenant_id, sum(events) AS n FROM delivery_counts_15m WHERE startsWith(tenant_id, 'fresh-') GROUP BY tenant_id)
                GROUP BY tenant_id`,
        format: 'JSONCompactEachRow',
      });
      const seen = new Map(((await result.json()) as [string, string][]).map(([tenant, n]) => [tenant, Number(n)]));
      const now = Date.now();
      for (const tick of ticks) if (tick.seenAt === undefined && seen.get(tick.tenant) === tick.count) tick.seenAt = now;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  for (let i = 0; i < freshSeconds * 10; i += 1) {
    const due = Date.now() + 100;
    const tenant = `fresh-${i}`;
    const batch: SendingEvent[] = live.take(100).map((event) => ({ ...event, tenantId: tenant, eventId: `${tenant}-${event.eventId}` }));
    const tick = { tenant, count: batch.length, sentAt: Date.now() };
    await freshPublisher.publish(batch);
    ticks.push(tick);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
  }
  await polling;
  await freshPublisher.disconnect();
  const latencies = ticks.map((t) => t.seenAt! - t.sentAt).sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  say(
    `freshness:     1,000 events/s for ${freshSeconds} s, publish → counted in the aggregates: p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${latencies.at(-1)} ms`,
  );
  return p(0.95);
}

/** Write bound: the same rows written from memory by the same writer, in the same batch size, into emptied tables. */
async function writeBound(
  events: SendingEvent[],
): Promise<{ rate: number; cpu: number; statements: Map<string, { ms: number; count: number }> }> {
  const write = createWriteStep(clickhouse.client);
  const byTable = {
    assignment_events: events.filter((e) => e.type === 'assignment').map((event, offset) => ({ event, partition: 0, offset })),
    delivery_events: events.filter((e) => e.type === 'delivery').map((event, offset) => ({ event, partition: 0, offset })),
  };
  const started = Date.now();
  const cpu = process.cpuUsage();
  const engine = engineTime();
  for (const [table, rows] of Object.entries(byTable) as [keyof typeof byTable, (typeof byTable)['assignment_events']][]) {
    for (let i = 0; i < rows.length; i += config.ingest.batchMaxRows)
      await write(table, rows.slice(i, i + config.ingest.batchMaxRows), `bound/${stamp}/${table}/${i}`);
  }
  const ms = Date.now() - started;
  if ((await counted()) !== events.length) throw new Error('the write bound did not write every row');
  say(
    `write bound:   ${events.length} rows inserted from memory (same tables and views, batches of ${config.ingest.batchMaxRows}) in ${(ms / 1000).toFixed(2)} s = ${rate(events.length, ms)} rows/s`,
  );
  return { rate: rate(events.length, ms), cpu: cpuSeconds(cpu), statements: engine.stop() };
}

const emptyRawAndRollups = async () => {
  for (const table of RAW_AND_ROLLUPS) await clickhouse.client.command({ query: `TRUNCATE TABLE ${table}` });
};

// 1. Three alternating pairs: an ingest run over its own topics and events, then the write bound of the same rows.
say(`generating ${PAIRS} × ${total} events (simulator, 3 tenants, spread over 30 days, a seed per run)`);
const pairs: { ingest: IngestRun; bound: Awaited<ReturnType<typeof writeBound>> }[] = [];
let freshP95 = 0;
for (let run = 0; run < PAIRS; run += 1) {
  const events = createSimulator({ seed: 42 + run, tenants: 3, campaigns: 12, startMs: Date.UTC(2026, 9, 1), spreadMs: 30 * 86_400_000 })
    .take(total)
    .map((event) => ({ ...event, eventId: `${run}-${event.eventId}` }));
  await emptyRawAndRollups();
  const ingest = await ingestRun(run, events, run === 0);
  if (run === 0) freshP95 = ingest.freshP95!;
  await emptyRawAndRollups();
  const bound = await writeBound(events);
  pairs.push({ ingest, bound });
}

// 2. Consume bound: a bare kafkajs consumer reading a run's worth of records, nothing else done.
const boundTopics = topicNames(`bench-ingest-${stamp}-consume.`);
const boundPublisher = createPublisher({ kafka, topics: boundTopics, partitions: config.topicPartitions, logger });
await boundPublisher.connect();
await boundPublisher.publish(
  createSimulator({ seed: 41, tenants: 3, campaigns: 12, startMs: Date.UTC(2026, 9, 1), spreadMs: 30 * 86_400_000 }).take(total),
);
await boundPublisher.disconnect();
const consumer = kafka.consumer({
  groupId: `bench-ingest-${stamp}-bound`,
  maxBytes: 64 * 1024 * 1024,
  maxBytesPerPartition: 8 * 1024 * 1024,
  maxWaitTimeInMs: 100,
});
await consumer.connect();
await consumer.subscribe({ topics: [boundTopics.assignments, boundTopics.deliveries], fromBeginning: true });
let consumed = 0;
started = Date.now();
await new Promise<void>((resolve) => {
  void consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      consumed += batch.messages.length;
      if (consumed >= total) resolve();
    },
  });
});
const consumeMs = Date.now() - started;
await consumer.disconnect();
const consumeRate = rate(total, consumeMs);
say(`consume bound: ${total} records fetched by a bare kafkajs consumer in ${(consumeMs / 1000).toFixed(2)} s = ${consumeRate} records/s`);

// Where the time goes, for the median pair: the process's CPU (JS thread and engine threads), the event loop, each statement kind.
const ratios = pairs.map(({ ingest, bound }) => ingest.rate / Math.min(consumeRate, bound.rate));
const middle = pairs[ratios.indexOf(median(ratios))]!;
say(
  `pairs:         ingest ${pairs.map((p) => p.ingest.rate).join(', ')} events/s; write bound ${pairs.map((p) => p.bound.rate).join(', ')} rows/s; ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}`,
);
say(
  `event loop:    during the median run's ingest, delay p50 ${middle.ingest.loopDelay.p50.toFixed(0)} ms, p99 ${middle.ingest.loopDelay.p99.toFixed(0)} ms, max ${middle.ingest.loopDelay.max.toFixed(0)} ms (a statement's result waits for the JS thread)`,
);
say(
  `process CPU:   ingest ${middle.ingest.cpu.toFixed(1)} s (${(middle.ingest.cpu / (middle.ingest.ms / 1000)).toFixed(2)} cores, ${((1e6 * middle.ingest.cpu) / total).toFixed(1)} µs per event), ` +
    `write bound ${middle.bound.cpu.toFixed(1)} s (${((1e6 * middle.bound.cpu) / total).toFixed(1)} µs per event)`,
);
sayEngineTime('ingest:       ', middle.ingest.statements, middle.ingest.ms);
sayEngineTime('write bound:  ', middle.bound.statements, (1000 * total) / middle.bound.rate);

const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: Object.values(boundTopics) }).catch(() => undefined);
await admin.disconnect();
await clickhouse.close();
fs.rmSync(dataDir, { recursive: true, force: true });
const ingestRate = median(pairs.map((p) => p.ingest.rate));
const checkMs = median(pairs.map((p) => p.ingest.checkMs));
const checkCpuMs = median(pairs.map((p) => p.ingest.checkCpuMs));
const batches = middle.ingest.batches;
say(`freshness_p95_ms=${freshP95} bound=${Math.min(consumeRate, middle.bound.rate)}`);
say(
  `RESULT ingest_events_per_s=${ingestRate} ratio_to_bound=${median(ratios).toFixed(2)} window_ids=${windowIds} dedup_check_ms_per_batch=${checkMs.toFixed(1)} dedup_check_cpu_ms_per_batch=${checkCpuMs.toFixed(1)} ` +
    `index_mb=${(middle.ingest.indexBytes / 1e6).toFixed(0)} warm_s=${(middle.ingest.warmMs / 1000).toFixed(1)} ` +
    `rows_per_insert=${batches > 0 ? Math.round(middle.ingest.batchRows / batches) : 0} inserts_per_s=${(batches / (middle.ingest.ms / 1000)).toFixed(1)}`,
);
