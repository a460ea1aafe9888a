import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames } from '../../services/events/topics.js';
import { createPublisher, type Publisher } from '../../services/producer/publisher.js';
import { createLogger } from '../../services/platform/logger.js';
import { AnswerCache, CampaignNames, TenantDataVersions } from '../../services/reporting/index.js';
import type { AssignmentEvent } from '../../services/events/types.js';
import { generateEvents } from '../../fixtures/events.js';
import { bearer, buildTestApp } from '../support/api.js';
import { countRaw } from '../support/tables.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The metrics answers kept per tenant data version (the embedded engine's cache), with the real
 * ingest bumping the versions: an answer is served again until a write for its tenant, and never
 * after one, also when the write lands while identical requests keep coming.
 */
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 2);
const QUERY = `from=2026-11-02T00:00:00.000Z&to=2026-11-04T23:59:59.999Z`;
const URLS = [
  `/v1/metrics/campaigns?${QUERY}`,
  `/v1/metrics/campaigns?${QUERY}&compare=previous`,
  `/v1/metrics/outreach?${QUERY}`,
  `/v1/metrics/rates?${QUERY}&compare=previous`,
  `/v1/metrics/outreach/campaigns?${QUERY}`,
  `/v1/metrics/timeseries?${QUERY}&metric=email.delivered&interval=day`,
];

describe('answers cached per tenant data version', () => {
  let bed: IngestBed;
  let cached: FastifyInstance;
  let uncached: FastifyInstance;
  /** Names kept per version and no answer cache: every answer computed, the names joined in the process. */
  let named: FastifyInstance;
  let publisher: Publisher;
  const versions = new TenantDataVersions();
  const cache = new AnswerCache({ versions, maxEntries: 100 });
  const names = new CampaignNames(versions);

  beforeAll(async () => {
    bed = await openIngestBed('answer-cache', { batchMaxRows: 300, batchMaxMs: 50 }, { onWritten: (tenants) => versions.bump(tenants) });
    const unlimited = { rateLimitPerMinute: 1_000_000, rateLimitPerTenantPerMinute: 1_000_000 };
    cached = await buildTestApp(bed.config, bed.clickhouse.client, unlimited, undefined, { answers: cache, names });
    named = await buildTestApp(bed.config, bed.clickhouse.client, unlimited, undefined, { names });
    uncached = await buildTestApp(bed.config, bed.clickhouse.client, unlimited);
    publisher = createPublisher({
      kafka: bed.kafka,
      topics: topicNames(bed.config.topicPrefix),
      partitions: bed.config.topicPartitions,
      logger: createLogger('error'),
    });
    await publisher.connect();
    await waitFor('the ingest to join its group', async () => bed.ingest.health().ok);
  });

  afterAll(async () => {
    await publisher?.disconnect();
    await cached?.close();
    await uncached?.close();
    await named?.close();
    await bed?.close();
  });

  /** Every URL's answer for `tenant`, without the freshness block (it is not cached, and moves). */
  async function answers(app: FastifyInstance, tenant: string): Promise<unknown[]> {
    return Promise.all(
      URLS.map(async (url) => {
        const response = await app.inject({ method: 'GET', url, headers: bearer(tenant) });
        expect(response.statusCode, url).toBe(200);
        const { freshness, ...rest } = response.json() as { freshness: unknown };
        expect(freshness).toBeDefined();
        return rest;
      }),
    );
  }

  it('serves an answer again until a write for its tenant, then the new counts', async () => {
    const events = generateEvents({ seed: 31, count: 4_000, startMs: START, spanMs: 3 * DAY, tenants: 2 });
    const [first, second] = [events.slice(0, 2_500), events.slice(2_500)];
    await publisher.publish(first);
    await waitFor('the first events to be counted', async () => (await countRaw(bed.clickhouse.client)) === first.length);

    const truthBefore = await answers(uncached, 'tenant-0');
    expect(await answers(named, 'tenant-0')).toEqual(truthBefore);
    expect(await answers(cached, 'tenant-0')).toEqual(truthBefore);
    const afterFirst = { ...cache.stats };
    expect(await answers(cached, 'tenant-0')).toEqual(truthBefore);
    // The second round came from the cache (the compare URLs read two windows: one entry each).
    expect(cache.stats.hits - afterFirst.hits).toBeGreaterThanOrEqual(URLS.length);
    expect(cache.stats.misses).toBe(afterFirst.misses);

    // More events while identical requests keep coming: whatever was cached during the writes,
    // once everything is counted the cached answers are the new truth.
    let stop = false;
    const hammer = (async () => {
      while (!stop) {
        await answers(cached, 'tenant-0');
        await answers(named, 'tenant-0');
      }
    })();
    await publisher.publish(second);
    await waitFor('every event to be counted', async () => (await countRaw(bed.clickhouse.client)) === events.length);
    stop = true;
    await hammer;
    const truthAfter = await answers(uncached, 'tenant-0');
    expect(truthAfter).not.toEqual(truthBefore);
    expect(await answers(cached, 'tenant-0')).toEqual(truthAfter);
    expect(await answers(named, 'tenant-0')).toEqual(truthAfter);
    expect(await answers(cached, 'tenant-1')).toEqual(await answers(uncached, 'tenant-1'));
    expect(await answers(named, 'tenant-1')).toEqual(await answers(uncached, 'tenant-1'));

    // A campaign renamed by a later assignment: the kept names follow the write.
    const renamed = events.find((event): event is AssignmentEvent => event.type === 'assignment' && event.tenantId === 'tenant-0')!;
    const rename: AssignmentEvent = {
      ...renamed,
      eventId: 'rename-1',
      occurredAt: new Date(START + 3 * DAY - 1).toISOString(),
      campaignName: 'Renamed campaign',
    };
    const namesBefore = { ...names.stats };
    await publisher.publish([rename]);
    await waitFor('the rename to be counted', async () => (await countRaw(bed.clickhouse.client)) === events.length + 1);
    const truthRenamed = await answers(uncached, 'tenant-0');
    expect(JSON.stringify(truthRenamed)).toContain('Renamed campaign');
    expect(await answers(named, 'tenant-0')).toEqual(truthRenamed);
    expect(await answers(cached, 'tenant-0')).toEqual(truthRenamed);
    expect(names.stats.loads).toBeGreaterThan(namesBefore.loads);
  });
});
