import fs from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, EventCodec, EventDecodeError, type EventDecodeErrorCode } from './codec.js';
import { loadSchemaRegistry } from './schema-registry.js';
import type { AssignmentEvent, DeliveryEvent } from './types.js';

const assignment: AssignmentEvent = {
  type: 'assignment',
  eventId: '6f1c2b9e-6d1a-4c53-9a43-0b1f2d3e4a5b',
  tenantId: 'acme',
  occurredAt: '2026-11-27T10:15:00.123Z',
  customerId: 'c-1',
  playbookId: 'pb-1',
  playbookName: 'Onboarding',
  campaignId: 'cm-1',
  campaignName: 'Welcome — día 1',
  action: 'entered',
};

const delivery: DeliveryEvent = {
  type: 'delivery',
  eventId: '9a0e7c1d-2b3f-4e5a-8c9d-0e1f2a3b4c5d',
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

const standalone: DeliveryEvent = {
  ...delivery,
  eventId: 'e-3',
  channel: 'sms',
  status: 'failed',
  playbookId: null,
  campaignId: null,
  reason: 'invalid number',
};

function decodeError(bytes: Buffer): EventDecodeError {
  try {
    decodeEvent(bytes);
  } catch (error) {
    if (error instanceof EventDecodeError) return error;
    throw error;
  }
  throw new Error('expected the bytes to be refused');
}

function expectRefused(bytes: Buffer, code: EventDecodeErrorCode, message: RegExp): void {
  const error = decodeError(bytes);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

describe('event codec', () => {
  it.each([assignment, delivery, standalone])('round-trips a $type event', (event) => {
    const bytes = encodeEvent(event);
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(decodeEvent(bytes)).toEqual(event);
  });

  it('keeps the fields in the order of types.ts and the instant to the millisecond', () => {
    const decoded = decodeEvent(encodeEvent({ ...assignment, occurredAt: '1970-01-01T00:00:00.001Z' }));
    expect(Object.keys(decoded)).toEqual(Object.keys(assignment));
    expect(decoded.occurredAt).toBe('1970-01-01T00:00:00.001Z');
  });

  it('writes the CRC-64-AVRO fingerprint of the writer schema after the marker', () => {
    const registry = loadSchemaRegistry();
    expect(encodeEvent(assignment).subarray(2, 10)).toEqual(registry.get('assignment', 1).fingerprint);
    expect(encodeEvent(delivery).subarray(2, 10)).toEqual(registry.get('delivery', 1).fingerprint);
  });

  describe('schema evolution (delivery v1 ↔ v2, which adds an optional provider)', () => {
    const registry = loadSchemaRegistry();

    it('a v2 reader reads what a v1 writer wrote, with provider null', () => {
      const v2Reader = new EventCodec({ registry, readerVersions: { delivery: 2 } });
      const decoded = v2Reader.decodeRecord(encodeEvent(delivery));
      expect(decoded.writerVersion).toBe(1);
      expect({ ...decoded.record }).toEqual({ ...delivery, type: undefined, provider: null });
      expect(v2Reader.decode(encodeEvent(delivery))).toEqual(delivery);
    });

    it('the current (v1) reader reads what a v2 writer wrote, without provider', () => {
      const v2Writer = new EventCodec({ registry, writerVersions: { delivery: 2 } });
      const bytes = v2Writer.encode({ ...delivery, provider: 'mailgun' } as DeliveryEvent);
      expect(bytes.subarray(2, 10)).toEqual(registry.get('delivery', 2).fingerprint);
      expect(decodeEvent(bytes)).toEqual(delivery);
    });

    it('a v2 writer and reader keep provider', () => {
      const v2 = new EventCodec({ registry, writerVersions: { delivery: 2 }, readerVersions: { delivery: 2 } });
      const bytes = v2.encode({ ...delivery, provider: 'mailgun' } as DeliveryEvent);
      expect(v2.decodeRecord(bytes).record.provider).toBe('mailgun');
    });
  });

  describe('refuses bytes it cannot read with a typed error', () => {
    const good = encodeEvent(delivery);

    it('empty, short or unmarked bytes → bad-header', () => {
      expectRefused(Buffer.alloc(0), 'bad-header', /got \(empty\)/);
      expectRefused(good.subarray(0, 9), 'bad-header', /expected c301/);
      expectRefused(Buffer.from(JSON.stringify(delivery)), 'bad-header', /got 7b22/);
      const wrongMarker = Buffer.from(good);
      wrongMarker[1] = 0x02;
      expectRefused(wrongMarker, 'bad-header', /got c302/);
    });

    it('an unknown fingerprint → unknown-schema', () => {
      const unknown = Buffer.from(good);
      unknown.fill(0xab, 2, 10);
      expectRefused(unknown, 'unknown-schema', /abababababababab/);
    });

    it('a truncated body, trailing bytes or impossible values → corrupt-body', () => {
      expectRefused(good.subarray(0, good.length - 3), 'corrupt-body', /delivery\.v1 record: the body ends early/);
      expectRefused(Buffer.concat([good, Buffer.from([0])]), 'corrupt-body', /1 bytes follow the record/);
      const assignmentBytes = encodeEvent(assignment);
      const badEnum = Buffer.from(assignmentBytes);
      badEnum[badEnum.length - 1] = 0x08; // action index 4 of a 2-symbol enum
      expectRefused(badEnum, 'corrupt-body', /enum index/);
      const badUnion = Buffer.from(good);
      badUnion[badUnion.length - 1] = 0x06; // reason: union branch 3 of 2
      expectRefused(badUnion, 'corrupt-body', /delivery\.v1 record: invalid union index: 3/);
    });

    it('an instant a Date cannot hold → corrupt-body', () => {
      const schema = loadSchemaRegistry().get('assignment', 1);
      const plainLongs = avro.Type.forSchema(JSON.parse(fs.readFileSync(schema.file, 'utf8')) as avro.Schema);
      const body = plainLongs.toBuffer({ ...assignment, occurredAt: 9e15 });
      expectRefused(
        Buffer.concat([Buffer.from([0xc3, 0x01]), schema.fingerprint, body]),
        'corrupt-body',
        /assignment\.v1 record: Invalid time value/,
      );
    });

    it('never throws anything but EventDecodeError on random damage', () => {
      let seed = 7;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      for (let i = 0; i < 5000; i++) {
        const damaged = Buffer.from(i % 2 ? good : encodeEvent(assignment));
        for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
          damaged[10 + Math.floor(random() * (damaged.length - 10))] = Math.floor(random() * 256);
        }
        try {
          decodeEvent(damaged);
        } catch (error) {
          expect(error).toBeInstanceOf(EventDecodeError);
        }
      }
    });
  });

  it('refuses to encode what the writer schema cannot hold, naming the field', () => {
    expect(() => encodeEvent({ ...delivery, status: 'opened' } as unknown as DeliveryEvent)).toThrow(/invalid status/);
    expect(() => encodeEvent({ ...assignment, occurredAt: 'yesterday' })).toThrow(/invalid occurredAt/);
  });

  it('writes the same bytes into a given buffer at an offset, or says it does not fit', () => {
    const codec = new EventCodec();
    const target = Buffer.alloc(1024, 0xee);
    const end = codec.encodeInto(assignment, target, 7);
    expect(target.subarray(7, end)).toEqual(codec.encode(assignment));
    expect(target[6]).toBe(0xee);
    const confluentEnd = codec.encodeConfluentInto(delivery, 42, target, end);
    expect(target.subarray(end, confluentEnd)).toEqual(codec.encodeConfluent(delivery, 42));
    const exact = codec.encode(delivery).length;
    expect(codec.encodeInto(delivery, Buffer.alloc(exact), 0)).toBe(exact);
    for (const room of [0, 5, 10, exact - 1]) expect(codec.encodeInto(delivery, Buffer.alloc(room), 0)).toBe(-1);
    expect(codec.encodeConfluentInto(delivery, 42, Buffer.alloc(3), 0)).toBe(-1);
    expect(() => codec.encodeInto({ ...assignment, occurredAt: 'yesterday' }, target, 0)).toThrow(/invalid occurredAt/);
  });
});
