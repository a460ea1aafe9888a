import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames } from '../../services/events/topics.js';
import { IngestPipeline } from '../../services/ingest/pipeline.js';
import { createLogger } from '../../services/platform/logger.js';
import { createPublisher } from '../../services/producer/publisher.js';
import { diffTruth, generateEvents, groundTruth } from '../../fixtures/events.js';
import { runCli } from '../support/cli.js';
import { verifyOffsets } from '../../services/operations/offsets.js';
import { verifyRollups } from '../../services/operations/rollups.js';
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import { countRaw, readAggregates } from '../support/tables.js';
import { groupProgress } from '../support/group-progress.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { waitFor } from '../support/wait-for.js';

/** `replay --from-time / --to-offsets`: records read again by a restarted ingest are counted once. */

let bed: IngestBed;
let env: Record<string, string>;
const events = generateEvents({ seed: 91, count: 3000, startMs: Date.UTC(2026, 10, 1), spanMs: 86_400_000 });
let topics: ReturnType<typeof topicNames>;
let restarted: IngestPipeline | undefined;

beforeAll(async () => {
  bed = await openIngestBed('replay-offsets', { batchMaxMs: 100 });
  topics = topicNames(bed.config.topicPrefix);
  env = {
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sm-replay-cli-')),
    TOPIC_PREFIX: bed.config.topicPrefix,
    INGEST_GROUP_ID: bed.config.ingest.groupId,
    LOG_LEVEL: 'warn',
  };
  const publisher = createPublisher({ kafka: bed.kafka, topics, partitions: bed.config.topicPartitions, logger: createLogger('warn') });
  await publisher.connect();
  await publisher.publish(events);
  await publisher.disconnect();
  await waitFor('every event counted', async () => (await countRaw(bed.clickhouse.client)) === events.length);
});

afterAll(async () => {
  await restarted?.stop();
  await bed?.close();
});

const progress = () => groupProgress(bed.admin, bed.config.ingest.groupId, [topics.assignments, topics.deliveries]);

/** Starts the ingest again (after a replay) and waits until it has committed every record. */
async function startAgainAndCatchUp(): Promise<void> {
  restarted = new IngestPipeline({
    config: bed.config,
    kafka: bed.kafka,
    clickhouse: bed.clickhouse.client,
    logger: createLogger('error'),
    registry: new Registry(),
  });
  await restarted.start();
  await waitFor('the records read again', async () => {
    const p = await progress();
    return p.committed === p.end;
  });
}

/** Stops the restarted ingest and waits until the group has no member (a replay is refused before). */
async function stopAgain(): Promise<void> {
  await restarted?.stop();
  restarted = undefined;
  await waitFor('the group to be empty', async () => {
    const { groups } = await bed.admin.describeGroups([bed.config.ingest.groupId]);
    return (groups[0]?.members.length ?? 0) === 0;
  });
}

describe('replay', () => {
  it('refuses while the ingest runs, previews without --yes, and re-reads an hour of records that are counted once', async () => {
    await waitFor('everything committed', async () => {
      const p = await progress();
      return p.committed === p.end && p.end === events.length;
    });
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const running = await runCli(['replay', '--from-time', hourAgo, '--yes'], env);
    expect(running.code).toBe(1);
    expect(running.stderr).toMatch(
      /^replay refused: the ingest group replay-offsets-\d+ has 1 running member; stop the ingest first .*; nothing changed/,
    );

    await bed.ingest.stop();
    await waitFor('the group to be empty', async () => {
      const { groups } = await bed.admin.describeGroups([bed.config.ingest.groupId]);
      return (groups[0]?.members.length ?? 0) === 0;
    });
    const preview = await runCli(['replay', '--from-time', hourAgo], env);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain(`would move group ${bed.config.ingest.groupId} back by ${events.length} records; nothing changed`);
    expect((await progress()).committed).toBe(events.length);

    const applied = await runCli(['replay', '--from-time', hourAgo, '--yes'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`moved group ${bed.config.ingest.groupId} back by ${events.length} records`);
    expect((await progress()).committed).toBe(0);

    await startAgainAndCatchUp();
    expect(await countRaw(bed.clickhouse.client)).toBe(events.length);
    expect(diffTruth(groundTruth(events), await readAggregates(bed.clickhouse.client))).toEqual([]);
  });

  it('bad input: one clear line each, exit 2 or 1, nothing changed', async () => {
    await stopAgain();
    const before = await progress();
    const file = path.join(env.DATA_DIR!, 'offsets.json');
    for (const [args, code, problem] of [
      [['replay', '--from-time', '2026-11-01T00:00:00'], 2, /--from-time "2026-11-01T00:00:00" .*offset/],
      [['replay'], 2, /give exactly one of --from-time and --to-offsets/],
      [['replay', '--from-time', '2026-11-01T00:00:00Z', '--to-offsets', file], 2, /give exactly one/],
      [['replay', '--to-offsets', '/nonexistent/offsets.json'], 2, /--to-offsets "\/nonexistent\/offsets.json": ENOENT/],
    ] as const) {
      const result = await runCli([...args], env);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr).toMatch(problem);
    }
    fs.writeFileSync(file, JSON.stringify({ 'no-such-topic': { '0': 0 } }));
    const unknown = await runCli(['replay', '--to-offsets', file, '--yes'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^replay refused: topic no-such-topic does not exist/);
    // A move forward would skip records: refused.
    fs.writeFileSync(file, JSON.stringify({ [topics.deliveries]: { '0': 0 } }));
    const back = await runCli(['replay', '--to-offsets', file, '--yes'], env);
    expect(back.code, back.stderr).toBe(0);
    const high = (await bed.admin.fetchTopicOffsets(topics.deliveries)).find((p) => p.partition === 0)!.high;
    fs.writeFileSync(file, JSON.stringify({ [topics.deliveries]: { '0': Number(high) + 5 } }));
    const outside = await runCli(['replay', '--to-offsets', file, '--yes'], env);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/partition 0: offset \d+ is outside the partition/);
    fs.writeFileSync(file, JSON.stringify({ [topics.deliveries]: { '0': Number(high) } }));
    const forward = await runCli(['replay', '--to-offsets', file, '--yes'], env);
    expect(forward.code).toBe(1);
    expect(forward.stderr).toMatch(/moving forward would skip \d+ records/);
    expect((await progress()).end).toBe(before.end);
  });

  it('counts once a replay of records older than what the insert deduplication remembers', async () => {
    await stopAgain();
    // More inserts than the tables' deduplication window (lowered to 3 blocks, from 1,000, so that
    // the test needs 4 inserts instead of 1,001): the tokens of the first writes are forgotten.
    await forgetInsertTokens(bed.clickhouse.client, 3);
    const file = path.join(env.DATA_DIR!, 'from-start.json');
    fs.writeFileSync(
      file,
      JSON.stringify(
        Object.fromEntries(
          [topics.assignments, topics.deliveries].map((topic) => [
            topic,
            Object.fromEntries(Array.from({ length: bed.config.topicPartitions }, (_, partition) => [String(partition), 0])),
          ]),
        ),
      ),
    );
    const applied = await runCli(['replay', '--to-offsets', file, '--yes'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect((await progress()).committed).toBe(0);

    await startAgainAndCatchUp();
    expect(await countRaw(bed.clickhouse.client)).toBe(events.length + FILLER_ROWS);
    const counted = new Map([...(await readAggregates(bed.clickhouse.client))].filter(([key]) => !key.includes('|filler|')));
    expect(diffTruth(groundTruth(events), counted)).toEqual([]);
    const offsets = await verifyOffsets(bed.clickhouse.client, bed.admin, bed.config.ingest.groupId, [
      { topic: topics.assignments, table: 'assignment_events' },
      { topic: topics.deliveries, table: 'delivery_events' },
    ]);
    expect(offsets.missing).toBe(0);
    const rollups = await verifyRollups(bed.clickhouse.client, Date.UTC(2026, 9, 1), Date.now());
    expect(rollups.differences).toEqual([]);
  });
});

/** Rows the filler inserts add (tenant "filler", a partition no topic has). */
const FILLER_ROWS = 8;

/**
 * Lowers every deduplicating table's window to `window` blocks and inserts window + 1 blocks
 * through the raw tables (their views fill the rollups and id tables): what more than 1,000
 * inserts of other batches do with the default window.
 */
async function forgetInsertTokens(client: ClickHouseClient, window: number): Promise<void> {
  const tables = await client.query({
    query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'
              AND create_table_query LIKE '%non_replicated_deduplication_window%'`,
    format: 'JSONEachRow',
  });
  for (const { name } of await tables.json<{ name: string }>())
    await client.command({ query: `ALTER TABLE ${name} MODIFY SETTING non_replicated_deduplication_window = ${window}` });
  for (let block = 0; block <= window; block += 1) {
    await client.command({
      query: `INSERT INTO assignment_events (tenant_id, occurred_at, event_id, customer_id, playbook_id, playbook_name, campaign_id, campaign_name, action, kafka_partition, kafka_offset)
              VALUES ('filler', now64(3), 'filler-a-${block}', 'c', 'pb', 'P', 'cm', 'C', 'entered', 999, ${block})`,
    });
    await client.command({
      query: `INSERT INTO delivery_events (tenant_id, occurred_at, event_id, customer_id, message_id, channel, status, playbook_id, campaign_id, reason, kafka_partition, kafka_offset)
              VALUES ('filler', now64(3), 'filler-d-${block}', 'c', 'm-${block}', 'sms', 'sent', 'pb', 'cm', NULL, 999, ${block})`,
    });
  }
}
