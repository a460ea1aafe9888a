import os from 'node:os';
import type { Kafka } from 'kafkajs';
import { ensureTopics } from '../platform/kafka.js';

/**
 * Operator requests to every ingest instance, published on the ingest-control topic (one
 * partition, so they are read in order). The records are the audit trail: who asked, when and
 * why; each instance logs the ones it acts on.
 */
export interface ControlRequest {
  action: 'resume';
  reason: string;
  by: string;
  at: string;
}

export function parseControlRequest(value: Buffer | null): ControlRequest | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<ControlRequest>;
    if (parsed.action !== 'resume') return undefined;
    return {
      action: 'resume',
      reason: String(parsed.reason ?? ''),
      by: String(parsed.by ?? 'unknown'),
      at: String(parsed.at ?? ''),
    };
  } catch {
    return undefined;
  }
}

/** The operator's name as the audit trail shows it: user@host. */
export function operatorName(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `${user}@${os.hostname()}`;
}

/** Creates the control topic when missing (one partition). */
export async function ensureControlTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, 1, [topic]);
  } finally {
    await admin.disconnect();
  }
}

/** Publishes a resume request; resolves with its offset once the broker has it. */
export async function publishResume(kafka: Kafka, topic: string, request: Omit<ControlRequest, 'action'>): Promise<string> {
  await ensureControlTopic(kafka, topic);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const [result] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'resume', value: JSON.stringify({ action: 'resume', ...request } satisfies ControlRequest) }],
    });
    return result?.baseOffset ?? '?';
  } finally {
    await producer.disconnect();
  }
}
