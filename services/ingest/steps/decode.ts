import { decodeEvent, eventOfRecord, EventDecodeError, parseJsonEvent } from '../../events/codec.js';
import type { ConfluentReader } from '../../events/confluent-reader.js';
import { confluentSchemaId, detectEncoding } from '../../events/encodings.js';
import type { SendingEvent } from '../../events/types.js';
import { validateEvent } from '../../events/validate.js';
import type { Outcome, SourceRecord } from '../record.js';

/**
 * decode → validate: bytes to an event, or a dead letter with its reason. Only the two event
 * topics are consumed, and a record must hold the event type of the topic it came from.
 * Each record's encoding is told by its first bytes (events/encodings.ts): Avro single-object,
 * Confluent-framed Avro (writer schemas looked up beforehand, see WriterSchemas), or a JSON
 * event; every encoding then goes through the same validation.
 */
export interface DecodeOptions {
  /** Reads Confluent-framed records; undefined when SCHEMA_REGISTRY_URL is not set. */
  confluent?: ConfluentReader;
}

function prefix(bytes: Buffer): string {
  return bytes.subarray(0, 10).toString('hex');
}

export function createDecodeStep(expected: 'assignment' | 'delivery', options: DecodeOptions = {}) {
  const undecodable = (record: SourceRecord, code: string, message: string): Outcome => ({
    kind: 'dead-letter',
    record,
    reason: `undecodable (${code}): ${message}`,
  });

  return function decodeStep(record: SourceRecord): Outcome {
    const value = record.value;
    if (!value || value.length === 0) return { kind: 'dead-letter', record, reason: 'empty record value' };
    let decoded: unknown;
    try {
      const encoding = detectEncoding(value);
      if (encoding === 'single-object') {
        decoded = decodeEvent(value);
      } else if (encoding === 'confluent') {
        if (!options.confluent) {
          return undecodable(
            record,
            'confluent',
            `a Confluent-framed record (schema id ${confluentSchemaId(value)}), but SCHEMA_REGISTRY_URL is not set, so its writer schema cannot be looked up`,
          );
        }
        const read = options.confluent.decode(value);
        decoded = eventOfRecord(read.eventType, read.record) satisfies SendingEvent;
      } else if (encoding === 'json') {
        // Strict UTF-8 (never read as U+FFFD: two ids differing only in invalid bytes stay two), the field named.
        const parsed = parseJsonEvent(value);
        if (!parsed.ok) {
          if (parsed.kind === 'utf8') return { kind: 'dead-letter', record, reason: `invalid event: ${parsed.problem}` };
          return undecodable(record, 'json', `not a valid JSON event: ${parsed.problem}`);
        }
        decoded = parsed.value;
      } else {
        return undecodable(
          record,
          'bad-header',
          `neither Avro single-object (c301), Confluent-framed Avro (00 and a schema id) nor a JSON object; starts with ${prefix(value)}`,
        );
      }
    } catch (error) {
      if (error instanceof EventDecodeError) return undecodable(record, error.code, error.message);
      throw error;
    }
    const validation = validateEvent(decoded);
    if (!validation.ok) return { kind: 'dead-letter', record, reason: `invalid event: ${validation.errors.join('; ')}` };
    if (validation.event.type !== expected) {
      const article = validation.event.type === 'assignment' ? 'an' : 'a';
      return {
        kind: 'dead-letter',
        record,
        reason: `${article} ${validation.event.type} event on the ${record.topic} topic, which holds ${expected} events`,
      };
    }
    return { kind: 'ok', record, event: validation.event };
  };
}
