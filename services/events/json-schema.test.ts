import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventJsonSchemas, JSON_SCHEMA_DIR } from './json-schema.js';
import { ASSIGNMENT_ACTIONS, CHANNELS, DELIVERY_STATUSES } from './types.js';

const dir = path.resolve(import.meta.dirname, '../..', JSON_SCHEMA_DIR);

/**
 * schemas/json is generated from schemas/avro (`make json-schemas` writes it:
 * UPDATE_JSON_SCHEMAS=1 runs this test in write mode); this test fails when the two drift.
 */
describe('JSON Schemas of the event JSON', () => {
  const generated = eventJsonSchemas();

  if (process.env.UPDATE_JSON_SCHEMAS === '1') {
    it('writes schemas/json', () => {
      fs.mkdirSync(dir, { recursive: true });
      for (const { file, schema } of generated) fs.writeFileSync(path.join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
    });
    return;
  }

  for (const { file, schema } of generated) {
    it(`${JSON_SCHEMA_DIR}/${file} is what the Avro schema generates (make json-schemas)`, () => {
      const committed = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as unknown;
      expect(committed).toEqual(schema);
    });
  }

  it('says what the contract says: fields, required ones, vocabularies', () => {
    const [assignment, delivery] = generated.map(
      (g) => g.schema as { properties: Record<string, { enum?: string[] }>; required: string[] },
    );
    expect(Object.keys(assignment!.properties).sort()).toEqual(
      [
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
      ].sort(),
    );
    expect(assignment!.required.length).toBe(10);
    expect(assignment!.properties.action!.enum).toEqual([...ASSIGNMENT_ACTIONS]);
    expect(delivery!.properties.channel!.enum).toEqual([...CHANNELS]);
    expect(delivery!.properties.status!.enum).toEqual([...DELIVERY_STATUSES]);
    expect(delivery!.required.sort()).toEqual([
      'channel',
      'customerId',
      'eventId',
      'messageId',
      'occurredAt',
      'status',
      'tenantId',
      'type',
    ]);
  });
});
