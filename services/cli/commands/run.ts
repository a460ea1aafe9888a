import { UsageError, type Command } from '../command.js';
import { ConfigError, loadConfig } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { messageOf } from '../../platform/errors.js';

// Kept here (not imported from pipeline-process.ts) so that a wrong --role fails before the engine loads.
const ROLES = ['all', 'ingest', 'api', 'alerts', 'downloads'] as const;
type Role = (typeof ROLES)[number];

export const runCommand: Command = {
  summary: 'run the pipeline in the foreground (ingest, api, alerts and downloads, or some roles)',
  usage: 'run [--role all|ingest|api|alerts|downloads[,…]]',
  options: { role: { type: 'string' } },
  async run(values) {
    const role = String(values.role ?? 'all')
      .split(',')
      .map((part) => part.trim()) as Role[];
    if (role.length === 0 || !role.every((part) => ROLES.includes(part))) {
      throw new UsageError(`--role ${JSON.stringify(values.role)} is not one of ${ROLES.join(', ')} (or several, comma-separated)`);
    }
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    // Loaded after the configuration is known to be valid, so a wrong value fails fast.
    const { startPipeline } = await import('../pipeline-process.js');
    let pipeline: Awaited<ReturnType<typeof startPipeline>>;
    try {
      pipeline = await startPipeline({ config, logger, role });
    } catch (error) {
      // A dependency that cannot be reached at start (ClickHouse for the migrations): one line, exit 1, for the orchestrator to restart.
      if (error instanceof ConfigError) throw error;
      logger.error({ err: error }, 'could not start');
      console.error(`sending-metrics could not start: ${messageOf(error)}`);
      return 1;
    }
    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = async (code: number, why: string, signal = false) => {
        if (stopping) {
          // A part that gives up while the pipeline closes (a Kafka client still connecting) is
          // not a reason to cut the shutdown short; only a second signal is.
          if (!signal) return logger.debug({ why }, 'failure while stopping');
          logger.warn('second signal: exiting now');
          process.exit(130);
        }
        stopping = true;
        logger.info({ why }, 'stopping');
        // The servers end what is still open after SHUTDOWN_GRACE_MS; this is the backstop for
        // anything else that hangs (the rest of the pipeline gets another 20 s).
        const deadlineMs = config.api.shutdownGraceMs + 20_000;
        const deadline = setTimeout(() => {
          logger.error({ deadlineMs }, 'shutdown did not finish in time: exiting now');
          process.exit(1);
        }, deadlineMs);
        deadline.unref();
        await pipeline.close().catch((error: Error) => logger.error({ err: error }, 'error while stopping'));
        clearTimeout(deadline);
        resolve(code);
      };
      process.on('SIGINT', () => void stop(0, 'SIGINT', true));
      process.on('SIGTERM', () => void stop(0, 'SIGTERM', true));
      pipeline.onFatal((reason) => void stop(1, reason));
    });
  },
};
