import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import type { Admin, Kafka } from 'kafkajs';
import { encodeEvent } from '../../services/events/codec.js';
import { topicNames } from '../../services/events/topics.js';
import type { AssignmentEvent } from '../../services/events/types.js';
import { createUniqueWriteStep } from '../../services/ingest/steps/write.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { countRaw, metricSamples, partitionProgress, waitFor, openIngestBed, type IngestBed } from '../support/ingest.js';

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
});
