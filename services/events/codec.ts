import type avro from 'avsc';
import { loadSchemaRegistry, SchemaRegistryError, type EventType, type KnownSchema, type SchemaRegistry } from './schema-registry.js';
import { CONFLUENT_HEADER_BYTES, CONFLUENT_MAGIC } from './encodings.js';
import { recordWriter, type RecordWriter } from './record-writer.js';
import type { AssignmentEvent, DeliveryEvent, SendingEvent } from './types.js';
import { invalidUtf8Problems } from './validate.js';
import { messageOf } from '../platform/errors.js';

/**
 * Avro single-object encoding of the event records: 0xC3 0x01, the 8-byte little-endian
 * CRC-64-AVRO fingerprint of the writer schema, then the Avro binary body. Any writer
 * version this build knows is read into the reader version of its record (schema resolution),
 * so producers and consumers can be upgraded one at a time. `encodeConfluent` writes the other
 * Avro framing, the Confluent wire format (schema id from a registry); encodings.ts tells the
 * value encodings apart and confluent-reader.ts reads that framing.
 *
 * Over 300 lines on purpose: the encoder and the resolving decoder share the schema versions,
 * their fingerprints and the framing; split, each half would import all of the other.
 */

/** The record versions `types.ts` describes: what is written, and what is read into. */
export const CURRENT_VERSIONS: Readonly<Record<EventType, number>> = { assignment: 1, delivery: 1 };

const MAGIC_0 = 0xc3;
const MAGIC_1 = 0x01;
const HEADER_BYTES = 10;

export type EventDecodeErrorCode = 'bad-header' | 'unknown-schema' | 'unreadable-schema' | 'corrupt-body' | 'invalid-utf8';

export class EventDecodeError extends Error {
  override name = 'EventDecodeError';

  constructor(
    readonly code: EventDecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class EventEncodeError extends Error {
  override name = 'EventEncodeError';
}

export interface EventCodecOptions {
  registry?: SchemaRegistry;
  /** Version written per event type; default CURRENT_VERSIONS. */
  writerVersions?: Partial<Record<EventType, number>>;
  /** Version read into per event type; default CURRENT_VERSIONS. */
  readerVersions?: Partial<Record<EventType, number>>;
}

/** A record as the reader schema sees it, fields the event types do not know included. */
export interface DecodedRecord {
  eventType: EventType;
  writerVersion: number;
  record: Record<string, unknown>;
}

/** How bytes of one writer schema are read: precomputed once per known writer. */
interface Reading {
  writer: KnownSchema;
  /** Fingerprint as two little-endian words, compared without allocating. */
  low: number;
  high: number;
  reader: avro.Type;
  /** Undefined when writer and reader are the same schema. */
  resolver: avro.Resolver | undefined;
}

/** The event of a record read with a reader schema (fields it does not know are left out). */
export function eventOfRecord(eventType: EventType, record: Record<string, unknown>): SendingEvent {
  return eventType === 'assignment' ? toAssignment(record) : toDelivery(record);
}

function toAssignment(record: Record<string, unknown>): AssignmentEvent {
  return {
    type: 'assignment',
    eventId: record.eventId as string,
    tenantId: record.tenantId as string,
    occurredAt: record.occurredAt as string,
    customerId: record.customerId as string,
    playbookId: record.playbookId as string,
    playbookName: record.playbookName as string,
    campaignId: record.campaignId as string,
    campaignName: record.campaignName as string,
    action: record.action as AssignmentEvent['action'],
  };
}

function toDelivery(record: Record<string, unknown>): DeliveryEvent {
  return {
    type: 'delivery',
    eventId: record.eventId as string,
    tenantId: record.tenantId as string,
    occurredAt: record.occurredAt as string,
    customerId: record.customerId as string,
    messageId: record.messageId as string,
    channel: record.channel as DeliveryEvent['channel'],
    status: record.status as DeliveryEvent['status'],
    playbookId: record.playbookId as string | null,
    campaignId: record.campaignId as string | null,
    reason: record.reason as string | null,
  };
}

/** Fails at start-up, naming both versions, if a known writer cannot be read into the reader. */
function resolver(reader: KnownSchema, writer: KnownSchema): avro.Resolver {
  try {
    return reader.type.createResolver(writer.type);
  } catch (error) {
    throw new SchemaRegistryError(
      `${writer.eventType}.v${writer.version} cannot be read as ${reader.eventType}.v${reader.version}: ${messageOf(error)}`,
    );
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Lenient: only to say where invalid bytes are, never to keep what it reads. */
const UTF8_LENIENT = new TextDecoder('utf-8');

/** Largest JSON event parsed, in bytes: an event of the contract is about 300 bytes, at most a few KiB escaped. */
export const MAX_JSON_EVENT_BYTES = 64 * 1024;

/** A JSON value read from bytes: the value, or why not (`json`: not JSON; `utf8`: JSON, but not valid UTF-8). */
export type ParsedJson = { ok: true; value: unknown } | { ok: false; kind: 'json' | 'utf8'; problem: string };

/**
 * Reads one JSON document (a record's value, a line of NDJSON) of at most MAX_JSON_EVENT_BYTES. Bytes that are not valid UTF-8
 * are refused, never read with U+FFFD in their place (ids that differ only in invalid bytes would
 * become one): the problem names the fields that hold them, e.g. `eventId: invalid UTF-8`.
 */
export function parseJsonEvent(bytes: Uint8Array): ParsedJson {
  // Parsing time grows with nesting (8 MiB of nested arrays: about 3 s), and no event comes near this size.
  if (bytes.length > MAX_JSON_EVENT_BYTES) {
    return { ok: false, kind: 'json', problem: `${bytes.length} bytes long; a JSON event is at most ${MAX_JSON_EVENT_BYTES}` };
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    let value: unknown;
    try {
      value = JSON.parse(UTF8_LENIENT.decode(bytes));
    } catch (error) {
      return { ok: false, kind: 'json', problem: `not valid UTF-8, nor JSON (${messageOf(error).slice(0, 100)})` };
    }
    return { ok: false, kind: 'utf8', problem: invalidUtf8Problems(value).join('; ') };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, kind: 'json', problem: messageOf(error).slice(0, 100) };
  }
}

/** Whether a decoded record holds a U+FFFD, which avsc also puts where a string's bytes are not valid UTF-8. */
export function hasReplacement(record: Record<string, unknown>): boolean {
  for (const key in record) {
    const value = record[key];
    if (typeof value === 'string' && value.indexOf('\ufffd') !== -1) return true;
  }
  return false;
}

/**
 * The string fields of an Avro record body (from `offset`, written with `writer`) whose bytes are
 * not valid UTF-8. avsc reads such bytes as U+FFFD; a field's string re-encoded must be its bytes.
 * Also for readers of other framings (the Confluent wire format).
 */
export function invalidUtf8Fields(writer: avro.Type, bytes: Buffer, offset: number): string[] {
  const fields = (writer as avro.types.RecordType).fields;
  const invalid: string[] = [];
  let position = offset;
  for (const field of fields) {
    const read = field.type.decode(bytes, position);
    if (read.offset < 0) break;
    const value: unknown = read.value;
    if (typeof value === 'string' && value.indexOf('\ufffd') !== -1) {
      const encoded = Buffer.from(value, 'utf8');
      const start = read.offset - encoded.length;
      if (start < position || !encoded.equals(bytes.subarray(start, read.offset))) invalid.push(field.name);
    }
    position = read.offset;
  }
  return invalid;
}

function hexPrefix(bytes: Buffer, length: number): string {
  return bytes.subarray(0, length).toString('hex') || '(empty)';
}

export class EventCodec {
  private readonly writers: Record<EventType, KnownSchema>;
  /** Faster writers of the writer schemas' bodies, where record-writer.ts can write them. */
  private readonly recordWriters = new Map<KnownSchema, RecordWriter | undefined>();
  private readonly readings: Reading[];
  /** Bodies are written here first, then copied out once into an exactly sized buffer. */
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(options: EventCodecOptions = {}) {
    const registry = options.registry ?? loadSchemaRegistry();
    const version = (choice: EventCodecOptions['writerVersions'], eventType: EventType): number =>
      choice?.[eventType] ?? CURRENT_VERSIONS[eventType];
    this.writers = {
      assignment: registry.get('assignment', version(options.writerVersions, 'assignment')),
      delivery: registry.get('delivery', version(options.writerVersions, 'delivery')),
    };
    for (const writer of Object.values(this.writers)) this.recordWriters.set(writer, recordWriter(writer.type));
    const readers: Record<EventType, KnownSchema> = {
      assignment: registry.get('assignment', version(options.readerVersions, 'assignment')),
      delivery: registry.get('delivery', version(options.readerVersions, 'delivery')),
    };
    this.readings = registry.schemas.map((writer) => {
      const reader = readers[writer.eventType];
      return {
        writer,
        low: writer.fingerprint.readUInt32LE(0),
        high: writer.fingerprint.readUInt32LE(4),
        reader: reader.type,
        resolver: reader === writer ? undefined : resolver(reader, writer),
      };
    });
  }

  /** Expects a valid event (see validateEvent); anything the writer schema refuses throws EventEncodeError. */
  encode(event: SendingEvent): Buffer {
    const { writer, end } = this.body(event);
    const bytes = Buffer.allocUnsafe(end);
    bytes[0] = MAGIC_0;
    bytes[1] = MAGIC_1;
    writer.fingerprint.copy(bytes, 2);
    this.scratch.copy(bytes, HEADER_BYTES, HEADER_BYTES, end);
    return bytes;
  }

  /**
   * The Confluent wire format of the event, written with this codec's writer schema, which the
   * registry knows as `schemaId`: 0x00, the id (4 bytes, big-endian), the Avro body.
   */
  encodeConfluent(event: SendingEvent, schemaId: number): Buffer {
    const { end } = this.body(event);
    const bytes = Buffer.allocUnsafe(end - HEADER_BYTES + CONFLUENT_HEADER_BYTES);
    bytes[0] = CONFLUENT_MAGIC;
    bytes.writeUInt32BE(schemaId, 1);
    this.scratch.copy(bytes, CONFLUENT_HEADER_BYTES, HEADER_BYTES, end);
    return bytes;
  }

  /**
   * Writes what `encode` returns into `target` from `offset` on, without allocating: returns where
   * it ends, or -1 (nothing meaningful written) when it does not fit before `target.length`.
   */
  encodeInto(event: SendingEvent, target: Buffer, offset: number): number {
    const writer = this.writerOf(event);
    if (target.length - offset < HEADER_BYTES) return -1;
    const end = this.writeBody(writer, event, target, offset + HEADER_BYTES);
    if (end < 0) return -1;
    target[offset] = MAGIC_0;
    target[offset + 1] = MAGIC_1;
    writer.fingerprint.copy(target, offset + 2);
    return end;
  }

  /** Writes what `encodeConfluent` returns into `target` from `offset` on, as encodeInto does. */
  encodeConfluentInto(event: SendingEvent, schemaId: number, target: Buffer, offset: number): number {
    const writer = this.writerOf(event);
    if (target.length - offset < CONFLUENT_HEADER_BYTES) return -1;
    const end = this.writeBody(writer, event, target, offset + CONFLUENT_HEADER_BYTES);
    if (end < 0) return -1;
    target[offset] = CONFLUENT_MAGIC;
    target.writeUInt32BE(schemaId, offset + 1);
    return end;
  }

  private writerOf(event: SendingEvent): KnownSchema {
    const writer = event.type === 'assignment' || event.type === 'delivery' ? this.writers[event.type] : undefined;
    if (!writer) throw new EventEncodeError(`cannot encode an event of type ${JSON.stringify((event as { type: unknown }).type)}`);
    return writer;
  }

  /** Writes the Avro body of `event` into the scratch buffer from HEADER_BYTES on; returns its writer and where the body ends. */
  private body(event: SendingEvent): { writer: KnownSchema; end: number } {
    const writer = this.writerOf(event);
    let end = this.writeBody(writer, event, this.scratch, HEADER_BYTES);
    if (end < 0) {
      this.scratch = Buffer.allocUnsafe(2 * (this.scratch.length - end));
      end = this.writeBody(writer, event, this.scratch, HEADER_BYTES);
    }
    return { writer, end };
  }

  /** The schema each event type is written with (what a producer registers). */
  writerSchema(eventType: EventType): KnownSchema {
    return this.writers[eventType];
  }

  decode(bytes: Buffer): SendingEvent {
    const { eventType, record } = this.read(bytes);
    return eventType === 'assignment' ? toAssignment(record) : toDelivery(record);
  }

  decodeRecord(bytes: Buffer): DecodedRecord {
    return this.read(bytes);
  }

  /** The Avro body of `event` written into `target` from `offset` on: where it ends, or a negative number when it does not fit. */
  private writeBody(writer: KnownSchema, event: SendingEvent, target: Buffer, offset: number): number {
    const end = this.recordWriters.get(writer)?.(event as unknown as Record<string, unknown>, target, offset) ?? -1;
    if (end >= 0) return end;
    try {
      return writer.type.encode(event, target, offset);
    } catch {
      const fields: string[] = [];
      writer.type.isValid(event, { errorHook: (path) => fields.push(path.join('.')) });
      throw new EventEncodeError(
        `${event.type} event ${JSON.stringify(event.eventId)} does not fit ${writer.eventType}.v${writer.version}: invalid ${fields.join(', ') || 'value'}`,
      );
    }
  }

  private read(bytes: Buffer): DecodedRecord {
    if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) {
      throw new EventDecodeError(
        'bad-header',
        `not an Avro single-object encoded record: expected c301 and an 8-byte schema fingerprint, got ${hexPrefix(bytes, HEADER_BYTES)}`,
      );
    }
    const reading = this.find(bytes.readUInt32LE(2), bytes.readUInt32LE(6));
    if (!reading) {
      throw new EventDecodeError(
        'unknown-schema',
        `no known schema has the fingerprint ${bytes.subarray(2, HEADER_BYTES).toString('hex')}`,
      );
    }
    let decoded: { value: unknown; offset: number };
    try {
      decoded = reading.reader.decode(bytes, HEADER_BYTES, reading.resolver);
    } catch (error) {
      throw this.corrupt(reading, messageOf(error));
    }
    if (decoded.offset === -1) throw this.corrupt(reading, 'the body ends early');
    if (decoded.offset !== bytes.length) throw this.corrupt(reading, `${bytes.length - decoded.offset} bytes follow the record`);
    if (hasReplacement(decoded.value as Record<string, unknown>)) {
      const invalid = invalidUtf8Fields(reading.writer.type, bytes, HEADER_BYTES);
      if (invalid.length > 0) {
        const article = reading.writer.eventType === 'assignment' ? 'an' : 'a';
        throw new EventDecodeError(
          'invalid-utf8',
          `${invalid.map((field) => `${field}: invalid UTF-8`).join('; ')} (${article} ${reading.writer.eventType}.v${reading.writer.version} record)`,
        );
      }
    }
    return { eventType: reading.writer.eventType, writerVersion: reading.writer.version, record: decoded.value as Record<string, unknown> };
  }

  private find(low: number, high: number): Reading | undefined {
    for (const reading of this.readings) {
      if (reading.low === low && reading.high === high) return reading;
    }
    return undefined;
  }

  private corrupt(reading: Reading, problem: string): EventDecodeError {
    return new EventDecodeError('corrupt-body', `corrupt ${reading.writer.eventType}.v${reading.writer.version} record: ${problem}`);
  }
}

let shared: EventCodec | undefined;

/** The codec of this build: writes and reads CURRENT_VERSIONS; schemas are loaded on first use. */
export function defaultCodec(): EventCodec {
  shared ??= new EventCodec();
  return shared;
}

export function encodeEvent(event: SendingEvent): Buffer {
  return defaultCodec().encode(event);
}

export function decodeEvent(bytes: Buffer): SendingEvent {
  return defaultCodec().decode(bytes);
}
