import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import type { Config } from './config.js';
import { messageOf } from './errors.js';

/**
 * A Confluent-compatible schema registry (SCHEMA_REGISTRY_URL: Confluent Schema Registry,
 * Apicurio's /apis/ccompat/v7, Karapace, ...) through @kafkajs/confluent-schema-registry, which
 * caches schemas by id. Only what this project needs: a writer schema by id, and registering
 * a schema under a subject with its compatibility level. A schema found by id carries its
 * `schemaType` as the registry names it (JSON, PROTOBUF), absent for Avro (the registry's default).
 */
export type SchemaLookup =
  | { kind: 'found'; schema: string; schemaType?: string }
  | { kind: 'not-found' }
  | { kind: 'unusable'; problem: string };

export interface SchemaRegistryClient {
  /** The schema registered under `id`; throws when the registry cannot be asked (unreachable, 5xx, refused credentials). */
  schemaById(id: number): Promise<SchemaLookup>;
  /**
   * Registers (or finds) `schema` under `subject`, setting the subject's compatibility when the
   * subject is new. A subject that exists with another level keeps it (the registry's owner chose
   * it; the registry enforces it): `compatibility` then says which level the subject has.
   */
  register(subject: string, schema: object, compatibility: SubjectCompatibility): Promise<{ id: number; compatibility: string }>;
  /** Where it is, for messages (credentials never included). */
  readonly address: string;
}

export type SubjectCompatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

export class SchemaRegistryUnavailableError extends Error {
  override name = 'SchemaRegistryUnavailableError';
}

function status(error: unknown): number | undefined {
  const value = (error as { status?: unknown } | null)?.status;
  return typeof value === 'number' ? value : undefined;
}

export function createSchemaRegistryClient(settings: NonNullable<Config['schemaRegistry']>): SchemaRegistryClient {
  const address = settings.url.toString().replace(/\/$/, '');
  const client = new SchemaRegistry({
    host: address,
    clientId: 'sending-metrics',
    auth: settings.username === undefined ? undefined : { username: settings.username, password: settings.password ?? '' },
    // The callers retry with their own backoff (the ingest waits; a producer fails its call).
    retry: { retries: 1, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 1 },
  });
  const unavailable = (what: string, error: unknown): SchemaRegistryUnavailableError =>
    new SchemaRegistryUnavailableError(`the schema registry at ${address} failed ${what}: ${messageOf(error)}`);
  const authorization =
    settings.username === undefined
      ? undefined
      : `Basic ${Buffer.from(`${settings.username}:${settings.password ?? ''}`).toString('base64')}`;

  /**
   * A schema that is not Avro (JSON Schema, Protobuf) or that the client could not build: its text
   * and schemaType as the registry holds them (GET /schemas/ids/{id}), for the reader to judge;
   * `problem` when it is Avro after all.
   */
  async function registered(id: number, problem: string): Promise<SchemaLookup> {
    let response: Response;
    let body: { schema?: unknown; schemaType?: unknown };
    try {
      response = await fetch(`${address}/schemas/ids/${id}`, {
        headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json', ...(authorization ? { authorization } : {}) },
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status === 404) return { kind: 'not-found' };
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw unavailable(`to return schema id ${id}`, error);
    }
    const schemaType = typeof body.schemaType === 'string' ? body.schemaType.toUpperCase() : 'AVRO';
    if (schemaType === 'AVRO' || typeof body.schema !== 'string') return { kind: 'unusable', problem };
    return { kind: 'found', schema: body.schema, schemaType };
  }

  return {
    address,
    async schemaById(id) {
      let schema: unknown;
      try {
        schema = await client.getSchema(id);
      } catch (error) {
        const code = status(error);
        if (code === 404) return { kind: 'not-found' };
        // A schema the client cannot build (a JSON Schema of a draft its validator lacks, broken
        // references): a property of the id; what it is, the registry's own answer says.
        if (code === undefined && !isTransport(error)) return registered(id, messageOf(error));
        throw unavailable(`to return schema id ${id}`, error);
      }
      if (!avro.Type.isType(schema)) return registered(id, 'is not an Avro schema');
      return { kind: 'found', schema: JSON.stringify((schema as avro.Type).schema({ exportAttrs: true })) };
    },
    async register(subject, schema, compatibility) {
      const confluentSchema = { type: SchemaType.AVRO, schema: JSON.stringify(schema) } as const;
      try {
        const { id } = await client.register(confluentSchema, { subject, compatibility: COMPATIBILITY[compatibility] });
        return { id, compatibility };
      } catch (error) {
        // The client refuses a subject whose level differs from the one asked for, naming both.
        const level =
          (error as Error | null)?.name === 'ConfluentSchemaRegistryCompatibilityError'
            ? /\(\w+ != (\w+)\)/.exec(messageOf(error))?.[1]
            : undefined;
        if (level && level in COMPATIBILITY) {
          try {
            const { id } = await client.register(confluentSchema, {
              subject,
              compatibility: COMPATIBILITY[level as keyof typeof COMPATIBILITY],
            });
            return { id, compatibility: level };
          } catch (again) {
            throw unavailable(`to register ${subject}`, again);
          }
        }
        throw unavailable(`to register ${subject}`, error);
      }
    },
  };
}

/** Errors of the HTTP transport (connection refused, reset, timeouts), as opposed to answers. */
function isTransport(error: unknown): boolean {
  const message = messageOf(error);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' || /ECONN|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket|timeout|network/i.test(message);
}
