import type { FastifyBaseLogger } from 'fastify';
import type { SendingEvent } from '../../events/types.js';
import { ApiError } from '../errors.js';

/** Publishes events to the event topics (acks=all): resolves once the broker acknowledged every one. */
export interface EventPublisher {
  publish(events: readonly SendingEvent[]): Promise<void>;
}

const RETRY_AFTER = { 'retry-after': '5' };

/**
 * Publishes and waits for the broker's acknowledgement, at most timeoutMs: a broker that is
 * down or slow is a 503 (the request may be retried as it is; the eventIds make a repeat
 * harmless), never a hang. Without a publisher in this process: 503.
 */
export async function publishAcknowledged(
  publisher: EventPublisher | undefined,
  events: readonly SendingEvent[],
  timeoutMs: number,
  log: FastifyBaseLogger,
): Promise<void> {
  if (!publisher) throw new ApiError('UNAVAILABLE', 'publishing events is not enabled in this process (it runs with the api role)');
  if (events.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const publishing = publisher.publish(events);
  // A publish that fails after the timeout answered must not become an unhandled rejection.
  publishing.catch(() => undefined);
  try {
    await Promise.race([
      publishing,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new Error(`no acknowledgement within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } catch (error) {
    log.warn({ err: error, events: events.length }, 'publishing events failed');
    const what = timedOut ? `Kafka did not acknowledge the events within ${timeoutMs} ms` : 'Kafka is unavailable';
    throw new ApiError(
      'UNAVAILABLE',
      `${what}; some may have been published: retry the same request (the eventIds make a repeat count once)`,
      RETRY_AFTER,
    );
  } finally {
    clearTimeout(timer);
  }
}
