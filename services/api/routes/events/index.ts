import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { SendingEvent } from '../../../events/types.js';
import { validateEvent } from '../../../events/validate.js';
import { ApiError, badRequest } from '../../errors.js';
import { publishAcknowledged, type EventPublisher } from '../../shared/publishing.js';
import { errorResponses } from '../../shared/schemas.js';
import { jsonItems, ndjsonItems, type BodyItem } from './parse.js';
import { EventsAnswer, EventsBody, EventsQuerystring, type Rejection } from './schemas.js';

export interface EventsRoutesOptions {
  /** Where the events go; without one the route answers 503. */
  publisher: EventPublisher | undefined;
  /** Largest body accepted (EVENTS_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Longest wait for the broker's acknowledgement (EVENTS_PUBLISH_TIMEOUT_MS). */
  publishTimeoutMs: number;
}

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];
const ACCEPTED = `application/json or ${NDJSON_TYPES.join(', ')}`;
/** Rejections quoted in the message of an atomic request's 400. */
const QUOTED = 5;

/** The body as parsed by this route's content-type parsers. */
type ParsedBody = { kind: 'json'; value: unknown } | { kind: 'ndjson'; text: string };

function itemsOf(body: unknown): BodyItem[] {
  const parsed = body as ParsedBody;
  return parsed.kind === 'json' ? jsonItems(parsed.value) : ndjsonItems(parsed.text);
}

/** Validates every item as an event of the token's tenant (an absent tenantId is the token's). */
function screen(items: BodyItem[], tenantId: string): { valid: SendingEvent[]; rejected: Rejection[] } {
  const valid: SendingEvent[] = [];
  const rejected: Rejection[] = [];
  for (const item of items) {
    if ('problem' in item) {
      rejected.push({ index: item.index, reason: item.problem });
      continue;
    }
    let value = item.value;
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('tenantId' in value)) value = { ...value, tenantId };
    const result = validateEvent(value);
    if (!result.ok) rejected.push({ index: item.index, reason: result.errors.join('; ') });
    else if (result.event.tenantId !== tenantId)
      rejected.push({
        index: item.index,
        reason: `tenantId: ${JSON.stringify(result.event.tenantId.slice(0, 40))} is not the tenant of the token`,
      });
    else valid.push(result.event);
  }
  return { valid, rejected };
}

/**
 * POST /v1/events: HTTP ingest of the token's tenant. Every event is validated; the valid ones
 * are published (acks=all) and the answer comes after the broker acknowledged them.
 */
export async function eventsRoutes(app: FastifyInstance, options: EventsRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.addHook('preHandler', app.authenticate);

  // This plugin's own parsers (encapsulated): JSON and NDJSON as this route reads them, anything else 415.
  api.removeAllContentTypeParsers();
  api.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, { kind: 'json', value: JSON.parse(text as string) as unknown } satisfies ParsedBody);
    } catch (error) {
      done(badRequest(`body: is not valid JSON (${(error as Error).message})`), undefined);
    }
  });
  api.addContentTypeParser(NDJSON_TYPES, { parseAs: 'string' }, (_request, text, done) => {
    done(null, { kind: 'ndjson', text: text as string } satisfies ParsedBody);
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
      bodyLimit: options.maxBodyBytes,
      schema: {
        tags: ['ingest'],
        summary: 'Publish events',
        description:
          `JSON (one event or an array) or NDJSON (one event per line), at most ${options.maxBodyBytes} bytes (EVENTS_MAX_BODY_BYTES; larger: 413). ` +
          'Every event is validated; the valid ones are published with acks=all and the answer (202) comes once the broker acknowledged them, ' +
          'listing the rejected ones by index. With atomic=true one invalid event refuses the request (400) and nothing is published. ' +
          'A retried request counts once: an eventId published again within 24 hours is not counted again. ' +
          'Kafka unavailable or not acknowledging in time: 503 (retry the same request).',
        querystring: EventsQuerystring,
        body: EventsBody,
        response: { 202: EventsAnswer, ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      if (request.body === undefined || request.body === null) throw badRequest(`body: is required (${ACCEPTED})`);
      const items = itemsOf(request.body);
      if (items.length === 0) throw badRequest('body: holds no events');
      const { valid, rejected } = screen(items, request.principal.tenantId);
      if (request.query.atomic && rejected.length > 0) {
        const quoted = rejected.slice(0, QUOTED).map(({ index, reason }) => `event ${index}: ${reason}`);
        const more = rejected.length > QUOTED ? `; and ${rejected.length - QUOTED} more` : '';
        throw badRequest(`${rejected.length} of ${items.length} events are invalid, none published (atomic): ${quoted.join('; ')}${more}`);
      }
      await publishAcknowledged(options.publisher, valid, options.publishTimeoutMs, request.log);
      return reply.code(202).send({ accepted: valid.length, rejected });
    },
  );
}
