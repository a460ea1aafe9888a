import { decodeEvent, EventDecodeError } from '../../events/codec.js';
import { validateEvent } from '../../events/validate.js';
import type { Outcome, SourceRecord } from '../record.js';

/**
 * decode → validate: bytes to an event, or a dead letter with its reason. Only the two event
 * topics are consumed, and a record must hold the event type of the topic it came from.
 */
export function createDecodeStep(expected: 'assignment' | 'delivery') {
  return function decodeStep(record: SourceRecord): Outcome {
    if (!record.value || record.value.length === 0) return { kind: 'dead-letter', record, reason: 'empty record value' };
    let decoded;
    try {
      decoded = decodeEvent(record.value);
    } catch (error) {
      if (error instanceof EventDecodeError)
        return { kind: 'dead-letter', record, reason: `undecodable (${error.code}): ${error.message}` };
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
