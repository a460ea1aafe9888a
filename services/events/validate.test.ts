import { describe, expect, it } from 'vitest';
import { checkDeliveryRule, validateEvent } from './validate.js';
import { DELIVERY_STATUSES, EMAIL_ONLY_STATUSES, SMS_STATUSES } from './types.js';

const assignment = {
  type: 'assignment',
  eventId: '6f1c2b9e',
  tenantId: 'acme',
  occurredAt: '2026-11-27T10:15:00.123Z',
  customerId: 'c-1',
  playbookId: 'pb-1',
  playbookName: 'Onboarding',
  campaignId: 'cm-1',
  campaignName: 'Welcome',
  action: 'entered',
};

const delivery = {
  type: 'delivery',
  eventId: '9a0e7c1d',
  tenantId: 'acme',
  occurredAt: '2026-11-27T10:16:02.000Z',
  customerId: 'c-1',
  messageId: 'm-1',
  channel: 'email',
  status: 'spam_reported',
  playbookId: 'pb-1',
  campaignId: 'cm-1',
  reason: null,
};

function errorsOf(input: unknown): string[] {
  const result = validateEvent(input);
  if (result.ok) throw new Error(`accepted ${JSON.stringify(input)}`);
  return result.errors;
}

describe('validateEvent', () => {
  it('accepts the contract examples unchanged', () => {
    expect(validateEvent(assignment)).toEqual({ ok: true, event: assignment });
    expect(validateEvent(delivery)).toEqual({ ok: true, event: delivery });
  });

  it('normalises occurredAt to UTC with milliseconds and absent optional fields to null, in contract field order', () => {
    const { playbookId: _p, campaignId: _c, reason: _r, ...bare } = delivery;
    const result = validateEvent({ ...bare, occurredAt: '2026-11-27T12:16:02+02:00', channel: 'sms', status: 'expired' });
    expect(result).toEqual({
      ok: true,
      event: {
        ...delivery,
        occurredAt: '2026-11-27T10:16:02.000Z',
        channel: 'sms',
        status: 'expired',
        playbookId: null,
        campaignId: null,
        reason: null,
      },
    });
    expect(result.ok && Object.keys(result.event)).toEqual(Object.keys(delivery));
  });

  it.each(SMS_STATUSES)('accepts an sms that is %s', (status) => {
    expect(validateEvent({ ...delivery, channel: 'sms', status }).ok).toBe(true);
  });

  it.each(DELIVERY_STATUSES)('accepts an email that is %s', (status) => {
    expect(validateEvent({ ...delivery, channel: 'email', status }).ok).toBe(true);
  });

  it.each<[string, unknown, string[]]>([
    ['not an object', 'hello', ['event: must be a JSON object, got a string ("hello")']],
    ['an array', [assignment], ['event: must be a JSON object, got an array']],
    ['null', null, ['event: must be a JSON object, got null']],
    ['no type', { ...assignment, type: undefined }, ['type: is required; expected "assignment" or "delivery"']],
    ['an unknown type', { ...assignment, type: 'click' }, ['type: "click" is not an event type; expected "assignment" or "delivery"']],
    ['a numeric type', { ...assignment, type: 3 }, ['type: a number (3) is not an event type; expected "assignment" or "delivery"']],
    ['a missing field', { ...assignment, customerId: undefined }, ['customerId: is required']],
    ['a null required field', { ...assignment, playbookName: null }, ['playbookName: must be a string, got null']],
    ['a number for an id', { ...delivery, messageId: 42 }, ['messageId: must be a string, got a number (42)']],
    ['an empty id', { ...assignment, eventId: '' }, ['eventId: must not be empty']],
    ['a blank tenant', { ...assignment, tenantId: '   ' }, ['tenantId: must not be empty']],
    [
      'an id with a line break',
      { ...assignment, customerId: 'c-1\nc-2' },
      ['customerId: must not contain control characters such as line breaks or tabs'],
    ],
    ['an over-long id', { ...assignment, campaignId: 'x'.repeat(201) }, ['campaignId: is 201 characters long; at most 200 are allowed']],
    [
      'an over-long name',
      { ...assignment, campaignName: 'x'.repeat(501) },
      ['campaignName: is 501 characters long; at most 500 are allowed'],
    ],
    ['an over-long reason', { ...delivery, reason: 'x'.repeat(1001) }, ['reason: is 1001 characters long; at most 1000 are allowed']],
    ['an empty optional id', { ...delivery, playbookId: '' }, ['playbookId: must not be empty (use null when there is none)']],
    ['a non-string optional field', { ...delivery, reason: 500 }, ['reason: must be a string or null, got a number (500)']],
    ['an unknown action', { ...assignment, action: 'joined' }, ['action: "joined" is not one of entered, exited']],
    ['an unknown channel', { ...delivery, channel: 'push' }, ['channel: "push" is not one of sms, email']],
    [
      'an unknown status',
      { ...delivery, status: 'opened' },
      ['status: "opened" is not one of sent, failed, rejected, expired, delivered, bounced, blocked, spam_reported'],
    ],
    [
      'a status in capitals',
      { ...delivery, status: 'SENT' },
      ['status: "SENT" is not one of sent, failed, rejected, expired, delivered, bounced, blocked, spam_reported'],
    ],
    ['a boolean action', { ...assignment, action: true }, ['action: must be one of entered, exited, got a boolean (true)']],
    [
      'an sms that was delivered',
      { ...delivery, channel: 'sms', status: 'delivered' },
      ['status: "delivered" is an email-only status; an sms never takes delivered, bounced, blocked or spam_reported'],
    ],
    [
      'a time without offset',
      { ...assignment, occurredAt: '2026-11-27 10:15' },
      ['occurredAt: "2026-11-27 10:15" is not an ISO-8601 instant with an offset (Z or ±hh:mm)'],
    ],
    [
      'February 30',
      { ...assignment, occurredAt: '2026-02-30T10:15:00Z' },
      ['occurredAt: "2026-02-30T10:15:00Z" is not a real date (February 2026 has 28 days)'],
    ],
    [
      'epoch milliseconds',
      { ...assignment, occurredAt: 1764238500000 },
      ['occurredAt: must be an ISO-8601 instant string, got a number (1764238500000)'],
    ],
    ['an unknown field', { ...assignment, channel: 'sms' }, ['channel: is not a field of an assignment event']],
    [
      'an assignment field on a delivery',
      { ...delivery, playbookName: 'Onboarding' },
      ['playbookName: is not a field of a delivery event'],
    ],
    [
      'several problems at once',
      { ...delivery, eventId: '', occurredAt: 'now', channel: 'sms', status: 'bounced', extra: 1 },
      [
        'eventId: must not be empty',
        'occurredAt: "now" is not an ISO-8601 instant with an offset (Z or ±hh:mm)',
        'status: "bounced" is an email-only status; an sms never takes delivered, bounced, blocked or spam_reported',
        'extra: is not a field of a delivery event',
      ],
    ],
    ['a bad channel hides the sms rule', { ...delivery, channel: 'fax', status: 'delivered' }, ['channel: "fax" is not one of sms, email']],
  ])('refuses %s', (_case, input, expected) => {
    expect(errorsOf(input)).toEqual(expected);
  });
});

describe('validateEvent: problems never echo a long value', () => {
  const long = 'z'.repeat(100_000);
  const cut = `"${'z'.repeat(40)}…"`;

  it('quotes at most 40 characters of any value', () => {
    expect(errorsOf({ ...assignment, action: long })).toEqual([`action: ${cut} is not one of entered, exited`]);
    expect(errorsOf({ ...assignment, occurredAt: long })).toEqual([
      `occurredAt: ${cut} is not an ISO-8601 instant with an offset (Z or ±hh:mm)`,
    ]);
    expect(errorsOf({ ...assignment, type: long })).toEqual([`type: ${cut} is not an event type; expected "assignment" or "delivery"`]);
    expect(errorsOf({ ...assignment, eventId: long })).toEqual(['eventId: is 100000 characters long; at most 200 are allowed']);
    expect(errorsOf({ ...assignment, [long]: 1 })).toEqual([`${cut}: is not a field of an assignment event`]);
  });

  it('names the first five unknown fields and counts the others', () => {
    const extra = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, i]));
    const errors = errorsOf({ ...assignment, ...extra });
    expect(errors).toHaveLength(6);
    expect(errors[0]).toBe('f0: is not a field of an assignment event');
    expect(errors[5]).toBe('and 995 more fields that are not fields of an assignment event');
  });
});

describe('checkDeliveryRule', () => {
  it.each(EMAIL_ONLY_STATUSES)('refuses an sms that is %s', (status) => {
    expect(checkDeliveryRule({ channel: 'sms', status })).toMatch(/^status: ".+" is an email-only status/);
  });

  it.each(DELIVERY_STATUSES)('allows an email that is %s', (status) => {
    expect(checkDeliveryRule({ channel: 'email', status })).toBeUndefined();
  });
});
