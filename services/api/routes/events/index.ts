import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { SendingEvent } from '../../../events/types.js';
import { quote, validateEvent } from '../../../events/validate.js';
import { ApiError, badRequest } from '../../errors.js';
import { publishAcknowledged, type EventPublisher } from '../../shared/publishing.js';
import { errorResponses } from '../../shared/schemas.js';
import { jsonItems, ndjsonItems, type BodyItem, type ItemReader } from './parse.js';
import { EventsAnswer, EventsBody, EventsQuerystring, type Rejection } from './schemas.js';

export interface EventsRoutesOptions {
  /** Where the events go; without one the route answers 503. */
  publisher: EventPublisher | undefined;
  /** Largest body accepted (EVENTS_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Longest wait for the broker's acknowledgement (EVENTS_PUBLISH_TIMEOUT_MS). */
  publishTimeoutMs: number;
  /** Most events one request may hold (EVENTS_MAX_ITEMS; more: 413, nothing published); default 10 000. */
  maxItems?: number;
}

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];
const ACCEPTED = `application/json or ${NDJSON_TYPES.join(', ')}`;
/** Rejections quoted in the message of an atomic request's 400. */
const QUOTED = 5;
/** Rejections listed in an answer (the first ones); `rejectedCount` counts them all. */
export const LISTED_REJECTIONS = 100;
/** Longest reason in an answer, in characters (a reason quotes at most 40 characters of a value). */
const REASON_CHARS = 1000;
const DEFAULT_MAX_ITEMS = 10_000;
/**
 * A slice of the work between two turns of the event loop: chunks of CHUNK_BYTES of the body are
 * read and validated until SLICE_MS have passed or SLICE_BYTES were read.
 */
const SLICE_MS = 10;
const SLICE_BYTES = 64 * 1024;
const CHUNK_BYTES = 8 * 1024;

/**
 * Told `{ slice, items }` after each slice of a request's body is read and validated, before
 * the event loop is let go (node:diagnostics_channel; nothing is published without a subscriber).
 */
export const EVENTS_SLICE_CHANNEL = 'sending-metrics:events:slice';
const sliceChannel = diagnostics.channel(EVENTS_SLICE_CHANNEL);

/** The body as read by this route's content-type parsers: bytes, parsed in the handler, in slices. */
type RawBody = { kind: 'json' | 'ndjson'; bytes: Buffer };

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What the items of a body came to: the valid events, and the rejections (the first LISTED_REJECTIONS kept, all counted). */
class Screening {
  readonly valid: SendingEvent[] = [];
  readonly rejected: Rejection[] = [];
  rejectedCount = 0;
  items = 0;

  constructor(private readonly tenantId: string) {}

  /** Validates each item as an event of the token's tenant (an absent tenantId is the token's). */
  add(items: BodyItem[]): void {
    const tenantId = this.tenantId;
    this.items += items.length;
    for (const item of items) {
      if ('problem' in item) {
        this.reject(item.index, item.problem);
        continue;
      }
      let value = item.value;
      if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('tenantId' in value)) value = { ...value, tenantId };
      const result = validateEvent(value);
      if (!result.ok) this.reject(item.index, result.errors.join('; '));
      else if (result.event.tenantId !== tenantId)
        this.reject(item.index, `tenantId: ${quote(result.event.tenantId)} is not the tenant of the token`);
      else this.valid.push(result.event);
    }
  }

  private reject(index: number, reason: string): void {
    this.rejectedCount += 1;
    if (this.rejected.length < LISTED_REJECTIONS) {
      this.rejected.push({ index, reason: reason.length > REASON_CHARS ? `${reason.slice(0, REASON_CHARS)}…` : reason });
    }
  }
}

/** The reader of the body; a body that cannot be read throws a BodyError (400). */
function readerOf(body: RawBody): ItemReader {
  return body.kind === 'json' ? jsonItems(body.bytes) : ndjsonItems(body.bytes);
}

/**
 * POST /v1/events: HTTP ingest of the token's tenant. Every event is validated; the valid ones
 * are published (acks=all) and the answer comes after the broker acknowledged them.
 */
export async function eventsRoutes(app: FastifyInstance, options: EventsRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const maxItems = options.maxItems ?? DEFAULT_MAX_ITEMS;
  // Before the body is read: a request without a valid token costs no reading, parsing or memory.
  api.addHook('onRequest', app.authenticate);

  // This plugin's own parsers (encapsulated): JSON and NDJSON kept as bytes (read in the handler, in slices), anything else 415.
  api.removeAllContentTypeParsers();
  api.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, bytes, done) => {
    done(null, { kind: 'json', bytes: bytes as Buffer } satisfies RawBody);
  });
  api.addContentTypeParser(NDJSON_TYPES, { parseAs: 'buffer' }, (_request, bytes, done) => {
    done(null, { kind: 'ndjson', bytes: bytes as Buffer } satisfies RawBody);
  });
  api.addContentTypeParser('*', (request: FastifyRequest, _payload, done) => {
    const type = request.headers['content-type'] ?? '';
    done(
      new ApiError(
        'UNSUPPORTED_MEDIA_TYPE',
        `a body of Content-Type ${JSON.stringify(type.slice(0, 100))} is not accepted; send ${ACCEPTED}`,
      ),
    );
  });

  api.post(
    '/v1/events',
    {
      config: { scope: 'events:write' },
      bodyLimit: options.maxBodyBytes,
      schema: {
        tags: ['ingest'],
        summary: 'Publish events',
        description:
          `JSON (one event or an array) or NDJSON (one event per line), UTF-8, at most ${options.maxBodyBytes} bytes (EVENTS_MAX_BODY_BYTES; larger: 413) ` +
          `and ${maxItems} events (EVENTS_MAX_ITEMS; more: 413 TOO_MANY_EVENTS, nothing published). ` +
          'Every event is validated; the valid ones are published with acks=all and the answer (202) comes once the broker acknowledged them, ' +
          `listing the first ${LISTED_REJECTIONS} rejected ones by index and counting them all (rejectedCount). ` +
          'Text that is not valid UTF-8 or holds a lone surrogate is rejected, never rewritten (a JSON body that is not UTF-8: 400). With atomic=true one invalid event refuses the request (400) and nothing is published. ' +
          'A retried request counts once: an eventId published again within 24 hours is not counted again. ' +
          'Kafka unavailable or not acknowledging in time: 503 (retry the same request).',
        querystring: EventsQuerystring,
        body: EventsBody,
        response: { 202: EventsAnswer, ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      if (request.body === undefined || request.body === null) throw badRequest(`body: is required (${ACCEPTED})`);
      const reader = readerOf(request.body as RawBody);
      const screening = new Screening(request.principal.tenantId);
      // The response closes before it is sent only when the connection is gone (the request's own `destroyed` is set once its body was read).
      let gone = false;
      reply.raw.once('close', () => (gone = true));
      // Read and validated a slice at a time, letting the event loop run in between (other requests, /healthz).
      for (let slice = 1; !reader.done; slice++) {
        if (slice > 1) await nextTurn();
        if (gone) throw badRequest('the client closed the connection before the answer; nothing was published');
        const deadline = performance.now() + SLICE_MS;
        let bytes = 0;
        do {
          const items = reader.read(CHUNK_BYTES);
          if (screening.items + items.length > maxItems) {
            throw new ApiError(
              'TOO_MANY_EVENTS',
              `the body holds more than ${maxItems} events (EVENTS_MAX_ITEMS); send at most ${maxItems} per request. Nothing was published`,
            );
          }
          screening.add(items);
          bytes += CHUNK_BYTES;
        } while (!reader.done && bytes < SLICE_BYTES && performance.now() < deadline);
        if (sliceChannel.hasSubscribers) sliceChannel.publish({ slice, items: screening.items });
      }
      if (screening.items === 0) throw badRequest('body: holds no events');
      const { valid, rejected, rejectedCount } = screening;
      if (request.query.atomic && rejectedCount > 0) {
        const quoted = rejected.slice(0, QUOTED).map(({ index, reason }) => `event ${index}: ${reason}`);
        const more = rejectedCount > QUOTED ? `; and ${rejectedCount - QUOTED} more` : '';
        throw badRequest(`${rejectedCount} of ${screening.items} events are invalid, none published (atomic): ${quoted.join('; ')}${more}`);
      }
      await publishAcknowledged(options.publisher, valid, options.publishTimeoutMs, request.log);
      return reply.code(202).send({ accepted: valid.length, rejected, rejectedCount });
    },
  );
}
