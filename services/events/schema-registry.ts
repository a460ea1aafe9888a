import fs from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import type { SendingEvent } from './types.js';
import { canonicalForm, schemaFingerprint } from './fingerprint.js';
import { LOGICAL_TYPES } from './timestamp-millis.js';
import { messageOf } from '../platform/errors.js';

export type EventType = SendingEvent['type'];

/** The directory of the event contract: `<eventType>.v<version>.avsc` files. */
export const SCHEMA_DIR = path.resolve(import.meta.dirname, '../../schemas/avro');

/** The full names of the two records; a writer schema of another name is not an event of this contract. */
export const RECORD_NAMES: Readonly<Record<EventType, string>> = {
  assignment: 'io.sendingmetrics.events.Assignment',
  delivery: 'io.sendingmetrics.events.Delivery',
};

const FILE_NAME = /^(assignment|delivery)\.v([1-9]\d*)\.avsc$/;

/** One version of one record schema, identified on the wire by its fingerprint. */
export interface KnownSchema {
  eventType: EventType;
  version: number;
  file: string;
  type: avro.types.RecordType;
  canonical: string;
  /** CRC-64-AVRO of the canonical form, little-endian, as written after 0xC3 0x01. */
  fingerprint: Buffer;
}

export class SchemaRegistryError extends Error {
  override name = 'SchemaRegistryError';
}

/** Every writer schema this build knows, by fingerprint and by record version. */
export class SchemaRegistry {
  private readonly byVersion = new Map<string, KnownSchema>();

  constructor(readonly schemas: readonly KnownSchema[]) {
    const byFingerprint = new Map<string, KnownSchema>();
    for (const schema of schemas) {
      const key = `${schema.eventType}.v${schema.version}`;
      if (this.byVersion.has(key)) throw new SchemaRegistryError(`${schema.file}: ${key} is defined twice`);
      const same = byFingerprint.get(schema.fingerprint.toString('hex'));
      if (same) throw new SchemaRegistryError(`${schema.file}: same canonical form as ${same.file}; a new version must change the record`);
      this.byVersion.set(key, schema);
      byFingerprint.set(schema.fingerprint.toString('hex'), schema);
    }
  }

  get(eventType: EventType, version: number): KnownSchema {
    const schema = this.byVersion.get(`${eventType}.v${version}`);
    if (!schema) throw new SchemaRegistryError(`no schema ${eventType}.v${version}.avsc is known`);
    return schema;
  }
}

function loadSchema(file: string): KnownSchema {
  const match = FILE_NAME.exec(path.basename(file));
  if (!match) throw new SchemaRegistryError(`${file}: expected a name like assignment.v1.avsc or delivery.v2.avsc`);
  const eventType = match[1] as EventType;
  let type: avro.Type;
  try {
    type = avro.Type.forSchema(JSON.parse(fs.readFileSync(file, 'utf8')) as avro.Schema, { logicalTypes: LOGICAL_TYPES });
  } catch (error) {
    throw new SchemaRegistryError(`${file}: not a valid Avro schema: ${messageOf(error)}`);
  }
  if (!(type instanceof avro.types.RecordType) || type.name !== RECORD_NAMES[eventType]) {
    throw new SchemaRegistryError(`${file}: expected the record ${RECORD_NAMES[eventType]}`);
  }
  return { eventType, version: Number(match[2]), file, type, canonical: canonicalForm(type), fingerprint: schemaFingerprint(type) };
}

/** Reads every `.avsc` file of `dir`. */
export function loadSchemaRegistry(dir: string = SCHEMA_DIR): SchemaRegistry {
  const files = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.avsc'))
    .sort()
    .map((name) => path.join(dir, name));
  return new SchemaRegistry(files.map(loadSchema));
}
