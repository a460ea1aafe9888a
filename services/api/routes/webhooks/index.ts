import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { DeliveryEvent } from '../../../events/types.js';
import type { TenantWebhookSecrets } from '../../../platform/config.js';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridOutcome,
  twilioOutcome,
  verifySendgridSignature,
  verifyTwilioSignature,
  type Provider,
  type ProviderOutcome,
} from '../../../webhooks/index.js';
import { ApiError, badRequest } from '../../errors.js';
import { publishAcknowledged, type EventPublisher } from '../../shared/publishing.js';
import { errorResponses } from '../../shared/schemas.js';
import { SendgridBody, TwilioBody, WebhookAnswer, WebhookParams } from './schemas.js';

export interface WebhooksRoutesOptions {
  publisher: EventPublisher | undefined;
  /** Each tenant's provider secrets (never logged). */
  secrets: ReadonlyMap<string, TenantWebhookSecrets>;
  /** PUBLIC_URL when set: the base of the URL Twilio signs. */
  publicUrl: string | undefined;
  maxBodyBytes: number;
  publishTimeoutMs: number;
}

/** One answer for a missing secret and a wrong signature: a caller learns nothing about which tenants exist. */
const refused = (provider: string, header: string) =>
  new ApiError('UNAUTHORIZED', `the ${provider} signature (${header}) is missing or does not verify for this tenant`);

/** The URL Twilio called: PUBLIC_URL + the request's path and query, or the request's own scheme and Host. */
export function calledUrl(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl === undefined) return `${request.protocol}://${request.host}${request.url}`;
  const base = publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`;
  return new URL(request.url.replace(/^\/+/, ''), base).toString();
}

/** The query string of the request URL (Twilio: the StatusCallback's custom fields). */
function queryOf(request: FastifyRequest): URLSearchParams {
  const at = request.url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : request.url.slice(at + 1));
}

function tally(outcomes: ProviderOutcome[]): { events: DeliveryEvent[]; answer: WebhookAnswer } {
  const events: DeliveryEvent[] = [];
  const answer: WebhookAnswer = { accepted: 0, ignored: 0, rejected: [] };
  outcomes.forEach((outcome, index) => {
    if (outcome.kind === 'event') events.push(outcome.event);
    else if (outcome.kind === 'ignored') answer.ignored++;
    else answer.rejected.push({ index, reason: outcome.reason });
  });
  answer.accepted = events.length;
  return { events, answer };
}

/**
 * Provider callbacks, unauthenticated by bearer token: each request is verified by the
 * provider's signature under the tenant's secret (401 otherwise, nothing published). The raw
 * body is kept for these routes only (their own content-type parsers).
 */
export async function webhooksRoutes(app: FastifyInstance, options: WebhooksRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
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

  const secretOf = <K extends keyof TenantWebhookSecrets>(tenant: string, key: K): TenantWebhookSecrets[K] =>
    options.secrets.get(tenant)?.[key];
  const publish = async (request: FastifyRequest, provider: Provider, tenant: string, outcomes: ProviderOutcome[]) => {
    const { events, answer } = tally(outcomes);
    if (answer.rejected.length > 0)
      request.log.info({ provider, tenant, rejected: answer.rejected.slice(0, 10) }, 'webhook notifications rejected');
    await publishAcknowledged(options.publisher, events, options.publishTimeoutMs, request.log);
    return answer;
  };
  const rawBody = (request: FastifyRequest): Buffer => {
    if (!Buffer.isBuffer(request.body)) throw badRequest('body: is required');
    return request.body;
  };

  api.post(
    '/v1/webhooks/twilio/:tenant',
    {
      bodyLimit: options.maxBodyBytes,
      schema: {
        tags: ['webhooks'],
        summary: 'Twilio Messaging status callback',
        description:
          "Set as the message's StatusCallback: https://<PUBLIC_URL>/v1/webhooks/twilio/{tenant}?customerId=…&playbookId=…&campaignId=… " +
          "(customerId required). X-Twilio-Signature is verified with the tenant's Auth Token over that full URL and the form parameters; " +
          'missing or wrong: 401 and nothing is published. MessageStatus sent and delivered → sent, undelivered → failed, failed → rejected, ' +
          'ErrorCode 30036 (validity period expired) → expired; other states are ignored. The event id is derived from MessageSid and the status, so a retry counts once.',
        security: [],
        params: WebhookParams,
        body: TwilioBody,
        response: { 200: WebhookAnswer, ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      const { tenant } = request.params;
      const body = rawBody(request);
      const token = secretOf(tenant, 'twilioAuthToken');
      const form = new URLSearchParams(body.toString('utf8'));
      const header = request.headers['x-twilio-signature'];
      const signature = typeof header === 'string' ? header : undefined;
      if (!token || !verifyTwilioSignature(token, calledUrl(request, options.publicUrl), [...form], signature)) {
        request.log.info(
          { provider: 'twilio', tenant, configured: token !== undefined, signed: signature !== undefined },
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
      bodyLimit: options.maxBodyBytes,
      schema: {
        tags: ['webhooks'],
        summary: 'SendGrid Event Webhook',
        description:
          "A JSON array of events, signed (Signed Event Webhook): the signature is verified with the tenant's verification key over " +
          'X-Twilio-Email-Event-Webhook-Timestamp + the raw body; missing or wrong: 401 and nothing is published. ' +
          'processed → sent, dropped → rejected, delivered → delivered, bounce → bounced (type "blocked": blocked), spamreport → spam_reported; ' +
          'other events are ignored. customerId (required), playbookId and campaignId come from the custom_args of the message. ' +
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
      const key = secretOf(tenant, 'sendgridPublicKey');
      const signature = request.headers[SENDGRID_SIGNATURE_HEADER];
      const timestamp = request.headers[SENDGRID_TIMESTAMP_HEADER];
      const str = (value: string | string[] | undefined) => (typeof value === 'string' ? value : undefined);
      if (!key || !verifySendgridSignature(key, str(timestamp), body, str(signature))) {
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
        throw badRequest(`body: is not valid JSON (${(error as Error).message})`);
      }
      if (!Array.isArray(items)) throw badRequest('body: must be a JSON array of events');
      return publish(
        request,
        'sendgrid',
        tenant,
        items.map((item) => sendgridOutcome(tenant, item)),
      );
    },
  );
}
