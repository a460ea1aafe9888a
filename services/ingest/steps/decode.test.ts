import fs from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../events/codec.js';
import { ConfluentReader } from '../../events/confluent-reader.js';
import { confluentFrame } from '../../events/encodings.js';
import { SCHEMA_DIR } from '../../events/schema-registry.js';
import type { AssignmentEvent } from '../../events/types.js';
import type { Outcome, SourceRecord } from '../record.js';
import { createDecodeStep } from './decode.js';

const assignment: AssignmentEvent = {
  type: 'assignment',
  eventId: 'a-1',
  tenantId: 'acme',
  occurredAt: '2026-11-27T10:15:00.123Z',
  customerId: 'c-1',
  playbookId: 'pb-1',
  playbookName: 'Onboarding',
  campaignId: 'cm-1',
  campaignName: 'Welcome',
  action: 'entered',
};

const record = (value: Buffer | null): SourceRecord => ({ topic: 'assignments', partition: 0, offset: 1, key: null, value });
const schemaText = fs.readFileSync(path.join(SCHEMA_DIR, 'assignment.v1.avsc'), 'utf8');
const { type: _type, ...fields } = assignment;
const confluentBody = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema).toBuffer({
  ...fields,
  occurredAt: Date.parse(assignment.occurredAt),
});

function reasonOf(outcome: Outcome): string {
  if (outcome.kind !== 'dead-letter') throw new Error(`expected a dead letter, got ${outcome.kind}`);
  return outcome.reason;
}

describe('decode step: three encodings, one validation', () => {
  const reader = new ConfluentReader();
  reader.learn(11, { kind: 'found', schema: schemaText });
  const step = createDecodeStep('assignment', { confluent: reader });

  it('reads single-object Avro, Confluent-framed Avro and JSON into the same event', () => {
    for (const value of [encodeEvent(assignment), confluentFrame(11, confluentBody), Buffer.from(`\n${JSON.stringify(assignment)}`)]) {
      expect(step(record(value))).toMatchObject({ kind: 'ok', event: assignment });
    }
    // JSON in another offset is normalised as every event is.
    expect(step(record(Buffer.from(JSON.stringify({ ...assignment, occurredAt: '2026-11-27T11:15:00.123+01:00' }))))).toMatchObject({
      kind: 'ok',
      event: assignment,
    });
  });

  it('dead-letters what is none of them, naming the problem', () => {
    expect(reasonOf(step(record(Buffer.from([0xde, 0xad]))))).toMatch(
      /^undecodable \(bad-header\): neither Avro single-object .* starts with dead$/,
    );
    expect(reasonOf(step(record(Buffer.from('{"type": "assignment",'))))).toMatch(/^undecodable \(json\): not a valid JSON event/);
    expect(reasonOf(step(record(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))))).toMatch(/^undecodable \(json\)/);
    expect(reasonOf(step(record(Buffer.from(JSON.stringify({ ...assignment, action: 'left' })))))).toMatch(
      /^invalid event: action: "left"/,
    );
    expect(reasonOf(step(record(Buffer.from(JSON.stringify({ ...assignment, extra: 1 })))))).toMatch(
      /^invalid event: extra: is not a field/,
    );
    expect(reasonOf(step(record(confluentFrame(12, confluentBody))))).toMatch(/^undecodable \(unknown-schema\): schema id 12/);
    expect(reasonOf(step(record(null)))).toBe('empty record value');
  });

  it('without SCHEMA_REGISTRY_URL, a Confluent-framed record is dead-lettered saying so', () => {
    const plain = createDecodeStep('assignment');
    expect(reasonOf(plain(record(confluentFrame(11, confluentBody))))).toMatch(
      /^undecodable \(confluent\): a Confluent-framed record \(schema id 11\), but SCHEMA_REGISTRY_URL is not set/,
    );
    expect(plain(record(Buffer.from(JSON.stringify(assignment))))).toMatchObject({ kind: 'ok' });
  });
});
