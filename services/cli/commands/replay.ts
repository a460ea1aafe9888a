import fs from 'node:fs';
import { pino } from 'pino';
import { UsageError, type Command } from '../command.js';
import { kafkaFailure } from '../cli-publisher.js';
import { parseInstant } from '../../events/instant.js';
import { topicNames } from '../../events/topics.js';
import { applyReplay, assertGroupStopped, parseOffsetsFile, planReplay, ReplayRefused } from '../../ingest/offset-tools.js';
import { loadConfig } from '../../platform/config.js';
import { createKafka } from '../../platform/kafka.js';
import { createLogger } from '../../platform/logger.js';
import { messageOf } from '../../platform/errors.js';

/**
 * `sending-metrics replay --from-time T | --to-offsets FILE [--yes]`: moves the stopped ingest
 * group back so that records are read again (counted once: see offset-tools.ts). Without --yes
 * it prints what it would do and changes nothing.
 */
export const replayCommand: Command = {
  summary:
    'move the stopped ingest group back to a time or to given offsets so that records are read again (counted once); prints the plan, applies it only with --yes. Exit 0 planned or applied, 1 refused (group running, unknown topic, a move forward) or Kafka unreachable, 2 wrong usage',
  usage: 'replay --from-time ISO-8601 | --to-offsets FILE [--yes]',
  options: { 'from-time': { type: 'string' }, 'to-offsets': { type: 'string' }, yes: { type: 'boolean' } },
  async run(values) {
    const fromTime = values['from-time'];
    const file = values['to-offsets'];
    if ((fromTime === undefined) === (file === undefined)) throw new UsageError('give exactly one of --from-time and --to-offsets');
    let target: Parameters<typeof planReplay>[3];
    if (fromTime !== undefined) {
      const parsed = parseInstant(String(fromTime));
      if (!parsed.ok) throw new UsageError(`--from-time ${JSON.stringify(fromTime)} ${parsed.problem}`);
      target = { fromTimeMs: parsed.millis };
    } else {
      let text: string;
      try {
        text = fs.readFileSync(String(file), 'utf8');
      } catch (error) {
        throw new UsageError(`--to-offsets ${JSON.stringify(file)}: ${messageOf(error)}`);
      }
      try {
        target = { offsets: parseOffsetsFile(text) };
      } catch (error) {
        if (error instanceof ReplayRefused) throw new UsageError(error.message);
        throw error;
      }
    }
    const config = loadConfig();
    const kafka = createKafka(config, createLogger('error', pino.destination(2)), 'sending-metrics-replay');
    const topics = topicNames(config.topicPrefix);
    const groupId = config.ingest.groupId;
    const admin = kafka.admin();
    try {
      await admin.connect();
      await assertGroupStopped(admin, groupId);
      const moves = await planReplay(admin, groupId, [topics.assignments, topics.deliveries], target);
      const total = moves.reduce((sum, move) => sum + move.records, 0);
      for (const move of moves.filter((m) => m.records > 0))
        console.log(`  ${move.topic} partition ${move.partition}: ${move.from} → ${move.to} (${move.records} records read again)`);
      if (total === 0) {
        console.log(`nothing to replay: group ${groupId} is already at or before the target`);
        return 0;
      }
      if (values.yes !== true) {
        console.log(`would move group ${groupId} back by ${total} records; nothing changed — run again with --yes to apply`);
        return 0;
      }
      await applyReplay(admin, groupId, moves);
      console.log(`moved group ${groupId} back by ${total} records; the ingest reads them again when it starts (each counted once)`);
      return 0;
    } catch (error) {
      if (error instanceof ReplayRefused) {
        console.error(`replay refused: ${error.message}; nothing changed`);
        return 1;
      }
      console.error(kafkaFailure(config, error));
      return 1;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
};
