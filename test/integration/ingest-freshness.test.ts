import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames } from '../../services/events/topics.js';
import { createPublisher } from '../../services/producer/publisher.js';
import { createLogger } from '../../services/platform/logger.js';
import { queryFreshness, type Freshness } from '../../services/reporting/freshness.js';
import { generateEvents } from '../../fixtures/events.js';
import { countRaw } from '../support/tables.js';
import { metricSamples } from '../support/metric-samples.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { waitFor } from '../support/wait-for.js';

describe('ingest: freshness recorded in ClickHouse, lag in seconds in /metrics', () => {
  let bed: IngestBed;

  beforeAll(async () => {
    bed = await openIngestBed('ingest-freshness', { batchMaxRows: 500, batchMaxMs: 100, lagRefreshMs: 200 });
  });

  afterAll(async () => {
    await bed?.close();
  });

  const freshness = (staleAfterMs: number): Promise<Freshness> =>
    queryFreshness(bed.clickhouse.client, { groupId: bed.config.ingest.groupId, nowMs: Date.now(), staleAfterMs });

  it('counted records: current, no lag, counted through after the produce; stopped: no_consumer, the new records not claimed', async () => {
    const { config, kafka, registry, ingest } = bed;
    const topics = topicNames(config.topicPrefix);
    const owned = [topics.assignments, topics.deliveries]
      .flatMap((topic) => Array.from({ length: config.topicPartitions }, (_, p) => `${topic}/${p}`))
      .sort();
    const events = generateEvents({ seed: 11, count: 3_000, startMs: Date.UTC(2026, 10, 5), spanMs: 86_400_000 });
    const first = events.slice(0, 2_000);
    const second = events.slice(2_000);
    const publisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger: createLogger('error') });
    await publisher.connect();
    try {
      await waitFor('the ingest to join its group', async () => ingest.health().ok);
      await publisher.publish(first);
      const producedAt = Date.now();
      await waitFor('the first events to be counted', async () => (await countRaw(bed.clickhouse.client)) === first.length);

      const current = await waitFor('freshness to be current past the produce', async () => {
        const answer = await freshness(30_000);
        return answer.state === 'current' && Date.parse(answer.countedThrough!) > producedAt && answer;
      });
      expect(current.lagEvents).toBe(0);
      expect(current.lagSeconds).toBeGreaterThanOrEqual(0);
      expect(Date.parse(current.reportedAt!)).toBeGreaterThanOrEqual(Date.parse(current.countedThrough!));

      // Every owned partition is recorded, by this instance.
      const recorded = await bed.clickhouse.client.query({
        query: `SELECT DISTINCT topic, partition, instance_id FROM ingest_progress WHERE group_id = {group:String}`,
        query_params: { group: config.ingest.groupId },
        format: 'JSONEachRow',
      });
      const rows = await recorded.json<{ topic: string; partition: number; instance_id: string }>();
      expect(rows.map((r) => `${r.topic}/${r.partition}`).sort()).toEqual(owned);
      expect(new Set(rows.map((r) => r.instance_id))).toEqual(new Set([config.ingest.instanceId]));

      // /metrics: lag in records and in seconds per owned partition; every partition counted past the produce.
      await waitFor('every partition to be counted through a time after the produce', async () => {
        const samples = await metricSamples(registry, 'sending_metrics_ingest_lag_seconds');
        const now = Date.now();
        const partitions = samples.map((s) => `${s.labels.topic}/${s.labels.partition}`).sort();
        return (
          JSON.stringify(partitions) === JSON.stringify(owned) && samples.every((s) => s.value >= 0 && s.value * 1000 < now - producedAt)
        );
      });
      const records = await metricSamples(registry, 'sending_metrics_ingest_lag');
      expect(records.map((s) => `${s.labels.topic}/${s.labels.partition}`).sort()).toEqual(owned);
      expect(records.every((s) => s.value === 0)).toBe(true);

      // No consumer any more: the next records are published but nobody counts them.
      await ingest.stop();
      const beforeSecond = Date.now();
      await publisher.publish(second);
      const stale = await waitFor('freshness to say no_consumer', async () => {
        const answer = await freshness(1_000);
        return answer.state === 'no_consumer' && answer;
      });
      expect(stale.countedThrough).not.toBeNull();
      expect(Date.parse(stale.countedThrough!)).toBeLessThan(beforeSecond);
      expect(Date.parse(stale.reportedAt!)).toBeLessThan(beforeSecond);
      expect(stale.lagSeconds).toBeGreaterThan(0);
      expect(stale.lagEvents).toBe(0);
      expect(await countRaw(bed.clickhouse.client)).toBe(first.length);
    } finally {
      await publisher.disconnect();
    }
  });
});
