import avro from 'avsc';
import { CURRENT_VERSIONS, EventDecodeError, hasReplacement, invalidUtf8Fields, parseJsonEvent } from './codec.js';
import { CONFLUENT_HEADER_BYTES, confluentSchemaId } from './encodings.js';
import { loadSchemaRegistry, RECORD_NAMES, type EventType, type KnownSchema, type SchemaRegistry } from './schema-registry.js';
import { validateEvent } from './validate.js';
import { messageOf } from '../platform/errors.js';

/**
 * Reads Confluent-framed records (0x00, schema id, body). Avro bodies are read into this build's
 * reader schemas. A JSON Schema id (what Confluent's JSON serializers register, schemaType JSON)
 * frames a JSON event of the event JSON contract: it is parsed and validated as the plain JSON
 * events are (the registered JSON Schema itself is not applied: the event validation is the
 * contract, and is stricter), and one that fails is refused with its problems named. The
 * writer schema of each id comes from a schema registry, asynchronously and before decoding
 * (see `learn`); decoding itself is synchronous. Ids are immutable in a registry, so a schema
 * found is kept for the life of the process. A failed answer (404, a schema that is not ours) is
 * kept for FAILED_ANSWER_TTL_MS only, and for at most FAILED_ANSWERS_KEPT ids: garbage with
 * random ids cannot grow the map without bound, and an id a lagging registry replica did not
 * know yet is asked again for the records after.
 */
export const FAILED_ANSWER_TTL_MS = 60_000;
export const FAILED_ANSWERS_KEPT = 10_000;

/** What the registry said about one schema id. */
export type WriterSchemaAnswer =
  | { kind: 'found'; schema: string; schemaType?: string }
  | { kind: 'not-found' }
  | { kind: 'unusable'; problem: string };

type Learnt =
  | {
      ok: true;
      json?: false;
      eventType: EventType;
      writer: string;
      writerType: avro.Type;
      reader: avro.Type;
      resolver: avro.Resolver | undefined;
    }
  | { ok: true; json: true }
  | { ok: false; code: 'unknown-schema' | 'unreadable-schema'; problem: string };

export class ConfluentReader {
  private readonly byId = new Map<number, Learnt>();
  /** Failed answers, oldest first (Map keeps insertion order), with when they expire. */
  private readonly failed = new Map<number, { learnt: Learnt; until: number }>();
  private readonly readers: Record<EventType, KnownSchema>;
  private readonly byName = new Map<string, EventType>();

  constructor(registry: SchemaRegistry = loadSchemaRegistry()) {
    this.readers = {
      assignment: registry.get('assignment', CURRENT_VERSIONS.assignment),
      delivery: registry.get('delivery', CURRENT_VERSIONS.delivery),
    };
    for (const [eventType, name] of Object.entries(RECORD_NAMES)) this.byName.set(name, eventType as EventType);
  }

  knows(schemaId: number, now = Date.now()): boolean {
    return this.lookup(schemaId, now) !== undefined;
  }

  /** The ids of these values (Confluent-framed or not) whose writer schema is not known yet. */
  missingIds(values: Iterable<Buffer | null>): number[] {
    const missing = new Set<number>();
    const now = Date.now();
    for (const value of values) {
      if (!value || value.length < CONFLUENT_HEADER_BYTES || value[0] !== 0x00) continue;
      const id = confluentSchemaId(value);
      if (!this.knows(id, now)) missing.add(id);
    }
    return [...missing];
  }

  /** Records the registry's answer for an id: how its records are read, or why they cannot be. */
  learn(schemaId: number, answer: WriterSchemaAnswer, now = Date.now()): void {
    const learnt = this.resolve(schemaId, answer);
    if (learnt.ok) {
      this.byId.set(schemaId, learnt);
      return;
    }
    this.failed.delete(schemaId);
    this.failed.set(schemaId, { learnt, until: now + FAILED_ANSWER_TTL_MS });
    if (this.failed.size > FAILED_ANSWERS_KEPT) this.failed.delete(this.failed.keys().next().value!);
  }

  private lookup(schemaId: number, now: number): Learnt | undefined {
    const found = this.byId.get(schemaId);
    if (found) return found;
    const failed = this.failed.get(schemaId);
    if (!failed) return undefined;
    if (failed.until >= now) return failed.learnt;
    this.failed.delete(schemaId);
    return undefined;
  }

  /** The event type and record of a Confluent-framed value whose id has been learnt; EventDecodeError otherwise. */
  decode(bytes: Buffer): { eventType: EventType; record: Record<string, unknown> } {
    const id = confluentSchemaId(bytes);
    const learnt = this.byId.get(id) ?? this.failed.get(id)?.learnt;
    if (!learnt) throw new EventDecodeError('unknown-schema', `schema id ${id} has not been looked up in the schema registry`);
    if (!learnt.ok) throw new EventDecodeError(learnt.code, learnt.problem);
    if (learnt.json) return jsonEvent(id, bytes);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = learnt.reader.decode(bytes, CONFLUENT_HEADER_BYTES, learnt.resolver);
    } catch (error) {
      throw corrupt(id, learnt.writer, messageOf(error));
    }
    if (decoded.offset === -1) throw corrupt(id, learnt.writer, 'the body ends early');
    if (decoded.offset !== bytes.length) throw corrupt(id, learnt.writer, `${bytes.length - decoded.offset} bytes follow the record`);
    // avsc reads a string of invalid UTF-8 as U+FFFD: ids differing only in such bytes would become one.
    if (hasReplacement(decoded.value as Record<string, unknown>)) {
      const invalid = invalidUtf8Fields(learnt.writerType, bytes, CONFLUENT_HEADER_BYTES);
      if (invalid.length > 0)
        throw new EventDecodeError('invalid-utf8', `schema id ${id}: ${invalid.map((field) => `${field}: invalid UTF-8`).join('; ')}`);
    }
    return { eventType: learnt.eventType, record: decoded.value as Record<string, unknown> };
  }

  private resolve(id: number, answer: WriterSchemaAnswer): Learnt {
    if (answer.kind === 'not-found') {
      return { ok: false, code: 'unknown-schema', problem: `schema id ${id} is not in the schema registry (it answered 404)` };
    }
    if (answer.kind === 'unusable') return { ok: false, code: 'unreadable-schema', problem: `schema id ${id}: ${answer.problem}` };
    const unreadable = (problem: string): Learnt => ({ ok: false, code: 'unreadable-schema', problem: `schema id ${id}: ${problem}` });
    const schemaType = answer.schemaType?.toUpperCase() ?? 'AVRO';
    if (schemaType === 'JSON') {
      try {
        const schema: unknown = JSON.parse(answer.schema);
        if (typeof schema !== 'object' && typeof schema !== 'boolean') throw new Error(`a JSON Schema is an object or a boolean`);
      } catch (error) {
        return unreadable(`not a valid JSON Schema: ${messageOf(error)}`);
      }
      return { ok: true, json: true };
    }
    if (schemaType !== 'AVRO') return unreadable(`is a ${answer.schemaType} schema, not Avro or JSON Schema`);
    let writer: avro.Type;
    try {
      writer = avro.Type.forSchema(JSON.parse(answer.schema) as avro.Schema, { logicalTypes: {} });
    } catch (error) {
      return unreadable(`not a valid Avro schema: ${messageOf(error)}`);
    }
    const eventType = writer.name === undefined ? undefined : this.byName.get(writer.name);
    if (!(writer instanceof avro.types.RecordType) || !eventType) {
      return unreadable(
        `the registered schema is ${writer.name ? `the record ${writer.name}` : `a ${writer.typeName}`}, not one of ${Object.values(RECORD_NAMES).join(', ')}`,
      );
    }
    const reader = this.readers[eventType];
    try {
      return {
        ok: true,
        eventType,
        writer: writer.name!,
        writerType: writer,
        reader: reader.type,
        resolver: reader.type.createResolver(writer),
      };
    } catch (error) {
      return unreadable(`its ${writer.name} cannot be read as ${eventType}.v${reader.version}: ${messageOf(error)}`);
    }
  }
}

/** The JSON event of a JSON-Schema-framed record: parsed and validated as the plain JSON events are. */
function jsonEvent(id: number, bytes: Buffer): { eventType: EventType; record: Record<string, unknown> } {
  const parsed = parseJsonEvent(bytes.subarray(CONFLUENT_HEADER_BYTES));
  if (!parsed.ok) {
    throw parsed.kind === 'utf8'
      ? new EventDecodeError('invalid-utf8', `schema id ${id} (JSON Schema): ${parsed.problem}`)
      : new EventDecodeError('corrupt-body', `schema id ${id} (JSON Schema): not a valid JSON event: ${parsed.problem}`);
  }
  const validation = validateEvent(parsed.value);
  if (!validation.ok) {
    throw new EventDecodeError('corrupt-body', `schema id ${id} (JSON Schema): invalid event: ${validation.errors.join('; ')}`);
  }
  const { type: eventType, ...record } = validation.event;
  return { eventType, record };
}

function corrupt(id: number, writer: string, problem: string): EventDecodeError {
  return new EventDecodeError('corrupt-body', `corrupt record of schema id ${id} (${writer}): ${problem}`);
}
