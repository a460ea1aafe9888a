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

/**
 * A publisher for a long-running server (the API's HTTP ingest): it connects lazily and again
 * after a failed attempt, so that a broker that is down at start-up or later makes requests
 * fail (503) rather than the process, and its produce requests retry a bounded number of times.
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
  return {
    async publish(events) {
      await connected();
      await publisher.publish(events);
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
