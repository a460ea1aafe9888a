import type { SendingEvent } from '../events/types.js';

/** One Kafka record as the ingest steps see it. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** What a step decides about a record: keep the event, send it to the dead-letter topic, or drop it. */
export type Outcome =
  | { kind: 'ok'; record: SourceRecord; event: SendingEvent }
  | { kind: 'dead-letter'; record: SourceRecord; reason: string }
  | { kind: 'duplicate'; record: SourceRecord; event: SendingEvent };
