import fs from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { defaultCodec, EventDecodeError, eventOfRecord } from './codec.js';
import { ConfluentReader, FAILED_ANSWER_TTL_MS, FAILED_ANSWERS_KEPT } from './confluent-reader.js';
import { confluentFrame, confluentSchemaId, detectEncoding } from './encodings.js';
import { SCHEMA_DIR } from './schema-registry.js';
import type { DeliveryEvent } from './types.js';

const delivery: DeliveryEvent = {
  type: 'delivery',
  eventId: 'e-1',
  tenantId: 'acme',
  occurredAt: '2026-11-27T10:16:02.000Z',
  customerId: 'c-1',
  messageId: 'm-1',
  channel: 'email',
  status: 'bounced',
  playbookId: 'pb-1',
  campaignId: null,
  reason: 'mailbox full',
};

const schemaText = (file: string) => fs.readFileSync(path.join(SCHEMA_DIR, file), 'utf8');
/** The body a stock Confluent Avro serializer writes: plain Avro of the registered schema, epoch millis. */
const body = (file: string, extra: Record<string, unknown> = {}) => {
  const { type: _type, ...fields } = delivery;
  return avro.Type.forSchema(JSON.parse(schemaText(file)) as avro.Schema).toBuffer({
    ...fields,
    occurredAt: Date.parse(delivery.occurredAt),
    ...extra,
  });
};

const whole = () => body('delivery.v1.avsc');

function refused(reader: ConfluentReader, bytes: Buffer): EventDecodeError {
  try {
    reader.decode(bytes);
  } catch (error) {
    if (error instanceof EventDecodeError) return error;
    throw error;
  }
  throw new Error('decoded');
}

describe('detectEncoding', () => {
  it('tells the three encodings and anything else apart by the first bytes', () => {
    expect(detectEncoding(defaultCodec().encode(delivery))).toBe('single-object');
    expect(detectEncoding(confluentFrame(7, Buffer.from([1])))).toBe('confluent');
    expect(detectEncoding(Buffer.from([0, 0, 0, 7]))).toBe('unknown'); // too short for a schema id
    expect(detectEncoding(Buffer.from('{"type":"delivery"}'))).toBe('json');
    expect(detectEncoding(Buffer.from(' \r\n\t{}'))).toBe('json');
    expect(detectEncoding(Buffer.from('[{}]'))).toBe('unknown');
    expect(detectEncoding(Buffer.from('   '))).toBe('unknown');
    expect(detectEncoding(Buffer.from([0xc3, 0x02, 1, 2]))).toBe('unknown');
    expect(detectEncoding(Buffer.from([0xde, 0xad]))).toBe('unknown');
  });

  it('frames as the Confluent serializers do: 0x00, the id big-endian, the body', () => {
    const framed = confluentFrame(0x01020304, Buffer.from([9, 8]));
    expect([...framed]).toEqual([0, 1, 2, 3, 4, 9, 8]);
    expect(confluentSchemaId(framed)).toBe(0x01020304);
  });

  it('the codec writes the same bytes as plain avsc under a Confluent frame', () => {
    expect(
      defaultCodec()
        .encodeConfluent(delivery, 42)
        .equals(confluentFrame(42, body('delivery.v1.avsc'))),
    ).toBe(true);
  });
});

describe('ConfluentReader', () => {
  it('refuses a string of invalid UTF-8 naming the field, where avsc would read U+FFFD', () => {
    const reader = new ConfluentReader();
    reader.learn(1, { kind: 'found', schema: schemaText('delivery.v1.avsc') });
    const bytes = confluentFrame(1, body('delivery.v1.avsc', { eventId: 'ab-x' }));
    const at = bytes.indexOf('ab-x');
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    const error = refused(reader, bytes);
    expect(error.code).toBe('invalid-utf8');
    expect(error.message).toBe('schema id 1: eventId: invalid UTF-8');
    // A U+FFFD the producer wrote is text like any other.
    const written = reader.decode(confluentFrame(1, body('delivery.v1.avsc', { eventId: '\ufffd-x' })));
    expect(written.record.eventId).toBe('\ufffd-x');
  });

  it('reads v1 and v2 writers into the reader schema, once their ids are learnt', () => {
    const reader = new ConfluentReader();
    const v1 = confluentFrame(1, body('delivery.v1.avsc'));
    const v2 = confluentFrame(2, body('delivery.v2.avsc', { provider: 'sendgrid' }));
    expect(reader.missingIds([v1, v2, v1, null, Buffer.from('{}')])).toEqual([1, 2]);
    reader.learn(1, { kind: 'found', schema: schemaText('delivery.v1.avsc') });
    reader.learn(2, { kind: 'found', schema: schemaText('delivery.v2.avsc') });
    expect(reader.missingIds([v1, v2])).toEqual([]);
    for (const bytes of [v1, v2]) {
      const read = reader.decode(bytes);
      expect(eventOfRecord(read.eventType, read.record)).toEqual(delivery);
    }
  });

  it('names the id and the problem: unknown id, not our record, not readable as ours, corrupt body', () => {
    const reader = new ConfluentReader();
    reader.learn(3, { kind: 'not-found' });
    reader.learn(4, { kind: 'found', schema: JSON.stringify({ type: 'record', name: 'Other', namespace: 'x', fields: [] }) });
    const incompatible = JSON.parse(schemaText('delivery.v1.avsc')) as { fields: { name: string; type: unknown }[] };
    incompatible.fields = incompatible.fields.map((f) => (f.name === 'messageId' ? { ...f, type: 'int' } : f));
    reader.learn(5, { kind: 'found', schema: JSON.stringify(incompatible) });
    reader.learn(6, { kind: 'found', schema: schemaText('delivery.v1.avsc') });
    reader.learn(7, { kind: 'found', schema: '{"type": "string"}' });
    reader.learn(8, { kind: 'unusable', problem: 'is not an Avro schema' });
    const whole = body('delivery.v1.avsc');
    expect(refused(reader, confluentFrame(3, whole))).toMatchObject({
      code: 'unknown-schema',
      message: expect.stringMatching(/schema id 3 is not in the schema registry/),
    });
    expect(refused(reader, confluentFrame(4, whole))).toMatchObject({
      code: 'unreadable-schema',
      message: expect.stringMatching(/schema id 4: the registered schema is the record x\.Other/),
    });
    expect(refused(reader, confluentFrame(5, whole))).toMatchObject({
      code: 'unreadable-schema',
      message: expect.stringMatching(/schema id 5: its io\.sendingmetrics\.events\.Delivery cannot be read as delivery\.v1/),
    });
    expect(refused(reader, confluentFrame(6, whole.subarray(0, 5)))).toMatchObject({
      code: 'corrupt-body',
      message: expect.stringMatching(/schema id 6/),
    });
    expect(refused(reader, confluentFrame(6, Buffer.concat([whole, Buffer.from([1])])))).toMatchObject({
      message: expect.stringMatching(/1 bytes follow/),
    });
    expect(refused(reader, confluentFrame(7, whole))).toMatchObject({
      code: 'unreadable-schema',
      message: expect.stringMatching(/a string/),
    });
    expect(refused(reader, confluentFrame(8, whole))).toMatchObject({
      code: 'unreadable-schema',
      message: expect.stringMatching(/schema id 8: is not an Avro schema/),
    });
    expect(refused(reader, confluentFrame(9, whole))).toMatchObject({
      code: 'unknown-schema',
      message: expect.stringMatching(/has not been looked up/),
    });
  });

  it('reads JSON-Schema-framed records (schemaType JSON) as JSON events, validated as the plain JSON ones', () => {
    const reader = new ConfluentReader();
    const jsonSchema = fs.readFileSync(path.join(SCHEMA_DIR, '../json/delivery.schema.json'), 'utf8');
    reader.learn(6, { kind: 'found', schema: jsonSchema, schemaType: 'JSON' });
    reader.learn(7, { kind: 'found', schema: 'syntax = "proto3"; message M {}', schemaType: 'PROTOBUF' });
    reader.learn(8, { kind: 'found', schema: '{"type": ', schemaType: 'JSON' });
    const json = (value: unknown) => confluentFrame(6, Buffer.from(JSON.stringify(value)));
    expect(reader.missingIds([json(delivery)])).toEqual([]);
    const read = reader.decode(json(delivery));
    expect(read.eventType).toBe('delivery');
    expect(eventOfRecord(read.eventType, read.record)).toEqual(delivery);

    expect(refused(reader, confluentFrame(6, Buffer.from('{"type":"delivery",')))).toMatchObject({
      code: 'corrupt-body',
      message: expect.stringMatching(/schema id 6 \(JSON Schema\): not a valid JSON event/),
    });
    expect(refused(reader, confluentFrame(6, Buffer.from([0x7b, 0xff, 0x7d])))).toMatchObject({ code: 'corrupt-body' });
    const badBytes = Buffer.from(JSON.stringify({ ...delivery, eventId: 'e-\u0001' }).replace('\\u0001', '\u0001'));
    badBytes[badBytes.indexOf(1)] = 0xff;
    expect(refused(reader, confluentFrame(6, badBytes))).toMatchObject({
      code: 'invalid-utf8',
      message: expect.stringMatching(/schema id 6 \(JSON Schema\): eventId: invalid UTF-8/),
    });
    // What the plain JSON path refuses is refused here too, naming the problem: no field is dropped unseen.
    expect(refused(reader, json({ ...delivery, extra: 1 }))).toMatchObject({
      code: 'corrupt-body',
      message: expect.stringMatching(/schema id 6 \(JSON Schema\): invalid event: .*extra/),
    });
    expect(refused(reader, json({ ...delivery, channel: 'sms', status: 'delivered' }))).toMatchObject({
      message: expect.stringMatching(/invalid event: status: "delivered" is an email-only status/),
    });
    const { type: _type, ...untyped } = delivery;
    expect(refused(reader, json(untyped))).toMatchObject({ message: expect.stringMatching(/invalid event: type: is required/) });
    expect(refused(reader, confluentFrame(7, whole()))).toMatchObject({
      code: 'unreadable-schema',
      message: expect.stringMatching(/schema id 7: is a PROTOBUF schema, not Avro or JSON Schema/),
    });
    expect(refused(reader, json(delivery).fill(8, 4, 5))).toMatchObject({
      code: 'unreadable-schema',
      message: expect.stringMatching(/schema id 8: not a valid JSON Schema/),
    });
  });

  it('keeps a schema found for good, a failed answer for a while, and a bounded number of them', () => {
    const reader = new ConfluentReader();
    const now = Date.now();
    reader.learn(1, { kind: 'found', schema: schemaText('delivery.v1.avsc') }, now);
    reader.learn(2, { kind: 'not-found' }, now);
    expect(reader.knows(1, now + 10 * FAILED_ANSWER_TTL_MS)).toBe(true);
    expect(reader.knows(2, now + FAILED_ANSWER_TTL_MS - 1)).toBe(true);
    expect(reader.knows(2, now + FAILED_ANSWER_TTL_MS + 1)).toBe(false);
    for (let id = 100; id < 100 + FAILED_ANSWERS_KEPT + 5; id += 1) reader.learn(id, { kind: 'not-found' }, now);
    expect(reader.knows(100, now)).toBe(false);
    expect(reader.knows(104, now)).toBe(false);
    expect(reader.knows(105, now)).toBe(true);
    expect(reader.knows(1, now)).toBe(true);
  });
});
