import type { SendingEvent } from '../events/types.js';
import type { Logger } from '../platform/logger.js';
import { createPublisher, type PublisherOptions } from './publisher.js';

/** Produce-request retries of the API's publisher: a broker that stays down fails a request in seconds, not never. */
export const API_PUBLISH_RETRIES = 5;

export interface ConnectingPublisher {
  /** Connects first when not connected (again after a failed attempt); then publishes and waits for the broker's acknowledgement. */
  publish(events: readonly SendingEvent[]): Promise<void>;
  /** Starts connecting in the background (a failure is logged; the next publish tries again). */
  warmUp(): void;
  close(): Promise<void>;
}

interface Waiting {
  events: readonly SendingEvent[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * A publisher for a long-running server (the API's HTTP ingest): it connects lazily and again
 * after a failed attempt, so that a broker that is down at start-up or later makes requests
 * fail (503) rather than the process, and its produce requests retry a bounded number of times.
 * Concurrent calls are published one group at a time (the idempotent producer keeps one request
 * in flight, and each key's events stay in order): the calls that arrive while a group is being
 * sent go together in the next one, and each call resolves once its group is acknowledged.
 */
export function createConnectingPublisher(options: PublisherOptions & { logger: Logger }): ConnectingPublisher {
  const publisher = createPublisher({ retries: API_PUBLISH_RETRIES, ...options });
  const logger = options.logger.child({ component: 'http-ingest' });
  let connecting: Promise<void> | undefined;
  const connected = (): Promise<void> => {
    connecting ??= publisher.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };
  let waiting: Waiting[] = [];
  let sending = false;
  const drain = async (): Promise<void> => {
    sending = true;
    while (waiting.length > 0) {
      const group = waiting;
      waiting = [];
      try {
        await connected();
        await publisher.publish(group.length === 1 ? group[0]!.events : group.flatMap((call) => call.events));
        for (const call of group) call.resolve();
      } catch (error) {
        for (const call of group) call.reject(error);
      }
    }
    sending = false;
  };
  return {
    publish(events) {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ events, resolve, reject });
        if (!sending) void drain();
      });
    },
    warmUp() {
      connected().catch((error: Error) => logger.warn({ err: error }, 'HTTP ingest cannot reach Kafka yet; the next request tries again'));
    },
    async close() {
      if (connecting) await connecting.catch(() => undefined);
      await publisher.disconnect();
    },
  };
}
