import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventCodec } from './codec.js';
import { loadSchemaRegistry, SCHEMA_DIR, SchemaRegistryError } from './schema-registry.js';

interface FieldSchema {
  name: string;
  type: unknown;
  doc?: string;
  default?: unknown;
}

const shipped = fs.readdirSync(SCHEMA_DIR).filter((name) => name.endsWith('.avsc'));
const read = (name: string): { doc?: string; fields: FieldSchema[] } => JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, name), 'utf8'));

let scratch: string | undefined;
afterEach(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

function registryDir(files: Record<string, unknown>): string {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-schemas-'));
  for (const [name, schema] of Object.entries(files)) fs.writeFileSync(path.join(scratch, name), JSON.stringify(schema));
  return scratch;
}

describe('the event contract in schemas/avro', () => {
  it('holds assignment v1 and delivery v1 and v2', () => {
    expect(shipped.sort()).toEqual(['assignment.v1.avsc', 'delivery.v1.avsc', 'delivery.v2.avsc']);
    expect(loadSchemaRegistry().schemas.map((schema) => `${schema.eventType}.v${schema.version}`)).toEqual([
      'assignment.v1',
      'delivery.v1',
      'delivery.v2',
    ]);
  });

  it.each(shipped)('%s documents the record and every field; times are timestamp-millis; optional fields default to null', (name) => {
    const schema = read(name);
    expect(schema.doc).toBeTruthy();
    for (const field of schema.fields) {
      expect(field.doc, field.name).toBeTruthy();
      if (Array.isArray(field.type)) expect([field.type, field.default], field.name).toEqual([['null', 'string'], null]);
    }
    expect(schema.fields.find((field) => field.name === 'occurredAt')?.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
  });

  it('delivery v2 only adds the optional provider', () => {
    const [v1, v2] = [read('delivery.v1.avsc'), read('delivery.v2.avsc')];
    expect(v2.fields.slice(0, v1.fields.length)).toEqual(v1.fields);
    expect(v2.fields.slice(v1.fields.length).map(({ name, type }) => ({ name, type }))).toEqual([
      { name: 'provider', type: ['null', 'string'] },
    ]);
  });
});

describe('loadSchemaRegistry', () => {
  const assignment = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, 'assignment.v1.avsc'), 'utf8'));
  const delivery = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, 'delivery.v1.avsc'), 'utf8'));

  it('refuses a file named outside the convention', () => {
    const dir = registryDir({ 'assignment.avsc': assignment });
    expect(() => loadSchemaRegistry(dir)).toThrow(/assignment\.avsc: expected a name like assignment\.v1\.avsc/);
  });

  it('refuses a file whose record does not match its name', () => {
    const dir = registryDir({ 'delivery.v1.avsc': assignment });
    expect(() => loadSchemaRegistry(dir)).toThrow(/expected the record io\.sendingmetrics\.events\.Delivery/);
  });

  it('refuses a new version that does not change the record', () => {
    const dir = registryDir({ 'assignment.v1.avsc': assignment, 'assignment.v2.avsc': { ...assignment, doc: 'same fields' } });
    expect(() => loadSchemaRegistry(dir)).toThrow(SchemaRegistryError);
  });

  it('fails at start-up when a known writer cannot be read into the current reader', () => {
    const required = { ...delivery, fields: [...delivery.fields, { name: 'provider', type: 'string', doc: 'required, no default' }] };
    const registry = loadSchemaRegistry(
      registryDir({ 'assignment.v1.avsc': assignment, 'delivery.v1.avsc': delivery, 'delivery.v2.avsc': required }),
    );
    expect(() => new EventCodec({ registry, readerVersions: { delivery: 2 } })).toThrow(/delivery\.v1 cannot be read as delivery\.v2/);
  });
});
