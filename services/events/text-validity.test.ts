import { describe, expect, it } from 'vitest';
import { decodeEvent, EventDecodeError, MAX_JSON_EVENT_BYTES, parseJsonEvent } from './codec.js';
import { encodeEvent } from './codec.js';
import type { AssignmentEvent, DeliveryEvent } from './types.js';
import { validateEvent } from './validate.js';

/**
 * Text that is not Unicode is refused, never rewritten: invalid UTF-8 bytes (which a lenient
 * decoder turns into U+FFFD, so that ids differing only in them collapse into one) and lone
 * surrogates (JSON escapes such as "\ud800"), in every text field and on every path.
 */

const assignment: AssignmentEvent = {
  type: 'assignment',
  eventId: 'XX-x',
  tenantId: 'acme',
  occurredAt: '2026-11-27T10:15:00.123Z',
  customerId: 'c-1',
  playbookId: 'pb-1',
  playbookName: 'Onboarding',
  campaignId: 'cm-1',
  campaignName: 'Welcome — día 1 \ufffd',
  action: 'entered',
};

const delivery: DeliveryEvent = {
  type: 'delivery',
  eventId: 'd-1',
  tenantId: 'acme',
  occurredAt: '2026-11-27T10:16:02.000Z',
  customerId: 'c-1',
  messageId: 'm-1',
  channel: 'email',
  status: 'sent',
  playbookId: null,
  campaignId: null,
  reason: 'fine \u{1F600}',
};

function errorsOf(input: unknown): string[] {
  const result = validateEvent(input);
  if (result.ok) throw new Error('accepted');
  return result.errors;
}

/** The bytes of `text` with every `XX` replaced by the given bytes (the same length keeps JSON and Avro framing intact). */
function withBytes(bytes: Buffer, replacement: number[]): Buffer {
  const at = bytes.indexOf('XX');
  expect(at).toBeGreaterThanOrEqual(0);
  const copy = Buffer.from(bytes);
  copy[at] = replacement[0]!;
  copy[at + 1] = replacement[1]!;
  return copy;
}

const INVALID = [
  [0xff, 0x2d], // \xff-
  [0xfe, 0x2d], // \xfe-
  [0xc0, 0xaf], // overlong '/'
];

describe('validateEvent: lone surrogates', () => {
  it('refuses a lone surrogate in every text field, naming the field and the code unit', () => {
    expect(errorsOf({ ...assignment, eventId: '\ud800-x' })).toEqual(['eventId: lone surrogate \\ud800']);
    expect(errorsOf({ ...assignment, customerId: 'c-\udfff' })).toEqual(['customerId: lone surrogate \\udfff']);
    expect(errorsOf({ ...assignment, playbookName: 'a\udbff' })).toEqual(['playbookName: lone surrogate \\udbff']);
    expect(errorsOf({ ...delivery, reason: 'x\ud83d' })).toEqual(['reason: lone surrogate \\ud83d']);
    expect(errorsOf({ ...delivery, campaignId: '\udc00\ud800' })).toEqual(['campaignId: lone surrogate \\udc00']);
  });

  it('accepts well-formed text outside the BMP and U+FFFD written as such', () => {
    expect(validateEvent({ ...assignment, eventId: 'e-\u{1F600}' }).ok).toBe(true);
    expect(validateEvent(assignment).ok).toBe(true);
    expect(validateEvent(delivery).ok).toBe(true);
  });

  it('three ids differing only in lone surrogates are all refused, none rewritten', () => {
    for (const eventId of ['\ud800-x', '\ud801-x', '\udc00-x']) {
      expect(errorsOf({ ...assignment, eventId })[0]).toMatch(/^eventId: lone surrogate/);
    }
  });
});

describe('parseJsonEvent: the JSON value of a record', () => {
  it('reads valid UTF-8, U+FFFD and escapes included', () => {
    const bytes = Buffer.from(JSON.stringify(assignment));
    expect(parseJsonEvent(bytes)).toEqual({ ok: true, value: assignment });
  });

  it('names the field that holds invalid UTF-8 instead of rewriting it', () => {
    for (const replacement of INVALID) {
      const bytes = withBytes(Buffer.from(JSON.stringify({ ...assignment, campaignName: 'Welcome' })), replacement);
      expect(parseJsonEvent(bytes)).toEqual({ ok: false, kind: 'utf8', problem: 'eventId: invalid UTF-8' });
    }
  });

  it('a field name of invalid UTF-8 and an encoded surrogate (ED A0 80) are refused too', () => {
    const key = withBytes(Buffer.from('{"XXtype":"assignment"}'), [0xff, 0x2d]);
    expect(parseJsonEvent(key)).toEqual({ ok: false, kind: 'utf8', problem: 'a field name: invalid UTF-8' });
    const surrogate = Buffer.concat([Buffer.from('{"customerId":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    expect(parseJsonEvent(surrogate)).toEqual({ ok: false, kind: 'utf8', problem: 'customerId: invalid UTF-8' });
  });

  it('a document larger than any event is not parsed', () => {
    const nested = Buffer.from(`${'['.repeat(MAX_JSON_EVENT_BYTES)}${']'.repeat(MAX_JSON_EVENT_BYTES)}`);
    expect(parseJsonEvent(nested)).toEqual({
      ok: false,
      kind: 'json',
      problem: `${2 * MAX_JSON_EVENT_BYTES} bytes long; a JSON event is at most ${MAX_JSON_EVENT_BYTES}`,
    });
  });

  it('invalid UTF-8 that is not JSON either is a JSON problem', () => {
    const result = parseJsonEvent(Buffer.from([0x7b, 0xff, 0x7d]));
    expect(result).toMatchObject({ ok: false, kind: 'json' });
  });
});

describe('Avro single-object records', () => {
  it('refuses a string of invalid UTF-8 with a reason naming the field', () => {
    const good = encodeEvent(assignment);
    expect(decodeEvent(good)).toEqual(assignment);
    for (const replacement of INVALID) {
      const bytes = withBytes(good, replacement);
      let error: unknown;
      try {
        decodeEvent(bytes);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(EventDecodeError);
      expect((error as EventDecodeError).code).toBe('invalid-utf8');
      expect((error as EventDecodeError).message).toBe('eventId: invalid UTF-8 (an assignment.v1 record)');
    }
  });

  it('names each field that holds invalid bytes, not one that holds U+FFFD itself', () => {
    const good = encodeEvent({ ...delivery, customerId: 'XX-c', reason: 'a \ufffd b XX' });
    const once = withBytes(good, [0xff, 0xfe]);
    const twice = withBytes(once, [0xc3, 0x28]);
    expect(() => decodeEvent(twice)).toThrow('customerId: invalid UTF-8; reason: invalid UTF-8 (a delivery.v1 record)');
  });
});
