import { CompressionTypes, type Kafka, type Message, type TopicMessages } from 'kafkajs';
import fs from 'node:fs';
import { defaultCodec } from '../events/codec.js';
import type { TopicNames } from '../events/topics.js';
import type { SendingEvent } from '../events/types.js';
import { validateEvent } from '../events/validate.js';
import { ensureTopics } from '../platform/kafka.js';
import type { Logger } from '../platform/logger.js';
import type { SchemaRegistryClient, SubjectCompatibility } from '../platform/schema-registry-client.js';

/**
 * Publishes events to their topics: validated, Avro single-object encoded, keyed by
 * `tenantId:customerId` (so one customer's events stay in order on one partition), through an
 * idempotent producer that waits for every in-sync replica. A publish call sends all of its
 * events or throws; a retry after a failure may repeat some, which the eventId makes harmless.
 */
export interface PublisherOptions {
  kafka: Kafka;
  topics: TopicNames;
  /** Partitions of the event topics when this publisher has to create them. */
  partitions: number;
  /** Their replication factor (undefined: the cluster's default). */
  replicationFactor?: number;
  logger: Logger;
  /** Most events per produce request (one sendBatch call); default PUBLISH_BATCH_SIZE. */
  batchSize?: number;
  /**
   * Retries of a failed produce request before publish throws (default: unlimited). A caller
   * that must answer in bounded time (the API) sets a few; a retry of the whole call is harmless.
   */
  retries?: number;
  /**
   * With a schema registry (SCHEMA_REGISTRY_URL), events are written in the Confluent wire format:
   * connect() registers the writer schemas under `<topic>-value` (topic-name strategy) with
   * SUBJECT_COMPATIBILITY. Without one, Avro single-object encoding.
   */
  schemaRegistry?: SchemaRegistryClient;
}

/** The compatibility level set on the subjects this producer registers (docs/api.md, "Producing from other languages"). */
export const SUBJECT_COMPATIBILITY: SubjectCompatibility = 'BACKWARD';

/** The subject of a topic's values under the topic-name strategy. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

export interface Publisher {
  /** Creates the event topics when missing, then connects the producer. */
  connect(): Promise<void>;
  /** Validates every event first; one invalid event throws InvalidEventError and nothing is sent. */
  publish(events: readonly SendingEvent[]): Promise<void>;
  publishOne(event: SendingEvent): Promise<void>;
  disconnect(): Promise<void>;
}

export const PUBLISH_BATCH_SIZE = 20_000;
/**
 * Most key and value bytes per produce request. Kept under the broker's default
 * message.max.bytes (1 MiB per partition's record batch) even if every event of a request
 * goes to one partition, which a refused request would otherwise only tell after the fact.
 */
export const PUBLISH_BATCH_BYTES = 900 * 1024;
/** Record framing in a v2 record batch (lengths, deltas, attributes), counted against the byte cap. */
const RECORD_OVERHEAD_BYTES = 24;

export interface InvalidEvent {
  /** Position in the array given to publish. */
  index: number;
  errors: string[];
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';

  constructor(readonly invalid: InvalidEvent[]) {
    const shown = invalid.slice(0, 3).map(({ index, errors }) => `event ${index}: ${errors.join('; ')}`);
    const more = invalid.length > shown.length ? `; and ${invalid.length - shown.length} more` : '';
    super(`${invalid.length} invalid event${invalid.length === 1 ? '' : 's'}, none published: ${shown.join('; ')}${more}`);
  }
}

/** What every produce request of this project sends with: the bench's bound uses it too. */
export const SEND_OPTIONS = { acks: -1, compression: CompressionTypes.None, timeout: 30_000 } as const;

/** Idempotent producer settings (kafkajs needs acks -1 and unlimited retries for them; one request in flight keeps order). */
export const PRODUCER_OPTIONS = {
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  retry: { retries: Number.MAX_SAFE_INTEGER },
} as const;

export function messageKey(event: SendingEvent): string {
  return `${event.tenantId}:${event.customerId}`;
}

/** Lets kafkajs encode and write a request (promise steps, then socket I/O) before the next one is encoded. */
function requestWritten(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function validated(events: readonly SendingEvent[]): SendingEvent[] {
  const valid = new Array<SendingEvent>(events.length);
  const invalid: InvalidEvent[] = [];
  for (let index = 0; index < events.length; index++) {
    const result = validateEvent(events[index]);
    if (result.ok) valid[index] = result.event;
    else invalid.push({ index, errors: result.errors });
  }
  if (invalid.length > 0) throw new InvalidEventError(invalid);
  return valid;
}

/**
 * Writes the encoded value of a (valid) event into `target` from `offset` on: returns where it
 * ends, or -1 when it does not fit (EventCodec.encodeInto and encodeConfluentInto).
 */
export type EventWriter = (event: SendingEvent, target: Buffer, offset: number) => number;

const writeSingleObject: EventWriter = (event, target, offset) => defaultCodec().encodeInto(event, target, offset);

/**
 * Values are written one after another into slabs of this size, each value a view of its slab:
 * no allocation and copy per event. A slab is freed with the last request that uses it.
 */
const SLAB_BYTES = 64 * 1024;
/** Room per event in a slab for the last events of a call (most events take 150-250 bytes). */
const SMALL_EVENT_BYTES = 512;

/** Encodes (valid) events into produce requests of at most batchSize events and PUBLISH_BATCH_BYTES. */
export function* produceRequests(
  events: readonly SendingEvent[],
  topics: TopicNames,
  batchSize: number,
  write: EventWriter = writeSingleObject,
): Generator<TopicMessages[]> {
  let assignments: Message[] = [];
  let deliveries: Message[] = [];
  let bytes = 0;
  let slab = Buffer.allocUnsafe(0);
  let used = 0;
  const request = (): TopicMessages[] => {
    const result: TopicMessages[] = [];
    if (assignments.length > 0) result.push({ topic: topics.assignments, messages: assignments });
    if (deliveries.length > 0) result.push({ topic: topics.deliveries, messages: deliveries });
    assignments = [];
    deliveries = [];
    bytes = 0;
    return result;
  };
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    const key = messageKey(event);
    let end = write(event, slab, used);
    if (end < 0) {
      // A new slab (a small one for the last few events); an event that does not fit gets a larger one.
      let size = Math.min(SLAB_BYTES, (events.length - index) * SMALL_EVENT_BYTES);
      do {
        slab = Buffer.allocUnsafe(size);
        used = 0;
        end = write(event, slab, 0);
        size *= 2;
      } while (end < 0);
    }
    const value = slab.subarray(used, end);
    used = end;
    const size = Buffer.byteLength(key) + value.length + RECORD_OVERHEAD_BYTES;
    if (bytes > 0 && (bytes + size > PUBLISH_BATCH_BYTES || assignments.length + deliveries.length === batchSize)) yield request();
    (event.type === 'assignment' ? assignments : deliveries).push({ key, value });
    bytes += size;
  }
  if (bytes > 0) yield request();
}

/** Registers the writer schema of one event type (the .avsc file as it is) under its topic's value subject. */
async function registerWriter(
  registry: SchemaRegistryClient,
  topic: string,
  eventType: SendingEvent['type'],
  logger: Logger,
): Promise<number> {
  const writer = defaultCodec().writerSchema(eventType);
  const schema = JSON.parse(fs.readFileSync(writer.file, 'utf8')) as object;
  const subject = valueSubject(topic);
  const { id, compatibility } = await registry.register(subject, schema, SUBJECT_COMPATIBILITY);
  if (compatibility !== SUBJECT_COMPATIBILITY) {
    logger.warn(
      { subject, compatibility, expected: SUBJECT_COMPATIBILITY },
      `the subject ${subject} has compatibility ${compatibility}, not ${SUBJECT_COMPATIBILITY}; left as it is (PUT /config/${subject} changes it)`,
    );
  }
  return id;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const { kafka, topics, partitions } = options;
  const batchSize = options.batchSize ?? PUBLISH_BATCH_SIZE;
  const logger = options.logger.child({ component: 'publisher' });
  const producer = kafka.producer(
    options.retries === undefined ? PRODUCER_OPTIONS : { ...PRODUCER_OPTIONS, retry: { retries: options.retries, maxRetryTime: 2000 } },
  );
  const codec = defaultCodec();
  let write: EventWriter = writeSingleObject;

  /**
   * One produce request at a time (which keeps each key's events in order), but the next
   * request is encoded while the broker works on the previous one.
   */
  async function publish(events: readonly SendingEvent[]): Promise<void> {
    let sending: Promise<unknown> | undefined;
    try {
      for (const topicMessages of produceRequests(validated(events), topics, batchSize, write)) {
        await sending;
        sending = producer.sendBatch({ ...SEND_OPTIONS, topicMessages });
        await requestWritten();
      }
    } catch (error) {
      await sending?.catch(() => undefined);
      throw error;
    }
    await sending;
  }

  return {
    async connect() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(admin, partitions, [topics.assignments, topics.deliveries], { replicationFactor: options.replicationFactor });
      } finally {
        await admin.disconnect();
      }
      if (options.schemaRegistry) {
        const ids = {
          assignment: await registerWriter(options.schemaRegistry, topics.assignments, 'assignment', logger),
          delivery: await registerWriter(options.schemaRegistry, topics.deliveries, 'delivery', logger),
        };
        write = (event, target, offset) => codec.encodeConfluentInto(event, ids[event.type], target, offset);
        logger.debug({ ids, registry: options.schemaRegistry.address }, 'writing the Confluent wire format');
      }
      await producer.connect();
      logger.debug({ topics: [topics.assignments, topics.deliveries] }, 'publisher connected');
    },
    publish,
    publishOne: (event) => publish([event]),
    async disconnect() {
      await producer.disconnect();
    },
  };
}
