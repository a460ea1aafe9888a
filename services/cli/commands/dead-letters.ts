import { pino } from 'pino';
import { UsageError, type Command } from '../command.js';
import { kafkaFailure } from '../cli-publisher.js';
import { parseInstant } from '../../events/instant.js';
import { topicNames } from '../../events/topics.js';
import { listDeadLetters, preview, replayDeadLetters, replayGroup, type DeadLetterEntry } from '../../ingest/dead-letter-tools.js';
import { loadConfig } from '../../platform/config.js';
import { createKafka } from '../../platform/kafka.js';
import { createLogger } from '../../platform/logger.js';

/**
 * `sending-metrics dead-letters list|replay`: what went to the dead-letter topic and why, and
 * republishing the original records once their cause is fixed. Needs only Kafka.
 */

function since(values: Record<string, string | boolean | undefined>): number | undefined {
  if (values.since === undefined) return undefined;
  const parsed = parseInstant(String(values.since));
  if (!parsed.ok) throw new UsageError(`--since ${JSON.stringify(values.since)} ${parsed.problem}`);
  return parsed.millis;
}

function row(entry: DeadLetterEntry): string[] {
  return [
    new Date(entry.timestampMs).toISOString(),
    `${entry.partition}@${entry.offset}`,
    `${entry.original.topic}/${entry.original.partition}@${entry.original.offset}`,
    entry.reason.length > 80 ? `${entry.reason.slice(0, 79)}…` : entry.reason,
    entry.truncated ? `(truncated) ${preview(entry.value, 24)}` : preview(entry.value, 32),
  ];
}

function table(rows: string[][]): string {
  const header = ['written at', 'letter', 'original (topic/partition@offset)', 'reason', 'value'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export const deadLettersCommand: Command = {
  summary:
    'list the dead letters (reason, original location, a preview of the value), or replay the original records of chosen letters to their topics (once: a second replay starts where the first ended)',
  usage: 'dead-letters list|replay [--since ISO-8601] [--reason TEXT] [--limit N] [--json] [--dry-run]',
  allowPositionals: true,
  options: {
    since: { type: 'string' },
    reason: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  },
  async run(values, positionals) {
    const [action, ...extra] = positionals;
    if ((action !== 'list' && action !== 'replay') || extra.length > 0)
      throw new UsageError(`expected list or replay, got ${JSON.stringify(positionals.join(' '))}`);
    const sinceMs = since(values);
    const reason = typeof values.reason === 'string' ? values.reason : undefined;
    let limit: number | undefined;
    if (values.limit !== undefined) {
      limit = Number(values.limit);
      if (!/^\d+$/.test(String(values.limit)) || limit < 1)
        throw new UsageError(`--limit ${JSON.stringify(values.limit)} is not a whole number ≥ 1`);
    }
    if (action === 'list' && values['dry-run']) throw new UsageError('--dry-run applies to replay');
    if (action === 'replay' && limit !== undefined) throw new UsageError('--limit applies to list (replay takes every chosen letter)');
    const config = loadConfig();
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));
    const kafka = createKafka(config, logger, `sending-metrics-dead-letters-${action}`);
    const topic = topicNames(config.topicPrefix).deadLetter;
    try {
      if (action === 'list') {
        const letters = await listDeadLetters(kafka, topic, { sinceMs, reason, limit });
        if (values.json) {
          for (const entry of letters)
            console.log(
              JSON.stringify({
                writtenAt: new Date(entry.timestampMs).toISOString(),
                partition: entry.partition,
                offset: entry.offset,
                reason: entry.reason,
                original: entry.original,
                truncated: entry.truncated,
                valueBytes: entry.value?.length ?? 0,
                preview: preview(entry.value),
              }),
            );
        } else {
          console.log(letters.length === 0 ? `no dead letters on ${topic} match` : table(letters.map(row)));
          if (letters.length > 0) console.log(`${letters.length} dead letter${letters.length === 1 ? '' : 's'} on ${topic}`);
        }
        return 0;
      }
      const dryRun = values['dry-run'] === true;
      const report = await replayDeadLetters(kafka, topic, replayGroup(config.ingest.groupId), { sinceMs, reason }, dryRun);
      const targets = Object.entries(report.byTopic)
        .map(([name, n]) => `${n} to ${name}`)
        .join(', ');
      console.log(
        `${dryRun ? 'dry run: would replay' : 'replayed'} ${report.replayed} record${report.replayed === 1 ? '' : 's'}${targets ? ` (${targets})` : ''}; ` +
          `${report.read} letters read since the last replay, ${report.skipped} not chosen, ${report.truncated} truncated (not replayable)`,
      );
      return 0;
    } catch (error) {
      console.error(kafkaFailure(config, error));
      return 1;
    }
  },
};
