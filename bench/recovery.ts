/**
 * bench-recovery: how long consumption stalls when an ingest process is killed (kill -9) and
 * restarted at once, under a steady load.
 *
 *   1. An ingest process (`run --role ingest`) consumes a stream published at a steady rate.
 *   2. N times: after a few seconds of steady state it is killed with SIGKILL and started again
 *      immediately; the seconds from the kill to the first committed batch are the stall (and
 *      until every partition has committed again, printed beside it).
 *   3. The same with a new INGEST_INSTANCE_ID at every start (what every restart was before a
 *      slot kept its identity): the predecessor's member holds its partitions until its session
 *      times out. That is the bound measured in the same run.
 *
 * Prints a line per restart and `RESULT recovery_p95_s=… stalled_s_total=… all_partitions_p95_s=… ratio_to_fresh_identity=…`.
 * Options: --restarts N (5), --fresh-restarts N (2), --rate EVENTS_PER_S (2000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { topicNames } from '../services/events/topics.js';
import { loadConfig } from '../services/platform/config.js';
import { createKafka } from '../services/platform/kafka.js';
import { createLogger } from '../services/platform/logger.js';
import { createPublisher } from '../services/producer/publisher.js';
import { createSimulator } from '../services/producer/simulator.js';

const { values } = parseArgs({
  options: {
    restarts: { type: 'string', default: '5' },
    'fresh-restarts': { type: 'string', default: '2' },
    rate: { type: 'string', default: '2000' },
  },
});
const RESTARTS = Number(values.restarts);
const FRESH_RESTARTS = Number(values['fresh-restarts']);
const RATE = Number(values.rate);
const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'scripts/cli-from-source.mjs');

const stamp = Date.now();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-recovery-'));
const env: Record<string, string> = {
  DATA_DIR: dataDir,
  PORT: '0',
  TOPIC_PREFIX: `recovery-${stamp}.`,
  INGEST_GROUP_ID: `recovery-${stamp}`,
  INGEST_BATCH_MAX_MS: '200',
  LOG_LEVEL: 'warn',
};
const config = loadConfig({ ...process.env, ...env });
const logger = createLogger('warn');
const kafka = createKafka(config, logger, 'bench-recovery');
const topics = topicNames(config.topicPrefix);
const admin = kafka.admin();
await admin.connect();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startIngest(instanceId: string): ChildProcess {
  return spawn(process.execPath, [BIN, 'run', '--role', 'ingest'], {
    cwd: ROOT,
    env: { ...process.env, ...env, INGEST_INSTANCE_ID: instanceId },
    stdio: 'ignore',
  });
}

/** The group's committed offset per partition ("topic/partition"). */
async function committed(): Promise<Map<string, number>> {
  const offsets = await admin.fetchOffsets({ groupId: config.ingest.groupId, topics: [topics.assignments, topics.deliveries] });
  return new Map(offsets.flatMap(({ topic, partitions }) => partitions.map((p) => [`${topic}/${p.partition}`, Number(p.offset)] as const)));
}

/**
 * Seconds from `since` until the first partition, and until every partition, has committed past
 * its offset in `from` (all of them get records all the time under the steady load).
 */
async function secondsUntilCommitsAfter(from: Map<string, number>, since: number): Promise<{ first: number; all: number }> {
  let first: number | undefined;
  for (;;) {
    const now = await committed();
    const advanced = [...from].filter(([key, offset]) => (now.get(key) ?? -1) > offset).length;
    const seconds = (performance.now() - since) / 1000;
    if (advanced > 0) first ??= seconds;
    if (advanced === from.size) return { first: first!, all: seconds };
    if (seconds > 180) throw new Error('not every partition committed within 180 s of the kill');
    await sleep(50);
  }
}

// A steady stream for the whole run.
const publisher = createPublisher({ kafka, topics, partitions: config.topicPartitions, logger });
await publisher.connect();
const simulator = createSimulator({ seed: 7, tenants: 3, campaigns: 5, clock: () => Date.now() });
let publishing = true;
const load = (async () => {
  while (publishing) {
    const started = performance.now();
    await publisher.publish(simulator.take(Math.round(RATE / 10)));
    await sleep(Math.max(0, 100 - (performance.now() - started)));
  }
})();

async function measure(label: string, restarts: number, identity: (restart: number) => string): Promise<{ first: number; all: number }[]> {
  let child = startIngest(identity(0));
  const stalls: { first: number; all: number }[] = [];
  // Wait until the first process commits on every partition.
  for (;;) {
    const now = await committed();
    if (now.size === 2 * config.topicPartitions && [...now.values()].every((offset) => offset > 0)) break;
    await sleep(100);
  }
  for (let restart = 1; restart <= restarts; restart += 1) {
    await sleep(4000);
    const killedAt = performance.now();
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    child = startIngest(identity(restart));
    // What the killed process had committed (a commit it sent just before dying may still land).
    await sleep(100);
    const before = await committed();
    const stall = await secondsUntilCommitsAfter(before, killedAt);
    stalls.push(stall);
    console.log(
      `${label} restart ${restart}: ${stall.first.toFixed(2)} s from kill -9 to the first committed batch, ${stall.all.toFixed(2)} s until every partition committed again`,
    );
  }
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  return stalls;
}

const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil(values.length * 0.95) - 1)]!;

console.log(
  `bench-recovery: ${RESTARTS} restarts with a stable INGEST_INSTANCE_ID, ${FRESH_RESTARTS} with a new one each time; ${RATE} events/s`,
);
const stable = await measure('stable id', RESTARTS, () => 'bench-slot');
const fresh = FRESH_RESTARTS > 0 ? await measure('new id   ', FRESH_RESTARTS, (restart) => `bench-fresh-${restart}`) : [];
publishing = false;
await load;
await publisher.disconnect();
await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
await admin.disconnect();
fs.rmSync(dataDir, { recursive: true, force: true });

const firsts = stable.map((stall) => stall.first);
const alls = stable.map((stall) => stall.all);
const freshFirsts = fresh.map((stall) => stall.first);
const stalled = firsts.reduce((a, b) => a + b, 0);
const ratio = fresh.length > 0 ? p95(firsts) / p95(freshFirsts) : Number.NaN;
console.log(`new id each restart (the bound): first committed batch p95 ${fresh.length > 0 ? p95(freshFirsts).toFixed(2) : 'n/a'} s`);
console.log(
  `RESULT recovery_p95_s=${p95(firsts).toFixed(2)} stalled_s_total=${stalled.toFixed(2)} all_partitions_p95_s=${p95(alls).toFixed(2)} ratio_to_fresh_identity=${ratio.toFixed(3)}`,
);
