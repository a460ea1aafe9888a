import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { parseControlRequest, type ControlRequest } from './control.js';

export interface ControlReaderDeps {
  kafka: Kafka;
  admin: Admin;
  config: Config;
  /** The ingest-control topic. */
  topic: string;
  logger: Logger;
  /** Told every operator request published after this process started. */
  onRequest(request: ControlRequest, offset: string): void;
}

/**
 * Reads the ingest-control topic (operators' `ingest-resume` requests) in a consumer group of this
 * process's own, so that every ingest process sees every request. The group is deleted when the
 * process stops, and the empty ones earlier processes left behind (a crash, a kill) at start.
 */
export class ControlReader {
  readonly groupId: string;
  private readonly consumer: Consumer;

  constructor(private readonly deps: ControlReaderDeps) {
    const { config } = deps;
    this.groupId = `${config.ingest.groupId}.control.${randomUUID()}`;
    this.consumer = deps.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: config.ingest.sessionTimeoutMs,
      maxWaitTimeInMs: 1000,
      retry: { retries: 10 },
    });
  }

  /**
   * Reads operator requests published after this instance started (the offsets before are the
   * audit trail of earlier pauses, not requests to this one).
   */
  async start(): Promise<void> {
    const { admin, topic, logger } = this.deps;
    const [partition] = await admin.fetchTopicOffsets(topic);
    const from = Number(partition?.high ?? 0);
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topic], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        if (Number(message.offset) < from) return;
        const request = parseControlRequest(message.value);
        if (!request) {
          logger.warn({ offset: message.offset }, 'ignoring an unreadable ingest-control record');
          return;
        }
        this.deps.onRequest(request, message.offset);
      },
    });
  }

  /** Disconnects and deletes this process's group (best effort). */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
    try {
      await this.deps.admin.deleteGroups([this.groupId]);
    } catch (error) {
      this.deps.logger.debug({ err: error, groupId: this.groupId }, 'cannot delete the control reader group');
    }
  }

  /** Disconnects only (a process that never started consuming). */
  async disconnect(): Promise<void> {
    await this.consumer.disconnect();
  }

  /**
   * Deletes the control reader groups that earlier processes left behind: those of this ingest
   * group that have no member. A group with members belongs to a running process.
   */
  async deleteStaleGroups(): Promise<void> {
    const { admin, config, logger } = this.deps;
    try {
      const prefix = `${config.ingest.groupId}.control.`;
      const { groups } = await admin.listGroups();
      const candidates = groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix) && id !== this.groupId);
      if (candidates.length === 0) return;
      const described = await admin.describeGroups(candidates);
      const empty = described.groups.filter((group) => group.members.length === 0).map((group) => group.groupId);
      if (empty.length === 0) return;
      await admin.deleteGroups(empty);
      logger.info({ groups: empty }, 'deleted the control reader groups of earlier processes');
    } catch (error) {
      logger.debug({ err: error }, 'cannot delete the control reader groups of earlier processes');
    }
  }
}
