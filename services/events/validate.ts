import { canonicalMillis, INSTANT_MIN_MS, normaliseInstant } from './instant.js';
import {
  ASSIGNMENT_ACTIONS,
  CHANNELS,
  DELIVERY_STATUSES,
  EMAIL_ONLY_STATUSES,
  type AssignmentEvent,
  type DeliveryEvent,
  type SendingEvent,
} from './types.js';

/**
 * Checks an event as it arrives (a JSON line, a decoded record) against the contract and
 * returns it normalised — occurredAt in UTC with milliseconds, absent optional fields as null —
 * or every problem found, each as `field: problem`.
 */
export type ValidationResult = { ok: true; event: SendingEvent } | { ok: false; errors: string[] };

/** Longest accepted strings, in UTF-16 code units. */
export const TEXT_LIMITS = { id: 200, name: 500, reason: 1000 } as const;

const ASSIGNMENT_FIELDS = new Set<string>([
  'type',
  'eventId',
  'tenantId',
  'occurredAt',
  'customerId',
  'playbookId',
  'playbookName',
  'campaignId',
  'campaignName',
  'action',
]);
const DELIVERY_FIELDS = new Set<string>([
  'type',
  'eventId',
  'tenantId',
  'occurredAt',
  'customerId',
  'messageId',
  'channel',
  'status',
  'playbookId',
  'campaignId',
  'reason',
]);

const EMAIL_ONLY: ReadonlySet<string> = new Set(EMAIL_ONLY_STATUSES);
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one (UTF-16 code units). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Characters of a value quoted in a problem; longer values are cut (a reason never echoes a long value). */
export const QUOTED_CHARACTERS = 40;
/** Unknown fields named one by one in the problems of one event; the rest are counted. */
const UNKNOWN_FIELDS_NAMED = 5;
/** Rules of a text field, as bit flags. */
const SINGLE_LINE = 1;
const OPTIONAL = 2;

/** Whether the text is Unicode: no lone surrogate (String.prototype.isWellFormed, Node 20+). */
export function isWellFormedText(value: string): boolean {
  return (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** `\ud800`: the first lone surrogate of text that is not well formed, as a JSON escape. */
export function loneSurrogate(value: string): string {
  const found = LONE_SURROGATE.exec(value);
  return found ? `\\u${found[0].charCodeAt(0).toString(16).padStart(4, '0')}` : '(none)';
}

/** A value as quoted in a problem: JSON, cut to QUOTED_CHARACTERS characters (then `…`). */
export function quote(value: string): string {
  return JSON.stringify(value.length > QUOTED_CHARACTERS ? `${value.slice(0, QUOTED_CHARACTERS)}…` : value);
}

/** A field name as it starts a problem: as is when plain, else quoted (and cut). */
function fieldName(name: string): string {
  return /^[A-Za-z0-9_$.-]{1,40}$/.test(name) ? name : quote(name);
}

/**
 * Whether the text is certainly not blank, is Unicode and, when singleLine, has no control
 * character: true for nearly every value, checked without a regular expression. False says
 * only "look closer".
 */
function isPlainText(value: string, singleLine: boolean): boolean {
  const first = value.charCodeAt(0);
  // A printable ASCII character other than the space is not white space: the value is not blank.
  if (!(first > 0x20 && first < 0x7f)) return false;
  if (!singleLine) return isWellFormedText(value);
  for (let i = 1; i < value.length; i++) {
    const code = value.charCodeAt(i);
    // Surrogates (pairs or lone ones) are looked at closer.
    if (code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff)) return false;
  }
  return true;
}

/** The rule the enums alone do not express: a text message never takes an email-only status. */
export function checkDeliveryRule(event: Pick<DeliveryEvent, 'channel' | 'status'>): string | undefined {
  if (event.channel === 'sms' && EMAIL_ONLY.has(event.status)) {
    return `status: ${JSON.stringify(event.status)} is an email-only status; an sms never takes delivered, bounced, blocked or spam_reported`;
  }
  return undefined;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string (${quote(value)})`;
  return `a ${typeof value} (${String(value as number | boolean | bigint | symbol)})`;
}

/** Reads the fields of one event, collecting a message per problem. */
class FieldReader {
  readonly errors: string[] = [];

  constructor(private readonly input: Record<string, unknown>) {}

  /** A required identifier: not blank, one line, at most TEXT_LIMITS.id. */
  id(field: string): string {
    return this.text(field, TEXT_LIMITS.id, SINGLE_LINE);
  }

  /** A required display name: not blank, one line, at most TEXT_LIMITS.name. */
  name(field: string): string {
    return this.text(field, TEXT_LIMITS.name, SINGLE_LINE);
  }

  /** An optional identifier: absent or null is null; otherwise as `id`. */
  optionalId(field: string): string | null {
    return this.input[field] == null ? null : this.text(field, TEXT_LIMITS.id, SINGLE_LINE | OPTIONAL);
  }

  /** Optional free text: absent or null is null; line breaks allowed. */
  optionalReason(field: string): string | null {
    return this.input[field] == null ? null : this.text(field, TEXT_LIMITS.reason, OPTIONAL);
  }

  instant(field: string): string {
    const value = this.input[field];
    if (typeof value !== 'string') return this.wrongType(field, 'an ISO-8601 instant string');
    if (canonicalMillis(value) >= INSTANT_MIN_MS) return value;
    const normalised = normaliseInstant(value);
    if (normalised.ok) return normalised.instant;
    this.errors.push(`${field}: ${quote(value)} ${normalised.problem}`);
    return '';
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const value = this.input[field];
    if (typeof value !== 'string') return this.wrongType(field, `one of ${allowed.join(', ')}`) as T;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.errors.push(`${field}: ${quote(value)} is not one of ${allowed.join(', ')}`);
    return allowed[0] as T;
  }

  /** Every field not in `known` is reported (the first few by name); the contract is closed. */
  noOtherFields(known: ReadonlySet<string>, eventType: string): void {
    let unknown = 0;
    for (const field in this.input) {
      if (known.has(field)) continue;
      unknown += 1;
      if (unknown <= UNKNOWN_FIELDS_NAMED) this.errors.push(`${fieldName(field)}: is not a field of ${eventType} event`);
    }
    if (unknown > UNKNOWN_FIELDS_NAMED)
      this.errors.push(`and ${unknown - UNKNOWN_FIELDS_NAMED} more fields that are not fields of ${eventType} event`);
  }

  private text(field: string, limit: number, rules: number): string {
    const optional = (rules & OPTIONAL) !== 0;
    const value = this.input[field];
    if (typeof value !== 'string') return this.wrongType(field, optional ? 'a string or null' : 'a string');
    if (value.length <= limit && isPlainText(value, (rules & SINGLE_LINE) !== 0)) return value;
    if (value.trim() === '') {
      this.errors.push(`${field}: must not be empty${optional ? ' (use null when there is none)' : ''}`);
    } else if (value.length > limit) {
      this.errors.push(`${field}: is ${value.length} characters long; at most ${limit} are allowed`);
    } else if (!isWellFormedText(value)) {
      this.errors.push(`${field}: lone surrogate ${loneSurrogate(value)}`);
    } else if ((rules & SINGLE_LINE) !== 0 && CONTROL_CHARACTER.test(value)) {
      this.errors.push(`${field}: must not contain control characters such as line breaks or tabs`);
    }
    return value;
  }

  private wrongType(field: string, expected: string): string {
    const value = this.input[field];
    this.errors.push(value === undefined ? `${field}: is required` : `${field}: must be ${expected}, got ${describeValue(value)}`);
    return '';
  }
}

function readAssignment(fields: FieldReader): AssignmentEvent {
  return {
    type: 'assignment',
    eventId: fields.id('eventId'),
    tenantId: fields.id('tenantId'),
    occurredAt: fields.instant('occurredAt'),
    customerId: fields.id('customerId'),
    playbookId: fields.id('playbookId'),
    playbookName: fields.name('playbookName'),
    campaignId: fields.id('campaignId'),
    campaignName: fields.name('campaignName'),
    action: fields.oneOf('action', ASSIGNMENT_ACTIONS),
  };
}

function readDelivery(fields: FieldReader, input: Record<string, unknown>): DeliveryEvent {
  const event: DeliveryEvent = {
    type: 'delivery',
    eventId: fields.id('eventId'),
    tenantId: fields.id('tenantId'),
    occurredAt: fields.instant('occurredAt'),
    customerId: fields.id('customerId'),
    messageId: fields.id('messageId'),
    channel: fields.oneOf('channel', CHANNELS),
    status: fields.oneOf('status', DELIVERY_STATUSES),
    playbookId: fields.optionalId('playbookId'),
    campaignId: fields.optionalId('campaignId'),
    reason: fields.optionalReason('reason'),
  };
  // The rule is about two valid values; an invalid one has been reported already.
  const rule = event.channel === input.channel && event.status === input.status ? checkDeliveryRule(event) : undefined;
  if (rule) fields.errors.push(rule);
  return event;
}

export function validateEvent(input: unknown): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [`event: must be a JSON object, got ${describeValue(input)}`] };
  }
  const record = input as Record<string, unknown>;
  const type = record.type;
  if (type !== 'assignment' && type !== 'delivery') {
    const problem =
      type === undefined ? 'is required' : `${typeof type === 'string' ? quote(type) : describeValue(type)} is not an event type`;
    return { ok: false, errors: [`type: ${problem}; expected "assignment" or "delivery"`] };
  }
  const fields = new FieldReader(record);
  const event = type === 'assignment' ? readAssignment(fields) : readDelivery(fields, record);
  fields.noOtherFields(type === 'assignment' ? ASSIGNMENT_FIELDS : DELIVERY_FIELDS, type === 'assignment' ? 'an assignment' : 'a delivery');
  return fields.errors.length === 0 ? { ok: true, event } : { ok: false, errors: fields.errors };
}

/**
 * Where a JSON event read from bytes that are not valid UTF-8 holds them. The caller decoded the
 * bytes leniently (each invalid sequence became U+FFFD) only to say where they are; the event is
 * refused, never kept with its text rewritten. Names each field whose value (or name) holds a
 * U+FFFD: with invalid bytes around, a U+FFFD written as such may be named too.
 */
export function invalidUtf8Problems(value: unknown): string[] {
  const problems: string[] = [];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    let badNames = false;
    for (const [field, fieldValue] of Object.entries(value as Record<string, unknown>)) {
      if (field.includes('\ufffd')) badNames = true;
      else if (typeof fieldValue === 'string' && fieldValue.includes('\ufffd')) problems.push(`${fieldName(field)}: invalid UTF-8`);
    }
    if (badNames) problems.push('a field name: invalid UTF-8');
  }
  return problems.length > 0 ? problems : ['event: invalid UTF-8'];
}
