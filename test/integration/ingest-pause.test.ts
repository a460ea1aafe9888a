import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { Admin, Kafka } from 'kafkajs';
import { encodeEvent } from '../../services/events/codec.js';
import { topicNames } from '../../services/events/topics.js';
import type { IngestPipeline } from '../../services/ingest/pipeline.js';
import { DEAD_LETTER_HEADERS } from '../../services/ingest/steps/dead-letter.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { runCli } from '../support/cli.js';
import { generateEvents } from '../../fixtures/events.js';
import { countRaw } from '../support/tables.js';
import { metricSamples } from '../support/metric-samples.js';
import { partitionProgress } from '../support/group-progress.js';
import { readDeadLetters } from '../support/dead-letters.js';
import { waitFor } from '../support/wait-for.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';

/**
 * A burst of bad records trips the invalid-ratio guard: the ingest pauses (the process and its
 * API stay up, /readyz and a metric say why and since when) instead of exiting, and an operator
 * resumes it with `sending-metrics ingest-resume` (Kafka only), which dead-letters the burst.
 */
describe('ingest: the invalid-ratio guard pauses, an operator resumes', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let kafka: Kafka;
  let admin: Admin;
  let ingest: IngestPipeline;
  let bed: IngestBed;
  let registry: Registry;
  const fatal: string[] = [];

  beforeAll(async () => {
    bed = await openIngestBed('ingest-pause', { batchMaxRows: 1000, batchMaxMs: 100, maxInvalidRatio: 0.5, invalidRatioWindow: 20 });
    ({ clickhouse, config, kafka, admin, ingest, registry } = bed);
    ingest.on('fatal', (reason: string) => fatal.push(reason));
    const pipeline = ingest;
    await waitFor('the ingest to be ready', async () => pipeline.health().ok);
  });

  afterAll(async () => {
    await bed?.close();
  });

  it('pauses at the burst without committing past it, stays up, and `ingest-resume` dead-letters the burst and counts the rest', async () => {
    const topics = topicNames(config.topicPrefix);
    const valid = generateEvents({ seed: 8, count: 200, startMs: Date.UTC(2026, 10, 4), spanMs: 3_600_000 })
      .filter((e) => e.type === 'assignment')
      .slice(0, 60);
    const burst = Array.from({ length: 60 }, (_, i) => Buffer.from(`not an event ${i}`));
    const producer = kafka.producer();
    await producer.connect();
    const message = (value: Buffer, key = 'burst') => ({ partition: 0, key, value });
    await producer.send({ topic: topics.assignments, messages: valid.slice(0, 30).map((e) => message(encodeEvent(e), e.customerId)) });
    await producer.send({ topic: topics.assignments, messages: burst.map((value) => message(value)) });
    await producer.send({ topic: topics.assignments, messages: valid.slice(30).map((e) => message(encodeEvent(e), e.customerId)) });
    await producer.disconnect();

    const pipeline = ingest;
    await waitFor('the ingest to pause', async () => /^paused since \d{4}-\d\d-\d\dT/.test(pipeline.health().detail ?? ''), 30_000);
    expect(pipeline.health().ok).toBe(false);
    expect(pipeline.health().detail).toMatch(/of the last 20 records were invalid/);
    expect(fatal).toEqual([]);
    const paused = async () => (await metricSamples(registry, 'sending_metrics_ingest_paused'))[0]?.value;
    expect(await paused()).toBe(1);
    const since = (await metricSamples(registry, 'sending_metrics_ingest_paused_since_seconds'))[0]?.value ?? 0;
    expect(since).toBeGreaterThan(Date.UTC(2020, 0, 1) / 1000);
    // Held, not abandoned: still paused a moment later, nothing past the burst's start + window committed.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(pipeline.health().detail).toMatch(/^paused since/);
    const [partition0] = (await partitionProgress(admin, config.ingest.groupId, topics.assignments)).filter((p) => p.partition === 0);
    expect(partition0!.committed).toBeLessThanOrEqual(30 + 20);
    expect(await countRaw(clickhouse.client)).toBeLessThanOrEqual(30);

    const resumed = await runCli(['ingest-resume', '--reason', 'producer fixed; burst acknowledged', '--by', 'test-operator'], {
      TOPIC_PREFIX: config.topicPrefix,
      LOG_LEVEL: 'warn',
    });
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/resume requested on .*ingest-control at offset \d+ by test-operator: producer fixed/);

    await waitFor('every record to be committed', async () => {
      const [p] = (await partitionProgress(admin, config.ingest.groupId, topics.assignments)).filter((p) => p.partition === 0);
      return p!.committed === valid.length + burst.length;
    });
    expect(await countRaw(clickhouse.client)).toBe(valid.length);
    expect(pipeline.health()).toEqual({ ok: true });
    expect(await paused()).toBe(0);
    expect(fatal).toEqual([]);
    const letters = await readDeadLetters(kafka, topics.deadLetter, (list) => list.length >= burst.length);
    expect(new Set(letters.map((l) => l.headers[DEAD_LETTER_HEADERS.offset])).size).toBe(burst.length);
    expect(letters.map((l) => l.value!.toString()).sort()).toEqual(burst.map((b) => b.toString()).sort());
  });
});
