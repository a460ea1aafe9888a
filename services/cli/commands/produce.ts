import { UsageError, type Command } from '../command.js';
import { ConfigError, type Config } from '../../platform/config.js';
import type { SendingEvent } from '../../events/types.js';
import { kafkaFailure, openCommandPublisher } from '../cli-publisher.js';
import { checkLine, eventLines, spoolToFile } from '../event-file.js';
import { createProgress, describeRate } from '../progress.js';
import type { Publisher } from '../../producer/publisher.js';
import { messageOf } from '../../platform/errors.js';

/**
 * `produce --file FILE.ndjson`: checks every line first and publishes nothing if any is
 * invalid (each bad line is listed as `line N: reason` on stderr, exit 1); otherwise publishes
 * them all and prints the count and rate. The file is read twice, streamed both times.
 */
const CHUNK_EVENTS = 20_000;
const PROGRESS_EVERY_MS = 2000;

const stderr = (line: string): void => void process.stderr.write(`${line}\n`);

/** The file no longer holds what pass 1 checked. */
class FileChangedError extends Error {
  override name = 'FileChangedError';
}

/** Pass 1: every line checked, every invalid one reported. */
async function checkFile(file: string): Promise<{ events: number; invalid: number }> {
  const progress = createProgress(stderr, PROGRESS_EVERY_MS);
  let events = 0;
  let invalid = 0;
  for await (const line of eventLines(file)) {
    const verdict = checkLine(line.text);
    if (verdict.ok) {
      events++;
    } else {
      invalid++;
      stderr(`line ${line.number}: ${verdict.reason}`);
    }
    progress.report(() => `checked ${line.number} lines`);
  }
  return { events, invalid };
}

/** Pass 2: events published in chunks; the next chunk is read while the previous one is sent. */
async function publishFile(file: string, total: number, publisher: Publisher, done: { published: number }): Promise<void> {
  const progress = createProgress(stderr, PROGRESS_EVERY_MS);
  let sending: Promise<void> | undefined;
  const send = async (chunk: SendingEvent[]): Promise<void> => {
    await sending;
    sending = publisher.publish(chunk).then(() => {
      done.published += chunk.length;
      progress.report(() => `published ${done.published} of ${total} events`);
    });
  };
  try {
    let chunk: SendingEvent[] = [];
    for await (const line of eventLines(file)) {
      const verdict = checkLine(line.text);
      if (!verdict.ok) throw new FileChangedError(`line ${line.number} changed while publishing: ${verdict.reason}`);
      chunk.push(verdict.event);
      if (chunk.length === CHUNK_EVENTS) {
        await send(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await send(chunk);
    await sending;
  } catch (error) {
    await sending?.catch(() => undefined);
    throw error;
  }
}

async function produce(file: string, label: string, config: Config, publisher: Publisher): Promise<number> {
  let checked: { events: number; invalid: number };
  try {
    checked = await checkFile(file);
  } catch (error) {
    stderr(`cannot read ${label}: ${messageOf(error)}`);
    return 1;
  }
  if (checked.invalid > 0) {
    stderr(`${checked.invalid} invalid line${checked.invalid === 1 ? '' : 's'} in ${label}; nothing was published`);
    return 1;
  }
  if (checked.events === 0) {
    console.log(`no events in ${label}; nothing to publish`);
    return 0;
  }
  const done = { published: 0 };
  try {
    await publisher.connect();
    const start = performance.now();
    await publishFile(file, checked.events, publisher, done);
    console.log(`published ${describeRate(done.published, performance.now() - start)}`);
    return 0;
  } catch (error) {
    // A setting the cluster cannot honour (TOPIC_REPLICATION_FACTOR): one line, exit 78.
    if (error instanceof ConfigError) throw error;
    stderr(error instanceof FileChangedError ? `${label}: ${error.message}` : kafkaFailure(config, error));
    stderr(
      `published ${done.published} of ${checked.events} events before the failure; publishing ${label} again is safe (within 24 hours an eventId counts once)`,
    );
    return 1;
  } finally {
    await publisher.disconnect();
  }
}

export const produceCommand: Command = {
  summary: 'publish events given as JSON lines; nothing is published if any line is invalid',
  usage: 'produce --file FILE.ndjson (- for standard input)',
  options: { file: { type: 'string', short: 'f' } },
  async run(values) {
    const file = values.file;
    if (typeof file !== 'string' || file === '') throw new UsageError('--file is required: a file of JSON lines, or - for standard input');
    const { config, publisher } = openCommandPublisher('sending-metrics-produce');
    const source = file === '-' ? await spoolToFile(process.stdin) : { file, remove: () => undefined };
    try {
      return await produce(source.file, file === '-' ? 'standard input' : file, config, publisher);
    } finally {
      source.remove();
    }
  },
};
