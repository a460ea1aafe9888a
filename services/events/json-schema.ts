import type avro from 'avsc';
import { CURRENT_VERSIONS } from './codec.js';
import { loadSchemaRegistry, type EventType, type KnownSchema } from './schema-registry.js';
import { TEXT_LIMITS } from './validate.js';

/**
 * The JSON Schema (draft 2020-12) of the event JSON contract, generated from the Avro record
 * of each event type (the version this build writes), for producers that publish JSON events.
 * The Avro schemas remain the contract: field names, docs, enums and optionality come from
 * them; the text limits and the `type` discriminator come from the validation every event
 * goes through (validate.ts), which also refuses what JSON Schema cannot say (an sms never
 * takes an email-only status). schemas/json holds the files; a unit test fails when they drift.
 */
export type JsonSchema = Record<string, unknown>;

/** Where the generated files live, relative to the repository. */
export const JSON_SCHEMA_DIR = 'schemas/json';

export function jsonSchemaFileName(eventType: EventType): string {
  return `${eventType}.schema.json`;
}

// One line, not blank: what validate.ts asks of ids and names.
const SINGLE_LINE_NOT_BLANK = '^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$';
const NOT_BLANK = '\\S';

function textRules(field: string): JsonSchema {
  if (field === 'reason') return { maxLength: TEXT_LIMITS.reason, pattern: NOT_BLANK };
  if (field.endsWith('Name')) return { maxLength: TEXT_LIMITS.name, pattern: SINGLE_LINE_NOT_BLANK };
  return { maxLength: TEXT_LIMITS.id, pattern: SINGLE_LINE_NOT_BLANK };
}

function fieldSchema(field: string, schema: avro.Schema): { schema: JsonSchema; optional: boolean } {
  if (Array.isArray(schema)) {
    const others = schema.filter((branch) => branch !== 'null');
    if (others.length !== 1 || others.length === schema.length) throw new Error(`${field}: only ["null", T] unions are supported`);
    const inner = fieldSchema(field, others[0]!).schema;
    return { schema: { ...inner, type: [inner.type, 'null'] }, optional: true };
  }
  if (schema === 'string') return { schema: { type: 'string', ...textRules(field) }, optional: false };
  if (typeof schema === 'object' && schema !== null) {
    const object = schema as { type: string; logicalType?: string; symbols?: string[] };
    if (object.type === 'long' && object.logicalType === 'timestamp-millis') {
      return {
        schema: {
          type: 'string',
          format: 'date-time',
          description: 'An ISO-8601 instant with an explicit offset (Z or ±hh:mm), e.g. 2026-11-27T10:15:00.123Z',
        },
        optional: false,
      };
    }
    if (object.type === 'enum') return { schema: { type: 'string', enum: object.symbols }, optional: false };
    if (object.type === 'string') return { schema: { type: 'string', ...textRules(field) }, optional: false };
  }
  throw new Error(`${field}: the Avro type ${JSON.stringify(schema)} has no JSON form in the event contract`);
}

export function eventJsonSchema(known: KnownSchema): JsonSchema {
  const record = known.type.schema({ exportAttrs: true }) as { doc?: string; fields: { name: string; type: avro.Schema; doc?: string }[] };
  const properties: Record<string, JsonSchema> = {
    type: { const: known.eventType, description: 'The kind of event.' },
  };
  const required = ['type'];
  for (const field of record.fields) {
    const { schema, optional } = fieldSchema(field.name, field.type);
    // A timestamp's Avro doc speaks of epoch milliseconds; in JSON it is an ISO-8601 string.
    const description =
      typeof schema.description === 'string' ? `${schema.description} (in Avro: ${field.doc ?? 'timestamp-millis'})` : field.doc;
    properties[field.name] = { ...schema, ...(description ? { description } : {}) };
    if (!optional) required.push(field.name);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `urn:sending-metrics:event:${known.eventType}:v${known.version}`,
    title: `${known.eventType} event (JSON), generated from schemas/avro/${known.eventType}.v${known.version}.avsc`,
    description: record.doc,
    type: 'object',
    properties,
    required,
    additionalProperties: false,
  };
}

/** The file name and the JSON Schema of each event type, as schemas/json holds them. */
export function eventJsonSchemas(): { file: string; schema: JsonSchema }[] {
  const registry = loadSchemaRegistry();
  return (['assignment', 'delivery'] as const).map((eventType) => ({
    file: jsonSchemaFileName(eventType),
    schema: eventJsonSchema(registry.get(eventType, CURRENT_VERSIONS[eventType])),
  }));
}
