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
import { countRaw, groupProgress, openIngestBed, readAggregates, waitFor, type IngestBed } from '../support/ingest.js';

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
    expect(await countRaw(bed.clickhouse.client)).toBe(events.length);
    expect(diffTruth(groundTruth(events), await readAggregates(bed.clickhouse.client))).toEqual([]);
  });

  it('bad input: one clear line each, exit 2 or 1, nothing changed', async () => {
    await restarted?.stop();
    restarted = undefined;
    await waitFor('the group to be empty', async () => {
      const { groups } = await bed.admin.describeGroups([bed.config.ingest.groupId]);
      return (groups[0]?.members.length ?? 0) === 0;
    });
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
});
