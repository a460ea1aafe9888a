import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { topicNames } from '../../services/events/topics.js';
import { createPublisher } from '../../services/producer/publisher.js';
import { openClickHouse } from '../../services/platform/clickhouse.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { startCli, waitForExit } from '../support/cli.js';
import { diffTruth, generateEvents, groundTruth, random, shuffle } from '../../fixtures/events.js';
import { countRaw, readAggregates } from '../support/tables.js';
import { groupProgress } from '../support/group-progress.js';
import { waitFor } from '../support/wait-for.js';
import { verifyRollups } from '../../services/operations/rollups.js';
import { verifyOffsets } from '../../services/operations/offsets.js';

describe('ingest under SIGKILL', () => {
  it('killed 3 times at random moments while 200k events (with duplicates) are ingested: the aggregates equal the truth exactly', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-crash-'));
    const stamp = Date.now();
    const env = {
      DATA_DIR: dataDir,
      PORT: '0',
      TOPIC_PREFIX: `crash-${stamp}.`,
      INGEST_GROUP_ID: `crash-${stamp}`,
      INGEST_BATCH_MAX_ROWS: '4000',
      INGEST_BATCH_MAX_MS: '200',
      // A killed member is noticed after the session timeout: keep it at the broker's minimum.
      INGEST_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: 'info',
    };
    const config = loadConfig({ ...process.env, ...env });
    const logger = createLogger('warn');
    const kafka = createKafka(config, logger, 'crash-test');
    const topics = topicNames(config.topicPrefix);
    const events = shuffle(generateEvents({ seed: 21, count: 200_000, startMs: Date.UTC(2026, 9, 1), spanMs: 30 * 86_400_000 }), 5);
    const duplicates = shuffle([...events], 8).slice(0, 4_000);
    const stream = [...events, ...duplicates];
    const next = random(stamp % 1000);

    let ingest = await startCli(['run', '--role', 'ingest'], env);
    const publisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger });
    await publisher.connect();
    const publishing = (async () => {
      for (let i = 0; i < stream.length; i += 10_000) {
        await publisher.publish(stream.slice(i, i + 10_000));
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    const kills: number[] = [];
    const outputs: string[] = [];
    for (let kill = 0; kill < 3; kill += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000 + next() * 3000));
      ingest.child.kill('SIGKILL');
      await waitForExit(ingest.child);
      outputs.push(ingest.output());
      kills.push(Date.now());
      ingest = await startCli(['run', '--role', 'ingest'], env);
    }
    await publishing;
    await publisher.disconnect();
    expect(kills).toHaveLength(3);

    const admin = kafka.admin();
    await admin.connect();
    await waitFor(
      'the group to commit every record',
      async () => {
        const progress = await groupProgress(admin, config.ingest.groupId, [topics.assignments, topics.deliveries]);
        return progress.end === stream.length && progress.committed === progress.end;
      },
      240_000,
      500,
    );
    ingest.child.kill('SIGTERM');
    expect(await waitForExit(ingest.child)).toBe(0);
    outputs.push(ingest.output());
    // How much work the kills left behind (random kills, so this varies from run to run).
    const replayed = outputs
      .join('\n')
      .split('\n')
      .filter((line) => /"pendingBatches":[1-9]/.test(line)).length;
    console.log(`[crash test] ${kills.length} kills; partitions that resumed with written-but-uncommitted batches: ${replayed}`);
    const clickhouse = await openClickHouse(config, logger);
    try {
      expect(await countRaw(clickhouse.client)).toBe(events.length);
      expect(diffTruth(groundTruth(stream), await readAggregates(clickhouse.client))).toEqual([]);
      // What `sending-metrics verify` checks: every rollup against the raw rows, every committed
      // offset a row, a dead letter or a duplicate (the 4,000 copies).
      const rollups = await verifyRollups(clickhouse.client, Date.UTC(2026, 9, 1), Date.UTC(2026, 9, 1) + 31 * 86_400_000);
      expect(rollups.differences).toEqual([]);
      const offsets = await verifyOffsets(clickhouse.client, admin, config.ingest.groupId, [
        { topic: topics.assignments, table: 'assignment_events' },
        { topic: topics.deliveries, table: 'delivery_events' },
      ]);
      expect(offsets.missing).toBe(0);
      expect(offsets.partitions.reduce((sum, p) => sum + p.accounted, 0)).toBe(stream.length);
    } finally {
      await clickhouse.close();
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      await admin.disconnect();
    }
  }, 420_000);
});
