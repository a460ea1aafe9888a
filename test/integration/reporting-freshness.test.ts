import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { dateTime64Text } from '../../services/platform/clickhouse-values.js';
import { createLogger } from '../../services/platform/logger.js';
import { cachedFreshness, queryFreshness } from '../../services/reporting/freshness.js';
import { openTestClickHouse } from '../support/clickhouse.js';

/** One row of ingest_progress: partition `p` of topic `topic` observed `ago` ms before NOW. */
interface Row {
  topic?: string;
  p: number;
  ago: number;
  high: number;
  committed: number;
  instance?: string;
}

// Real time: the table's TTL (2 days after observed_at, against the engine's clock) drops older rows.
const NOW = Date.now();
const iso = (ago: number) => new Date(NOW - ago).toISOString();

describe('queryFreshness over ingest_progress', () => {
  let handle: ClickHouseHandle;
  let group = 0;

  beforeAll(async () => {
    ({ handle } = await openTestClickHouse('reporting-freshness'));
    await applyMigrations(handle.client, createLogger('silent'));
  });

  afterAll(async () => {
    await handle?.close();
  });

  /** Inserts the rows under `groupId`, by default a group of their own; returns the group id. */
  async function progress(rows: Row[], groupId = `group-${(group += 1)}`): Promise<string> {
    if (rows.length > 0) {
      await handle.client.insert({
        table: 'ingest_progress',
        format: 'JSONEachRow',
        values: rows.map((r) => ({
          group_id: groupId,
          topic: r.topic ?? 'assignments',
          partition: r.p,
          observed_at: dateTime64Text(NOW - r.ago),
          high_watermark: r.high,
          committed_offset: r.committed,
          instance_id: r.instance ?? 'ingest-0',
        })),
      });
    }
    return groupId;
  }

  const freshness = (groupId: string, staleAfterMs = 30_000, topics?: string[]) =>
    queryFreshness(handle.client, { groupId, nowMs: NOW, staleAfterMs, ...(topics ? { topics } : {}) });

  it('caught up: current, no lag, counted through the latest observation', async () => {
    const groupId = await progress([
      { p: 0, ago: 10_000, high: 10, committed: 8 },
      { p: 0, ago: 5_000, high: 12, committed: 12 },
      { p: 0, ago: 1_000, high: 12, committed: 12 },
      { p: 1, ago: 5_000, high: 0, committed: 0 },
      { p: 1, ago: 1_000, high: 0, committed: 0 },
      { topic: 'deliveries', p: 0, ago: 1_000, high: 7, committed: 7 },
    ]);
    expect(await freshness(groupId)).toEqual({
      countedThrough: iso(1_000),
      lagEvents: 0,
      lagSeconds: 1,
      state: 'current',
      reportedAt: iso(1_000),
    });
  });

  it('behind: counted through the latest observation whose high watermark the latest committed offset reached; lags summed', async () => {
    const groupId = await progress([
      { p: 0, ago: 3_000, high: 10, committed: 10 },
      { p: 0, ago: 2_000, high: 20, committed: 12 },
      { p: 0, ago: 1_000, high: 30, committed: 25 },
      { p: 1, ago: 3_000, high: 5, committed: 5 },
      { p: 1, ago: 2_000, high: 5, committed: 5 },
      { p: 1, ago: 1_000, high: 8, committed: 5 },
      { topic: 'deliveries', p: 0, ago: 4_500, high: 40, committed: 0 },
      { topic: 'deliveries', p: 0, ago: 4_000, high: 40, committed: 10 },
      { topic: 'deliveries', p: 0, ago: 3_500, high: 45, committed: 30 },
      { topic: 'deliveries', p: 0, ago: 1_000, high: 50, committed: 45 },
    ]);
    expect(await freshness(groupId)).toEqual({
      // assignments/0: 2 s (high 20 ≤ 25); assignments/1: 2 s; deliveries/0: 3.5 s (high 45 ≤ 45).
      countedThrough: iso(3_500),
      lagEvents: 5 + 3 + 5,
      lagSeconds: 3.5,
      state: 'behind',
      reportedAt: iso(1_000),
    });
  });

  it('rows of several ingest instances: the latest by observed_at wins', async () => {
    const groupId = await progress([
      { p: 0, ago: 3_000, high: 10, committed: 10, instance: 'ingest-0' },
      { p: 0, ago: 2_000, high: 20, committed: 10, instance: 'ingest-0' },
      // The partition moved to ingest-1, which has committed through 20 since.
      { p: 0, ago: 1_000, high: 20, committed: 20, instance: 'ingest-1' },
    ]);
    const answer = await freshness(groupId);
    expect(answer).toMatchObject({ countedThrough: iso(1_000), lagEvents: 0, state: 'current' });
  });

  it('no rows: no_consumer, nothing claimed', async () => {
    const groupId = await progress([]);
    expect(await freshness(groupId)).toEqual({
      countedThrough: null,
      lagEvents: 0,
      lagSeconds: null,
      state: 'no_consumer',
      reportedAt: null,
    });
  });

  it('no report within staleAfterMs: no_consumer, and countedThrough stays at what was observed', async () => {
    const groupId = await progress([
      { p: 0, ago: 70_000, high: 10, committed: 10 },
      { p: 0, ago: 65_000, high: 10, committed: 10 },
    ]);
    expect(await freshness(groupId, 30_000)).toEqual({
      countedThrough: iso(65_000),
      lagEvents: 0,
      lagSeconds: 65,
      state: 'no_consumer',
      reportedAt: iso(65_000),
    });
    expect((await freshness(groupId, 120_000)).state).toBe('current');
  });

  it('a partition nobody reports any more while others are reported: behind, and it holds countedThrough back', async () => {
    const groupId = await progress([
      { p: 0, ago: 60_000, high: 10, committed: 10 },
      { p: 1, ago: 60_000, high: 10, committed: 10 },
      { p: 1, ago: 1_000, high: 10, committed: 10 },
    ]);
    expect(await freshness(groupId, 30_000)).toMatchObject({
      countedThrough: iso(60_000),
      lagEvents: 0,
      state: 'behind',
      reportedAt: iso(1_000),
    });
  });

  it('a partition that reached no observation of the window: nothing can be claimed', async () => {
    const groupId = await progress([
      { p: 0, ago: 1_000, high: 10, committed: 10 },
      { p: 1, ago: 2_000, high: 100, committed: 0 },
      { p: 1, ago: 1_000, high: 120, committed: 50 },
    ]);
    expect(await freshness(groupId)).toEqual({
      countedThrough: null,
      lagEvents: 70,
      lagSeconds: null,
      state: 'behind',
      reportedAt: iso(1_000),
    });
  });

  it('reads only the last 2 days, only its group, and only the given topics', async () => {
    const groupId = await progress([
      { p: 0, ago: 3 * 86_400_000, high: 5, committed: 5 },
      { p: 0, ago: 2_000, high: 10, committed: 0 },
      { p: 0, ago: 1_000, high: 10, committed: 10 },
      { topic: 'old.assignments', p: 0, ago: 86_400_000, high: 10, committed: 3 },
    ]);
    const other = await progress([{ p: 0, ago: 500, high: 99, committed: 0 }]);
    expect(await freshness(groupId, 30_000, ['assignments', 'deliveries'])).toEqual({
      countedThrough: iso(1_000),
      lagEvents: 0,
      lagSeconds: 1,
      state: 'current',
      reportedAt: iso(1_000),
    });
    // Without the topic list the old topic's partition counts: never caught up in the window.
    expect(await freshness(groupId)).toMatchObject({ countedThrough: null, lagEvents: 7, state: 'behind' });
    expect((await freshness(groupId, 30_000, [])).state).toBe('no_consumer');
    expect((await freshness(other)).lagEvents).toBe(99);
  });

  it('cachedFreshness reads the progress at most once per maxAgeMs and applies each call its own now', async () => {
    const groupId = await progress([{ p: 0, ago: 1_000, high: 10, committed: 10 }]);
    let clock = NOW;
    const read = cachedFreshness(handle.client, { groupId, staleAfterMs: 30_000, maxAgeMs: 1_000, clock: () => clock });
    expect(await read()).toMatchObject({ countedThrough: iso(1_000), lagSeconds: 1, state: 'current' });
    // A newer report within maxAgeMs is not read yet: the answer only ages.
    await progress([{ p: 0, ago: 0, high: 20, committed: 12 }], groupId);
    clock = NOW + 500;
    expect(await read()).toMatchObject({ countedThrough: iso(1_000), lagSeconds: 1.5, lagEvents: 0, state: 'current' });
    clock = NOW + 1_500;
    expect(await read()).toMatchObject({ countedThrough: iso(1_000), lagSeconds: 2.5, lagEvents: 8, state: 'behind', reportedAt: iso(0) });
  });
});
