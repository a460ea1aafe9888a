import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { DeliveryEvent } from '../../../events/types.js';
import type { TenantWebhookSecrets } from '../../../platform/config.js';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  SENDGRID_TIMESTAMP_TOLERANCE_SECONDS,
  sendgridOutcome,
  sendgridTimestampFresh,
  TWILIO_SIGNATURE_HEADER,
  TWILIO_SIGNATURE_SETTINGS_HEADER,
  twilioOutcome,
  twilioSignatureSettings,
  twilioUrlCandidates,
  verifySendgridSignature,
  verifyTwilioRequest,
  type Provider,
  type ProviderOutcome,
} from '../../../webhooks/index.js';
import { ApiError, badRequest } from '../../errors.js';
import { publishAcknowledged, type EventPublisher } from '../../shared/publishing.js';
import { errorResponses } from '../../shared/schemas.js';
import { SendgridBody, TwilioBody, WebhookAnswer, WebhookParams } from './schemas.js';
import { messageOf } from '../../../platform/errors.js';

export interface WebhooksRoutesOptions {
  publisher: EventPublisher | undefined;
  /** Each tenant's provider secrets (never logged). */
  secrets: ReadonlyMap<string, TenantWebhookSecrets>;
  /** PUBLIC_URL when set: the base of the URL Twilio signs. */
  publicUrl: string | undefined;
  /** EVENTS_MAX_BODY_BYTES: the webhooks' own limits apply when they are lower. */
  maxBodyBytes: number;
  publishTimeoutMs: number;
}

/**
 * Largest bodies the webhooks read, checked before a byte is parsed (Content-Length up front,
 * counted while reading a chunked body): larger is 413. A Twilio status callback is a form of
 * about 20 short parameters (well under 2 KB); SendGrid posts its events in batches of up to
 * about 768 KB. Each limit leaves room of more than 4 times that, and bounds what a request with
 * a wrong signature costs (the form is parsed and hashed, the batch hashed, before the signature
 * is known to be wrong).
 */
export const TWILIO_MAX_BODY_BYTES = 64 * 1024;
export const SENDGRID_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Rejected notifications listed in an answer; the rest are counted in `omitted`. */
export const REJECTED_LISTED = 100;
const REASON_MAX = 300;

/** One answer for a missing secret and a wrong signature: a caller learns nothing about which tenants exist. */
const refused = (provider: string, header: string) =>
  new ApiError('UNAUTHORIZED', `the ${provider} signature (${header}) is missing or does not verify for this tenant`);

/**
 * The URL Twilio called, as it was written (never through `new URL`, which would re-encode an
 * apostrophe of the query as %27 and so change the signed text): PUBLIC_URL followed by the
 * request's path and query, or the request's own scheme and Host followed by them.
 */
export function calledUrl(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl === undefined) return `${request.protocol}://${request.host}${request.url}`;
  const base = publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`;
  return base + request.url.replace(/^\/+/, '');
}

/** The query string of the request URL (Twilio: the StatusCallback's custom fields). */
function queryOf(request: FastifyRequest): URLSearchParams {
  const at = request.url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : request.url.slice(at + 1));
}

const headerOf = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
};

/** The answer: totals, and the first REJECTED_LISTED rejected notifications with their reasons. */
function tally(outcomes: ProviderOutcome[]): { events: DeliveryEvent[]; answer: WebhookAnswer } {
  const events: DeliveryEvent[] = [];
  const answer: WebhookAnswer = { accepted: 0, ignored: 0, rejected: [] };
  let omitted = 0;
  outcomes.forEach((outcome, index) => {
    if (outcome.kind === 'event') events.push(outcome.event);
    else if (outcome.kind === 'ignored') answer.ignored++;
    else if (answer.rejected.length < REJECTED_LISTED) answer.rejected.push({ index, reason: outcome.reason.slice(0, REASON_MAX) });
    else omitted++;
  });
  answer.accepted = events.length;
  if (omitted > 0) answer.omitted = omitted;
  return { events, answer };
}

/**
 * Provider callbacks, unauthenticated by bearer token: each request is verified by the
 * provider's signature under the tenant's secret (401 otherwise, nothing published). The raw
 * body is kept for these routes only (their own content-type parsers). A tenant without a
 * secret is checked against a secret of this process that signs nothing, so it costs what a
 * wrong signature costs and gets the same answer.
 */
export async function webhooksRoutes(app: FastifyInstance, options: WebhooksRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const noSecret = crypto.randomBytes(32).toString('hex');
  const noKey = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  api.removeAllContentTypeParsers();
  api.addContentTypeParser(['application/x-www-form-urlencoded', 'application/json'], { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  api.addContentTypeParser('*', (request: FastifyRequest, _payload, done) => {
    const type = request.headers['content-type'] ?? '';
    done(
      new ApiError(
        'UNSUPPORTED_MEDIA_TYPE',
        `a body of Content-Type ${JSON.stringify(type.slice(0, 100))} is not accepted; Twilio sends application/x-www-form-urlencoded, SendGrid application/json`,
      ),
    );
  });

  const publish = async (request: FastifyRequest, provider: Provider, tenant: string, outcomes: ProviderOutcome[]) => {
    const { events, answer } = tally(outcomes);
    if (answer.rejected.length > 0)
      request.log.info(
        { provider, tenant, rejected: answer.rejected.slice(0, 10), rejectedCount: answer.rejected.length + (answer.omitted ?? 0) },
        'webhook notifications rejected',
      );
    await publishAcknowledged(options.publisher, events, options.publishTimeoutMs, request.log);
    return answer;
  };
  const rawBody = (request: FastifyRequest): Buffer => {
    if (!Buffer.isBuffer(request.body)) throw badRequest('body: is required');
    return request.body;
  };
  const twilioLimit = Math.min(options.maxBodyBytes, TWILIO_MAX_BODY_BYTES);
  const sendgridLimit = Math.min(options.maxBodyBytes, SENDGRID_MAX_BODY_BYTES);

  api.post(
    '/v1/webhooks/twilio/:tenant',
    {
      bodyLimit: twilioLimit,
      schema: {
        tags: ['webhooks'],
        summary: 'Twilio Messaging status callback',
        description:
          "Set as the message's StatusCallback: https://<PUBLIC_URL>/v1/webhooks/twilio/{tenant}?customerId=…&playbookId=…&campaignId=… " +
          "(customerId required). X-Twilio-Signature is verified over that full URL, as written (with and without the scheme's default port), " +
          "and the form parameters: HMAC-SHA1 with the tenant's Auth Token, or, when X-Twilio-Webhooks-Signature-Settings names a SharedKey " +
          "(key=<id>,algorithm=HMAC_SHA256|HMAC_SHA1), that key's secret and algorithm; missing or wrong: 401 and nothing is published. " +
          `At most ${twilioLimit} bytes (larger: 413). ` +
          'MessageStatus sent and delivered → sent, undelivered → failed, failed → rejected, ' +
          'ErrorCode 30036 (validity period expired) → expired; other states are ignored. The event id is derived from MessageSid and the status, ' +
          'so a retry or a replay counts once within the ingest’s 24-hour deduplication window.',
        security: [],
        params: WebhookParams,
        body: TwilioBody,
        response: { 200: WebhookAnswer, ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      const { tenant } = request.params;
      const form = new URLSearchParams(rawBody(request).toString('utf8'));
      const signature = headerOf(request, TWILIO_SIGNATURE_HEADER);
      const settings = twilioSignatureSettings(headerOf(request, TWILIO_SIGNATURE_SETTINGS_HEADER));
      const secrets = options.secrets.get(tenant);
      const secret = settings.sharedKey === undefined ? secrets?.twilioAuthToken : secrets?.twilioSharedKeys?.get(settings.sharedKey);
      // The same work whether or not the tenant, its key or the algorithm exist.
      const urls = twilioUrlCandidates(calledUrl(request, options.publicUrl));
      const valid = verifyTwilioRequest(secret ?? noSecret, urls, [...form], signature, settings.algorithm ?? 'HMAC_SHA1');
      if (!valid || secret === undefined || settings.algorithm === undefined) {
        request.log.info(
          {
            provider: 'twilio',
            tenant,
            configured: secret !== undefined,
            signed: signature !== undefined,
            sharedKey: settings.sharedKey !== undefined,
            algorithm: settings.algorithm ?? 'unsupported',
          },
          'webhook refused',
        );
        throw refused('Twilio', 'X-Twilio-Signature');
      }
      return publish(request, 'twilio', tenant, [twilioOutcome(tenant, queryOf(request), form, new Date())]);
    },
  );

  api.post(
    '/v1/webhooks/sendgrid/:tenant',
    {
      bodyLimit: sendgridLimit,
      schema: {
        tags: ['webhooks'],
        summary: 'SendGrid Event Webhook',
        description:
          "A JSON array of events, signed (Signed Event Webhook): the signature is verified with the tenant's verification key over " +
          'X-Twilio-Email-Event-Webhook-Timestamp + the raw body; missing or wrong: 401 and nothing is published. ' +
          `The timestamp must be within ${SENDGRID_TIMESTAMP_TOLERANCE_SECONDS} seconds of our clock (else 401): an older request is a replay. ` +
          `At most ${sendgridLimit} bytes (larger: 413). ` +
          'processed → sent, dropped → rejected, delivered → delivered, bounce → bounced (type "blocked": blocked), spamreport → spam_reported; ' +
          'other events are ignored. customerId (required), playbookId and campaignId come from the custom_args of the message. ' +
          'An event that cannot be counted (e.g. a timestamp no date holds) is rejected by itself and the rest are published (200). ' +
          'The event id is derived from sg_event_id and the status, so a retry counts once.',
        security: [],
        params: WebhookParams,
        body: SendgridBody,
        response: { 200: WebhookAnswer, ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      const { tenant } = request.params;
      const body = rawBody(request);
      const signature = headerOf(request, SENDGRID_SIGNATURE_HEADER);
      const timestamp = headerOf(request, SENDGRID_TIMESTAMP_HEADER);
      if (signature !== undefined && timestamp !== undefined && !sendgridTimestampFresh(timestamp, new Date())) {
        request.log.info({ provider: 'sendgrid', tenant, timestamp: timestamp.slice(0, 20) }, 'webhook refused: timestamp');
        throw new ApiError(
          'UNAUTHORIZED',
          `the SendGrid timestamp (X-Twilio-Email-Event-Webhook-Timestamp) must be Unix seconds within ${SENDGRID_TIMESTAMP_TOLERANCE_SECONDS} seconds of now; an older signed request is not accepted again`,
        );
      }
      const key = options.secrets.get(tenant)?.sendgridPublicKey;
      // The same work whether or not the tenant has a key.
      if (!verifySendgridSignature(key ?? noKey, timestamp, body, signature) || key === undefined) {
        request.log.info(
          { provider: 'sendgrid', tenant, configured: key !== undefined, signed: signature !== undefined },
          'webhook refused',
        );
        throw refused('SendGrid', 'X-Twilio-Email-Event-Webhook-Signature');
      }
      let items: unknown;
      try {
        items = JSON.parse(body.toString('utf8'));
      } catch (error) {
        throw badRequest(`body: is not valid JSON (${messageOf(error).slice(0, 100)})`);
      }
      if (!Array.isArray(items)) throw badRequest('body: must be a JSON array of events');
      const outcomes = items.map((item): ProviderOutcome => {
        try {
          return sendgridOutcome(tenant, item);
        } catch (error) {
          // One event that breaks the mapping is that event's problem, never the batch's (SendGrid would retry it for ever).
          request.log.warn({ provider: 'sendgrid', tenant, err: error }, 'webhook event could not be mapped');
          return { kind: 'rejected', reason: 'event: could not be read' };
        }
      });
      return publish(request, 'sendgrid', tenant, outcomes);
    },
  );
}
