import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { topicNames } from '../../services/events/topics.js';
import { openClickHouse } from '../../services/platform/clickhouse.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { createPublisher } from '../../services/producer/publisher.js';
import { diffTruth, generateEvents, groundTruth } from '../../fixtures/events.js';
import { runCli, startCli, waitForExit } from '../support/cli.js';
import { countRaw, readAggregates } from '../support/tables.js';
import { groupProgress } from '../support/group-progress.js';
import { waitFor } from '../support/wait-for.js';

/**
 * A process slot keeps its identity (INGEST_INSTANCE_ID) across restarts: after kill -9 the
 * restarted process removes the member its predecessor left in the group instead of waiting
 * for that member's session to time out. A second live process with the same id is refused and
 * the first goes on. Counts stay exact throughout. (How fast the restart resumes is measured by
 * `make bench-recovery`, not asserted here.)
 */
describe('ingest restarts with a stable instance id', () => {
  it('kill -9 and restart: the predecessor is removed, every event counts once; a live twin is refused', async () => {
    const stamp = Date.now();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-restart-'));
    const twinDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-restart-twin-'));
    const env = {
      DATA_DIR: dataDir,
      PORT: '0',
      TOPIC_PREFIX: `restart-${stamp}.`,
      INGEST_GROUP_ID: `restart-${stamp}`,
      INGEST_INSTANCE_ID: 'slot-0',
      INGEST_BATCH_MAX_MS: '200',
      LOG_LEVEL: 'info',
    };
    const config = loadConfig({ ...process.env, ...env });
    const logger = createLogger('warn');
    const kafka = createKafka(config, logger, 'restart-test');
    const topics = topicNames(config.topicPrefix);
    const events = generateEvents({ seed: 61, count: 30_000, startMs: Date.UTC(2026, 10, 1), spanMs: 5 * 86_400_000 });
    const publisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger });
    await publisher.connect();
    const admin = kafka.admin();
    await admin.connect();
    const allCommitted = (count: number) =>
      waitFor(
        `the group to commit ${count} records`,
        async () => {
          const progress = await groupProgress(admin, config.ingest.groupId, [topics.assignments, topics.deliveries]);
          return progress.end === count && progress.committed === count;
        },
        120_000,
      );
    const members = async () => (await admin.describeGroups([config.ingest.groupId])).groups[0]?.members ?? [];

    let ingest = await startCli(['run', '--role', 'ingest'], env);
    await publisher.publish(events.slice(0, 10_000));
    await allCommitted(10_000);
    const [predecessor] = await members();
    expect(predecessor?.clientId).toBe('sending-metrics-ingest.slot-0');

    ingest.child.kill('SIGKILL');
    await waitForExit(ingest.child);
    ingest = await startCli(['run', '--role', 'ingest'], env);
    const restartedAt = Date.now();
    await publisher.publish(events.slice(10_000, 20_000));
    await allCommitted(20_000);
    const removal = ingest
      .output()
      .split('\n')
      .find((line) => line.includes('removed the group members a previous process of this instance left behind'));
    expect(removal).toBeDefined();
    expect(JSON.parse(removal!)).toMatchObject({ memberIds: [predecessor!.memberId] });
    expect((await members()).map((member) => member.memberId)).not.toContain(predecessor!.memberId);

    // The same id in a second live process (its own data directory): it is refused, not the first.
    // (The restarted process watches for a live predecessor for half a session after its start; the
    // twin comes after that, as a misconfigured second process would.)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, restartedAt + 16_000 - Date.now())));
    const twin = await runCli(['run', '--role', 'ingest'], { ...env, DATA_DIR: twinDir }, undefined, 90_000);
    expect(twin.code).toBe(1);
    expect(twin.stdout + twin.stderr).toContain('another live process uses this INGEST_INSTANCE_ID');
    await publisher.publish(events.slice(20_000));
    await allCommitted(30_000).catch((error: Error) => {
      throw new Error(`${error.message}\nthe first process said:\n${ingest.output().slice(-6000)}`);
    });
    expect(ingest.child.exitCode).toBeNull();

    await publisher.disconnect();
    ingest.child.kill('SIGTERM');
    expect(await waitForExit(ingest.child)).toBe(0);
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    const clickhouse = await openClickHouse(config, logger);
    try {
      expect(await countRaw(clickhouse.client)).toBe(events.length);
      expect(diffTruth(groundTruth(events), await readAggregates(clickhouse.client))).toEqual([]);
    } finally {
      await clickhouse.close();
      fs.rmSync(twinDir, { recursive: true, force: true });
    }
  }, 400_000);
});
