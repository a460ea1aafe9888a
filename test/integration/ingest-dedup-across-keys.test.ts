import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import type { Admin, Kafka } from 'kafkajs';
import { encodeEvent } from '../../services/events/codec.js';
import { topicNames } from '../../services/events/topics.js';
import type { AssignmentEvent } from '../../services/events/types.js';
import { createUniqueWriteStep, eventIdHashes } from '../../services/ingest/steps/unique-write.js';
import { readMigrations } from '../../services/migrations/migrate.js';
import { sideClientOf, type ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { countRaw } from '../support/tables.js';
import { metricSamples } from '../support/metric-samples.js';
import { partitionProgress } from '../support/group-progress.js';
import { waitFor } from '../support/wait-for.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';

const assignment = (eventId: string, customerId: string): AssignmentEvent => ({
  type: 'assignment',
  eventId,
  tenantId: 'tenant-x',
  occurredAt: '2026-11-05T10:00:00.000Z',
  customerId,
  playbookId: 'pb',
  playbookName: 'Playbook',
  campaignId: 'cm',
  campaignName: 'Campaign',
  action: 'entered',
});

/**
 * Deduplication holds across keys: an eventId already written for the tenant (and event type)
 * within the window counts once, whichever partition its copy arrives on.
 */
describe('ingest: an eventId reused under another key', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let kafka: Kafka;
  let admin: Admin;
  let bed: IngestBed;
  let registry: Registry;

  beforeAll(async () => {
    bed = await openIngestBed('ingest-dedup-keys', { batchMaxRows: 100, batchMaxMs: 100 });
    ({ clickhouse, config, kafka, admin, registry } = bed);
  });

  afterAll(async () => {
    await bed?.close();
  });

  it('counts once a copy published under another key (another partition), before and after the original is written', async () => {
    const topics = topicNames(config.topicPrefix);
    const producer = kafka.producer();
    await producer.connect();
    const send = (event: AssignmentEvent, partition: number) =>
      producer.send({
        topic: topics.assignments,
        messages: [{ partition, key: `${event.tenantId}:${event.customerId}`, value: encodeEvent(event) }],
      });
    const committed = async (n: number) => {
      const partitions = await partitionProgress(admin, config.ingest.groupId, topics.assignments);
      return partitions.reduce((sum, p) => sum + Math.max(0, p.committed), 0) === n;
    };
    // The original is written first, then its copy arrives on another partition.
    await send(assignment('reused-1', 'c-1'), 0);
    await waitFor('the original to be committed', () => committed(1));
    await send(assignment('reused-1', 'c-2'), 3);
    // Both copies in flight at once, on two partitions.
    await send(assignment('reused-2', 'c-3'), 1);
    await send(assignment('reused-2', 'c-4'), 4);
    await producer.disconnect();
    await waitFor('every record to be committed', () => committed(4));

    expect(await countRaw(clickhouse.client)).toBe(2);
    const duplicates = await metricSamples(registry, 'sending_metrics_ingest_duplicates_dropped_total');
    expect(duplicates.reduce((sum, s) => sum + s.value, 0)).toBe(2);
  });

  it('a batch written again (a crash after the write) finds its own rows and keeps them; another partition`s copy is dropped', async () => {
    const write = createUniqueWriteStep(clickhouse.client);
    const before = await countRaw(clickhouse.client);
    const rows = [100, 101].map((offset) => ({ event: assignment(`replayed-${offset}`, 'c-9'), partition: 5, offset }));
    expect(await write('assignment', rows, 'test/assignments/5/100-101')).toEqual({ duplicates: 0, droppedOffsets: [] });
    expect(await write('assignment', rows, 'test/assignments/5/100-101')).toEqual({ duplicates: 0, droppedOffsets: [] });
    expect(await countRaw(clickhouse.client)).toBe(before + 2);
    const copies = rows.map((row) => ({ ...row, partition: 2, offset: row.offset + 7 }));
    // The dropped copies' offsets are said, for the batch to record them as duplicates.
    expect(await write('assignment', copies, 'test/assignments/2/107-108')).toEqual({ duplicates: 2, droppedOffsets: [107, 108] });
    // The same decision when the copy's batch is written again.
    expect(await write('assignment', copies, 'test/assignments/2/107-108')).toEqual({ duplicates: 2, droppedOffsets: [107, 108] });
    expect(await countRaw(clickhouse.client)).toBe(before + 2);
  });

  it('looks ids up by the engine`s own xxHash64 of tenant and id (any characters), and never takes a colliding hash for a match', async () => {
    const keys = [
      { tenantId: 'tenant-x', eventId: 'plain-1' },
      { tenantId: 'ténant ü', eventId: '😀 id with spaces, quotes \' and "' },
      { tenantId: 't', eventId: '' },
    ];
    const result = await clickhouse.client.query({
      query: `SELECT toString(xxHash64(concat(t, '\\0', i))) FROM (SELECT arrayJoin(arrayZip({t:Array(String)}, {i:Array(String)})) AS p, p.1 AS t, p.2 AS i)`,
      query_params: { t: keys.map((k) => k.tenantId), i: keys.map((k) => k.eventId) },
      format: 'JSONCompactEachRow',
    });
    const engine = ((await result.json()) as [string][]).map(([hash]) => hash);
    expect((await eventIdHashes(keys)).map(String)).toEqual(engine);
    // A row of another id under a batch id's hash (a collision, forged here) is not a copy of it.
    const write = createUniqueWriteStep(clickhouse.client);
    const [hash] = await eventIdHashes([{ tenantId: 'tenant-x', eventId: 'collides-1' }]);
    await clickhouse.client.insert({
      table: 'ingest_event_id_hashes',
      values: [
        {
          kafka_topic: 'assignment',
          id_hash: String(hash),
          tenant_id: 'tenant-x',
          event_id: 'something-else',
          kafka_partition: 3,
          kafka_offset: 1,
          ingested_at: Math.floor(Date.now() / 1000),
        },
      ],
      format: 'JSONEachRow',
    });
    const rows = [{ event: assignment('collides-1', 'c-1'), partition: 4, offset: 900 }];
    expect(await write('assignment', rows, 'test/assignments/4/900-900')).toEqual({ duplicates: 0, droppedOffsets: [] });
  });

  it('migration 011 copies the ids written before it (ingest_event_ids) into the hash table: a copy of one is still dropped', async () => {
    const before = await countRaw(clickhouse.client);
    await clickhouse.client.insert({
      table: 'ingest_event_ids',
      values: [
        {
          tenant_id: 'tenant-x',
          event_id: 'before-011',
          kafka_topic: 'assignment',
          kafka_partition: 1,
          kafka_offset: 50,
          ingested_at: Math.floor(Date.now() / 1000),
        },
      ],
      format: 'JSONEachRow',
    });
    const backfill = (await readMigrations()).find((m) => m.name === '011_ingest_event_id_hashes.sql')?.statements.at(-1);
    expect(backfill).toMatch(/^(--[^\n]*\n)*INSERT INTO ingest_event_id_hashes/);
    await clickhouse.client.command({ query: backfill! });
    const write = createUniqueWriteStep(clickhouse.client);
    const copy = [{ event: assignment('before-011', 'c-2'), partition: 0, offset: 77 }];
    expect(await write('assignment', copy, 'test/assignments/0/77-77')).toEqual({ duplicates: 1, droppedOffsets: [77] });
    expect(await countRaw(clickhouse.client)).toBe(before);
  });

  it('two copies written at once from two partitions count once: a lookup that starts while the other insert runs', async () => {
    // The lookups run on a session of their own, beside the inserts: the second batch's lookup
    // starts before the first batch is in, and the rows it cannot see come from memory.
    const write = createUniqueWriteStep(clickhouse.client, {}, sideClientOf(clickhouse.client));
    const before = await countRaw(clickhouse.client);
    const batches = [0, 1, 2, 3].map((partition) =>
      [0, 1, 2].map((i) => ({ event: assignment(`at-once-${i}`, `c-${partition}`), partition, offset: 500 + i })),
    );
    const results = await Promise.all(batches.map((rows, partition) => write('assignment', rows, `test/assignments/${partition}/500-502`)));
    expect(results).toEqual([
      { duplicates: 0, droppedOffsets: [] },
      { duplicates: 3, droppedOffsets: [500, 501, 502] },
      { duplicates: 3, droppedOffsets: [500, 501, 502] },
      { duplicates: 3, droppedOffsets: [500, 501, 502] },
    ]);
    expect(await countRaw(clickhouse.client)).toBe(before + 3);
  });
});
