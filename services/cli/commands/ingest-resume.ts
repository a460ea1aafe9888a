import { pino } from 'pino';
import type { Command } from '../command.js';
import { kafkaFailure } from '../cli-publisher.js';
import { topicNames } from '../../events/topics.js';
import { operatorName, publishResume } from '../../ingest/control.js';
import { loadConfig } from '../../platform/config.js';
import { createKafka } from '../../platform/kafka.js';
import { createLogger } from '../../platform/logger.js';

/**
 * `sending-metrics ingest-resume`: asks every ingest instance paused by the invalid-ratio guard
 * to resume and dead-letter the burst. Needs only Kafka (it publishes one record on the
 * ingest-control topic, which is also the audit trail), so it works while the server runs.
 */
export const ingestResumeCommand: Command = {
  summary:
    'resume ingest instances paused by the invalid-ratio guard: the burst goes to the dead-letter topic; the request (who, when, why) is kept on the ingest-control topic',
  usage: 'ingest-resume [--reason TEXT] [--by NAME]',
  options: {
    reason: { type: 'string' },
    by: { type: 'string' },
  },
  async run(values) {
    const config = loadConfig();
    const logger = createLogger(config.logLevel, pino.destination(2));
    const kafka = createKafka(config, logger, 'sending-metrics-ingest-resume');
    const topic = topicNames(config.topicPrefix).ingestControl;
    const request = {
      reason: typeof values.reason === 'string' ? values.reason : '',
      by: typeof values.by === 'string' && values.by !== '' ? values.by : operatorName(),
      at: new Date().toISOString(),
    };
    try {
      const offset = await publishResume(kafka, topic, request);
      console.log(`resume requested on ${topic} at offset ${offset} by ${request.by}${request.reason ? `: ${request.reason}` : ''}`);
      console.log('paused ingest instances resume within seconds; /readyz and sending_metrics_ingest_paused show when they have');
      return 0;
    } catch (error) {
      console.error(kafkaFailure(config, error));
      return 1;
    }
  },
};
