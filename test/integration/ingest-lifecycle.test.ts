import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { topicNames } from '../../services/events/topics.js';
import { IngestPipeline } from '../../services/ingest/pipeline.js';
import { createLogger } from '../../services/platform/logger.js';
import { createPublisher } from '../../services/producer/publisher.js';
import { generateEvents } from '../../fixtures/events.js';
import { countRaw } from '../support/tables.js';
import { groupProgress } from '../support/group-progress.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { waitFor } from '../support/wait-for.js';

/** What a start and a stop leave behind: consumer groups, and nothing written after stop() returned. */

let bed: IngestBed;
let topics: ReturnType<typeof topicNames>;

beforeAll(async () => {
  bed = await openIngestBed('ingest-lifecycle', { batchMaxMs: 100, batchMaxRows: 500 });
  topics = topicNames(bed.config.topicPrefix);
});

afterAll(async () => {
  await bed?.close();
});

const controlGroups = async (): Promise<string[]> =>
  (await bed.admin.listGroups()).groups
    .map((group) => group.groupId)
    .filter((id) => id.startsWith(`${bed.config.ingest.groupId}.control.`));

const pipeline = () =>
  new IngestPipeline({
    config: bed.config,
    kafka: bed.kafka,
    clickhouse: bed.clickhouse.client,
    logger: createLogger('error'),
    registry: new Registry(),
  });

describe('ingest lifecycle', () => {
  it('deletes its control reader group at stop, and the empty ones earlier processes left at start', async () => {
    await waitFor('the control reader group', async () => (await controlGroups()).length === 1);
    // What a killed process leaves: a control group with a committed offset and no member.
    const leftover = `${bed.config.ingest.groupId}.control.killed-process`;
    const consumer = bed.kafka.consumer({ groupId: leftover });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.ingestControl], fromBeginning: true });
    await consumer.run({ eachMessage: async () => undefined });
    await waitFor('the leftover group to join', async () => (await bed.admin.describeGroups([leftover])).groups[0]?.state === 'Stable');
    await consumer.commitOffsets([{ topic: topics.ingestControl, partition: 0, offset: '0' }]);
    await consumer.disconnect();
    expect(await controlGroups()).toContain(leftover);

    const second = pipeline();
    await second.start();
    await waitFor('the leftover group to be deleted', async () => !(await controlGroups()).includes(leftover));
    expect(await controlGroups()).toHaveLength(2); // the bed's and the second's
    await second.stop();
    await bed.ingest.stop();
    expect(await controlGroups()).toEqual([]);
  });

  it('writes and commits nothing once stop() has returned, though records kept arriving while it stopped', async () => {
    const ingest = pipeline();
    await ingest.start();
    const publisher = createPublisher({ kafka: bed.kafka, topics, partitions: bed.config.topicPartitions, logger: createLogger('error') });
    await publisher.connect();
    const events = generateEvents({ seed: 5, count: 20_000, startMs: Date.UTC(2026, 10, 1), spanMs: 86_400_000 });
    await publisher.publish(events.slice(0, 5_000));
    await waitFor('some events counted', async () => (await countRaw(bed.clickhouse.client)) > 0);
    const publishing = publisher.publish(events.slice(5_000));
    await ingest.stop();
    const rowsAtStop = await countRaw(bed.clickhouse.client);
    const progress = () => groupProgress(bed.admin, bed.config.ingest.groupId, [topics.assignments, topics.deliveries]);
    const committedAtStop = (await progress()).committed;
    await publishing;
    await publisher.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await countRaw(bed.clickhouse.client)).toBe(rowsAtStop);
    expect((await progress()).committed).toBe(committedAtStop);
  });
});
