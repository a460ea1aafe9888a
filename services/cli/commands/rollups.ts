import { pino } from 'pino';
import { UsageError, type Command } from '../command.js';
import { kafkaFailure } from '../cli-publisher.js';
import { parseInstant } from '../../events/instant.js';
import { rebuildRollups, verifyRollups, wholeDays, type RollupDifference } from '../../operations/rollups.js';
import { verifyOffsets } from '../../operations/offsets.js';
import { topicNames } from '../../events/topics.js';
import type { ClickHouseClient } from '../../platform/clickhouse.js';
import { openClickHouse } from '../../platform/clickhouse.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { createKafka } from '../../platform/kafka.js';
import { createLogger } from '../../platform/logger.js';

/** `verify` and `rebuild-rollups`: the count rollups against the raw tables, and recomputing them. */

const DAY_MS = 86_400_000;

function instant(values: Record<string, string | boolean | undefined>, name: 'from' | 'to', fallback?: number): number {
  const raw = values[name];
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const parsed = parseInstant(String(raw));
  if (!parsed.ok) throw new UsageError(`--${name} ${JSON.stringify(raw)} ${parsed.problem}`);
  return parsed.millis;
}

function range(values: Record<string, string | boolean | undefined>, defaults: boolean): { fromMs: number; toMs: number } {
  const now = Date.now();
  const fromMs = instant(values, 'from', defaults ? now - 30 * DAY_MS : undefined);
  const toMs = instant(values, 'to', defaults ? now : undefined);
  if (fromMs >= toMs)
    throw new UsageError(`--from (${new Date(fromMs).toISOString()}) is not before --to (${new Date(toMs).toISOString()})`);
  return { fromMs, toMs };
}

function describe(difference: RollupDifference): string {
  const key = Object.entries(difference.key)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(' ');
  const values = Object.entries(difference.values)
    .map(([name, [rollup, raw]]) => `${name}: rollup ${rollup}, raw ${raw}`)
    .join('; ');
  return `  ${difference.table} bucket ${difference.bucket} ${key} — ${values}`;
}

/** The offsets check (operations/offsets.ts) as printed lines; not ok when an offset is unaccounted for or Kafka cannot be asked. */
async function checkOffsets(config: Config, client: ClickHouseClient): Promise<{ ok: boolean; lines: string[] }> {
  const kafka = createKafka(config, createLogger('error', pino.destination(2)), 'sending-metrics-verify');
  const admin = kafka.admin();
  const topics = topicNames(config.topicPrefix);
  try {
    await admin.connect();
    const report = await verifyOffsets(client, admin, config.ingest.groupId, [
      { topic: topics.assignments, table: 'assignment_events' },
      { topic: topics.deliveries, table: 'delivery_events' },
    ]);
    const checked = report.partitions.reduce((sum, p) => sum + (p.to - p.from), 0);
    const lines = [
      `offsets of group ${config.ingest.groupId}: ${checked} committed offsets in ${report.partitions.length} partitions, ${
        report.missing === 0 ? 'each a row, a dead letter or a duplicate' : `${report.missing} unaccounted for`
      }`,
    ];
    for (const p of report.partitions.filter((p) => p.missing > 0))
      lines.push(
        `  ${p.topic} partition ${p.partition}: ${p.missing} of offsets ${p.from}–${p.to - 1} unaccounted for, e.g. ${p.examples.join(', ')}`,
      );
    return { ok: report.missing === 0, lines };
  } catch (error) {
    return { ok: false, lines: [`offsets not checked: ${kafkaFailure(config, error)}`] };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Refuses while the ingest group has members: a write during the rebuild would be lost by the swap. */
async function ingestStopped(config: Config): Promise<string | undefined> {
  const kafka = createKafka(config, createLogger('error', pino.destination(2)), 'sending-metrics-rebuild-rollups');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([config.ingest.groupId]);
    const members = groups[0]?.members.length ?? 0;
    return members > 0
      ? `the ingest group ${config.ingest.groupId} has ${members} running member${members === 1 ? '' : 's'}; stop the ingest first (a row written during the rebuild would be lost)`
      : undefined;
  } finally {
    await admin.disconnect();
  }
}

export const verifyCommand: Command = {
  summary:
    'check every count rollup bucket in the range (whole UTC days, default the last 30) against the raw events it sums, and that every offset the ingest committed is a row, a dead letter or a duplicate; prints what differs. Exit 0 all equal, 1 a difference or a failure',
  usage: 'verify [--from ISO-8601] [--to ISO-8601]',
  options: { from: { type: 'string' }, to: { type: 'string' } },
  async run(values) {
    const { fromMs, toMs } = range(values, true);
    const config = loadConfig();
    const clickhouse = await openClickHouse(config, createLogger('error', pino.destination(2)));
    try {
      const report = await verifyRollups(clickhouse.client, fromMs, toMs);
      const offsets = await checkOffsets(config, clickhouse.client);
      const days = wholeDays(fromMs, toMs);
      console.log(`rollups from ${new Date(days.fromMs).toISOString()} to ${new Date(days.toMs).toISOString()} (whole UTC days):`);
      for (const [table, compared] of Object.entries(report.compared)) {
        const differing = report.differences.filter((d) => d.table === table).length;
        console.log(`  ${table}: ${compared} buckets and keys compared${differing > 0 ? `, ${differing}+ differ` : ', all equal'}`);
      }
      console.log(offsets.lines.join('\n'));
      if (report.differences.length === 0) {
        console.log('verify: every rollup equals the raw events');
        return offsets.ok ? 0 : 1;
      }
      console.log(
        `verify: ${report.differences.length + report.more} differences${report.more > 0 ? ` (first ${report.differences.length}):` : ':'}`,
      );
      for (const difference of report.differences) console.log(describe(difference));
      console.log('run `sending-metrics rebuild-rollups --from … --to …` (with the ingest stopped) to recompute them');
      return 1;
    } finally {
      await clickhouse.close();
    }
  },
};

export const rebuildRollupsCommand: Command = {
  summary:
    'recompute the count rollups of every UTC month the range touches from the raw events, swapping each month in atomically per table; the ingest must be stopped. Exit 0 done, 1 refused or failed',
  usage: 'rebuild-rollups --from ISO-8601 --to ISO-8601',
  options: { from: { type: 'string' }, to: { type: 'string' } },
  async run(values) {
    const { fromMs, toMs } = range(values, false);
    const config = loadConfig();
    if (config.clickhouseCluster !== undefined) {
      // Staging tables of Replicated* rollups would share their Keeper path, and sharded rollups are Distributed tables.
      console.error(
        `rebuild-rollups refused: it rebuilds on one server only, and CLICKHOUSE_CLUSTER is set (${config.clickhouseCluster}); on a cluster it is not supported yet`,
      );
      return 1;
    }
    let refusal: string | undefined;
    try {
      refusal = await ingestStopped(config);
    } catch (error) {
      console.error(`cannot tell whether the ingest is stopped: ${kafkaFailure(config, error)}`);
      return 1;
    }
    if (refusal) {
      console.error(`rebuild-rollups refused: ${refusal}`);
      return 1;
    }
    const clickhouse = await openClickHouse(config, createLogger('error', pino.destination(2)));
    try {
      const report = await rebuildRollups(clickhouse.client, fromMs, toMs);
      console.log(
        `rebuilt months ${report.months.join(', ')}: ${Object.entries(report.rows)
          .map(([table, rows]) => `${table} ${rows} rows`)
          .join(', ')}`,
      );
      return 0;
    } finally {
      await clickhouse.close();
    }
  },
};
