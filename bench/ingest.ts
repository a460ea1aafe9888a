/**
 * make bench-ingest: events per second from Kafka into queryable ClickHouse aggregates, against
 * two bounds measured in the same run on the same machine:
 *   - consume bound: a bare kafkajs consumer reading the same topics without decoding or writing;
 *   - write bound:   the same rows inserted into the same tables (views included) from memory.
 * ratio_to_bound = ingest rate / the lower bound. Also the freshness at 1,000 events/s: p95 of
 * the time from publishing to being counted in the aggregates, and how the ingest wrote (rows per
 * insert, inserts per second, from its batch-size histogram). Where the time goes: the event
 * loop's delay while ingesting, the process's CPU (JS thread and engine threads) in the ingest and
 * in the write bound, and each kind of engine statement's count and time (chDB keeps no query_log).
 * Usage: npx tsx bench/ingest.ts [--events 1000000]
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
  options: { events: { type: 'string', default: '1000000' }, 'freshness-seconds': { type: 'string', default: '15' } },
});
const total = Number(values.events);
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
const topics = topicNames(config.topicPrefix);
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

say(`generating ${total} events (simulator, 3 tenants, spread over 30 days)`);
const events = createSimulator({ seed: 42, tenants: 3, campaigns: 12, startMs: Date.UTC(2026, 9, 1), spreadMs: 30 * 86_400_000 }).take(
  total,
);
const publisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger });
await publisher.connect();
let started = Date.now();
await publisher.publish(events);
await publisher.disconnect();
say(
  `published ${total} events in ${((Date.now() - started) / 1000).toFixed(1)} s (${rate(total, Date.now() - started)}/s) to ${config.topicPartitions} partitions per topic`,
);

// 1. The ingest: from the first fetch to every event counted in the rollups.
const ingestRegistry = new Registry();
const ingest = new IngestPipeline({ config, kafka, clickhouse: clickhouse.client, logger, registry: ingestRegistry });
started = Date.now();
let cpu = process.cpuUsage();
const ingestEngine = engineTime();
await ingest.start();
// Progress is read from the ingest's own counter of written rows (no query: the engine runs one
// statement at a time, and a poll of the rollups every 100 ms took a sixth of its time); once
// every row is written, one query confirms they are all counted in the rollups.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const writtenRows = async () =>
  (await ingestRegistry.getSingleMetric('sending_metrics_ingest_written_total')!.get()).values.reduce((sum, v) => sum + v.value, 0);
for (;;) {
  if ((await writtenRows()) >= total && (await counted()) >= total) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
loopDelay.disable();
const ingestMs = Date.now() - started;
const ingestCpu = cpuSeconds(cpu);
const ingestStatements = ingestEngine.stop();
const ingestRate = rate(total, ingestMs);
say(
  `ingest:        ${total} events consumed, decoded, validated, deduplicated, written and queryable in ${(ingestMs / 1000).toFixed(2)} s = ${ingestRate} events/s`,
);
// How the ingest wrote them: batches (one insert each into a raw table, feeding its views).
const batchSizes = (await ingestRegistry.getSingleMetric('sending_metrics_ingest_batch_size')!.get()).values;
const batches = batchSizes.find((v) => (v as { metricName?: string }).metricName === 'sending_metrics_ingest_batch_size_count')?.value ?? 0;
const batchRows = batchSizes.find((v) => (v as { metricName?: string }).metricName === 'sending_metrics_ingest_batch_size_sum')?.value ?? 0;
say(
  `ingest writes: ${batches} batches, ${batches > 0 ? Math.round(batchRows / batches) : 0} rows per insert on average, ${(batches / (ingestMs / 1000)).toFixed(1)} inserts/s (INGEST_BATCH_MAX_ROWS ${config.ingest.batchMaxRows}, INGEST_BATCH_MAX_MS ${config.ingest.batchMaxMs}, ${config.topicPartitions} partitions × 2 topics)`,
);

// 4. Freshness at 1,000 events/s while the ingest runs (measured now, before the bounds reuse the data).
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
await ingest.stop();
const latencies = ticks.map((t) => t.seenAt! - t.sentAt).sort((a, b) => a - b);
const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
say(
  `freshness:     1,000 events/s for ${freshSeconds} s, publish → counted in the aggregates: p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${latencies.at(-1)} ms`,
);

// 2. Consume bound: the same topics read by a bare kafkajs consumer, nothing else done.
const consumer = kafka.consumer({
  groupId: `${config.ingest.groupId}-bound`,
  maxBytes: 64 * 1024 * 1024,
  maxBytesPerPartition: 8 * 1024 * 1024,
  maxWaitTimeInMs: 100,
});
await consumer.connect();
await consumer.subscribe({ topics: [topics.assignments, topics.deliveries], fromBeginning: true });
let consumed = 0;
const target = total; // only the pre-loaded events count; the freshness events come after them
started = Date.now();
await new Promise<void>((resolve) => {
  void consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      consumed += batch.messages.length;
      if (consumed >= target) resolve();
    },
  });
});
const consumeMs = Date.now() - started;
await consumer.disconnect();
const consumeRate = rate(target, consumeMs);
say(`consume bound: ${target} records fetched by a bare kafkajs consumer in ${(consumeMs / 1000).toFixed(2)} s = ${consumeRate} records/s`);

// 3. Write bound: the same rows written from memory by the same writer, in the same batch size.
for (const table of [
  'assignment_events',
  'delivery_events',
  'assignment_counts_15m',
  'delivery_counts_15m',
  'assignment_counts_1d',
  'delivery_counts_1d',
  'campaign_names',
  'ingest_event_ids',
]) {
  await clickhouse.client.command({ query: `TRUNCATE TABLE ${table}` });
}
const write = createWriteStep(clickhouse.client);
const byTable = {
  assignment_events: events.filter((e) => e.type === 'assignment').map((event, offset) => ({ event, partition: 0, offset })),
  delivery_events: events.filter((e) => e.type === 'delivery').map((event, offset) => ({ event, partition: 0, offset })),
};
started = Date.now();
cpu = process.cpuUsage();
const writeEngine = engineTime();
for (const [table, rows] of Object.entries(byTable) as [keyof typeof byTable, (typeof byTable)['assignment_events']][]) {
  for (let i = 0; i < rows.length; i += config.ingest.batchMaxRows)
    await write(table, rows.slice(i, i + config.ingest.batchMaxRows), `bound/${table}/${i}`);
}
const writeMs = Date.now() - started;
const writeCpu = cpuSeconds(cpu);
const writeStatements = writeEngine.stop();
const writeRate = rate(total, writeMs);
say(
  `write bound:   ${total} rows inserted from memory (same tables and views, batches of ${config.ingest.batchMaxRows}) in ${(writeMs / 1000).toFixed(2)} s = ${writeRate} rows/s`,
);
if ((await counted()) !== total) throw new Error('the write bound did not write every row');
// Where the time goes: the whole process's CPU (JS thread and the engine's threads) and the engine's statements.
say(
  `event loop:    during the ingest, delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms (a statement's result waits for the JS thread)`,
);
say(
  `process CPU:   ingest ${ingestCpu.toFixed(1)} s (${(ingestCpu / (ingestMs / 1000)).toFixed(2)} cores), write bound ${writeCpu.toFixed(1)} s (${(writeCpu / (writeMs / 1000)).toFixed(2)} cores)`,
);
sayEngineTime('ingest:       ', ingestStatements, ingestMs);
sayEngineTime('write bound:  ', writeStatements, writeMs);

const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
await admin.disconnect();
await clickhouse.close();
fs.rmSync(dataDir, { recursive: true, force: true });
const bound = Math.min(consumeRate, writeRate);
say(`freshness_p95_ms=${p(0.95)} bound=${bound}`);
say(
  `RESULT ingest_events_per_s=${ingestRate} ratio_to_bound=${(ingestRate / bound).toFixed(2)} rows_per_insert=${batches > 0 ? Math.round(batchRows / batches) : 0} inserts_per_s=${(batches / (ingestMs / 1000)).toFixed(1)}`,
);
