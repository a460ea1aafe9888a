import type { Consumer } from 'kafkajs';
import type { TopicNames } from '../events/topics.js';
import type { Logger } from '../platform/logger.js';
import type { ControlRequest } from './control.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { InvalidRatioGuard } from './invalid-ratio.js';

export interface PauseControlDeps {
  consumer: Pick<Consumer, 'pause' | 'resume'>;
  topics: TopicNames;
  metrics: IngestMetrics;
  guard: InvalidRatioGuard;
  logger: Logger;
}

/**
 * The invalid-ratio pause: when the guard trips, fetching every event partition stops until an
 * operator resumes (`ingest-resume`, read by the ControlReader); workers hold the record that
 * tripped it meanwhile, so nothing past it is written or committed.
 */
export class PauseControl {
  private paused: { since: Date; reason: string; resume: () => void; resumed: Promise<void> } | undefined;

  constructor(private readonly deps: PauseControlDeps) {}

  /** Why consumption is paused, and since when; undefined when it is not. */
  get state(): { since: Date; reason: string } | undefined {
    return this.paused;
  }

  /** Pauses (once) and resolves when an operator resumes. */
  pause(reason: string): Promise<void> {
    const { consumer, topics, metrics, logger } = this.deps;
    if (!this.paused) {
      let resume: () => void = () => undefined;
      const resumed = new Promise<void>((resolve) => (resume = resolve));
      this.paused = { since: new Date(), reason, resume, resumed };
      consumer.pause([{ topic: topics.assignments }, { topic: topics.deliveries }]);
      metrics.paused.set(1);
      metrics.pausedSince.set(this.paused.since.getTime() / 1000);
      logger.error(
        { reason, since: this.paused.since.toISOString() },
        'ingest paused: too many invalid records; nothing past them is written or committed until `sending-metrics ingest-resume`',
      );
    }
    return this.paused.resumed;
  }

  /** An operator's resume request: the guard forgets the burst, fetching goes on. */
  resume(request: ControlRequest, offset: string): void {
    const { consumer, topics, metrics, guard, logger } = this.deps;
    const paused = this.paused;
    if (!paused) {
      logger.info({ request, offset }, 'ingest resume requested, but this instance is not paused');
      return;
    }
    this.paused = undefined;
    guard.acknowledge();
    metrics.paused.set(0);
    metrics.pausedSince.set(0);
    logger.warn(
      { request, offset, pausedSince: paused.since.toISOString(), pauseReason: paused.reason },
      'ingest resumed by an operator: the invalid records are dead-lettered until the invalid share is back within the limit',
    );
    paused.resume();
    consumer.resume([{ topic: topics.assignments }, { topic: topics.deliveries }]);
  }
}
