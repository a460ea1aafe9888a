import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaLogCreator, REPEAT_QUIET_MS } from './kafka.js';
import { createLogger } from './logger.js';

function capture() {
  const lines: { level: number; msg: string; broker?: string }[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  return { logger, lines };
}

const refused = (broker: string) => ({
  level: logLevel.ERROR,
  log: { message: 'Connection error: connect ECONNREFUSED', broker, timestamp: '', logger: 'kafkajs' },
});

describe('kafkajs log lines', () => {
  it('a line repeated within the quiet period goes to debug; another broker, or later, is logged again', () => {
    const { logger, lines } = capture();
    let now = 0;
    const log = kafkaLogCreator(logger, () => now);
    log(refused('b1:9092'));
    log(refused('b1:9092'));
    log(refused('b2:9092'));
    now = REPEAT_QUIET_MS - 1;
    log(refused('b1:9092'));
    now = REPEAT_QUIET_MS;
    log(refused('b1:9092'));
    expect(lines.map((line) => [line.level, line.broker])).toEqual([
      [50, 'b1:9092'],
      [20, 'b1:9092'],
      [50, 'b2:9092'],
      [20, 'b1:9092'],
      [50, 'b1:9092'],
    ]);
  });

  it("the warning about the API producer's limited retries is debug (chosen and documented)", () => {
    const { logger, lines } = capture();
    const log = kafkaLogCreator(logger);
    log({
      level: logLevel.WARN,
      log: { message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees', timestamp: '', logger: 'kafkajs' },
    });
    log({ level: logLevel.WARN, log: { message: 'Some other warning', timestamp: '', logger: 'kafkajs' } });
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [20, 'Limiting retries for the idempotent producer may invalidate EoS guarantees'],
      [40, 'Some other warning'],
    ]);
  });

  it('errors kafkajs retries by itself are debug', () => {
    const { logger, lines } = capture();
    kafkaLogCreator(logger)({
      level: logLevel.ERROR,
      log: {
        message: 'Response Metadata',
        error: 'There is no leader for this topic-partition as we are in the middle of a leadership election',
        timestamp: '',
        logger: 'kafkajs',
      },
    });
    expect(lines.map((line) => line.level)).toEqual([20]);
  });
});
