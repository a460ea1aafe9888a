import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ClickHouseClient } from '../../../platform/clickhouse.js';
import { ApiError } from '../../errors.js';
import { MetricsQueryError, queryCampaigns, queryOutreach, queryTimeseries } from '../../metrics/index.js';
import { parseRange } from './range-params.js';
import {
  CampaignsResponse,
  ErrorResponse,
  OutreachResponse,
  RangeQuerystring,
  TimeseriesQuerystring,
  TimeseriesResponse,
} from './schemas.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse };

/** Argument errors of the query layer are the caller's: 400 with their code. */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof MetricsQueryError) throw new ApiError('BAD_REQUEST', error.message);
    throw error;
  }
}

/** /v1/metrics/*: exact range metrics of the token's tenant. */
export async function metricsRoutes(app: FastifyInstance, options: { clickhouse: ClickHouseClient; maxRangeDays: number }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.addHook('preHandler', app.authenticate);

  api.get(
    '/v1/metrics/campaigns',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Entries and exits per playbook and campaign',
        description: 'Customers who entered and exited each campaign in the range (non-unique: enter, exit and re-enter counts two entries).',
        querystring: RangeQuerystring,
        response: { 200: CampaignsResponse, ...errors },
      },
    },
    async (request) => {
      const { fromMs, toMs } = parseRange(request.query, options.maxRangeDays);
      const rows = await answer(() =>
        queryCampaigns(options.clickhouse, { tenantId: request.principal.tenantId, fromMs, toMs, playbookId: request.query.playbookId, campaignId: request.query.campaignId }),
      );
      return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), rows };
    },
  );

  api.get(
    '/v1/metrics/outreach',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Text messages and emails by delivery status',
        description:
          'Sent: handed to the provider and sent. Failed: could not be sent (likely an invalid phone number / address). Rejected: the provider refused to send it. ' +
          'Expired: not sent within its send window. Delivered: the email reached the customer. Bounced: rejected by the recipient mail server. ' +
          "Blocked: the recipient's server blocked it. Spam reported: delivered, then reported as spam. Text messages never take the four email-only statuses.",
        querystring: RangeQuerystring,
        response: { 200: OutreachResponse, ...errors },
      },
    },
    async (request) => {
      const { fromMs, toMs } = parseRange(request.query, options.maxRangeDays);
      const counts = await answer(() =>
        queryOutreach(options.clickhouse, { tenantId: request.principal.tenantId, fromMs, toMs, playbookId: request.query.playbookId, campaignId: request.query.campaignId }),
      );
      return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), ...counts };
    },
  );

  api.get(
    '/v1/metrics/timeseries',
    {
      schema: {
        tags: ['metrics'],
        summary: 'One metric per hour or day, local to a time zone',
        description: 'Buckets are local to tz (default UTC), exact across DST changes and for :30/:45 offsets, and clipped to the range.',
        querystring: TimeseriesQuerystring,
        response: { 200: TimeseriesResponse, ...errors },
      },
    },
    async (request) => {
      const { fromMs, toMs } = parseRange(request.query, options.maxRangeDays);
      const tz = request.query.tz ?? 'UTC';
      const points = await answer(() =>
        queryTimeseries(options.clickhouse, {
          tenantId: request.principal.tenantId,
          metric: request.query.metric,
          fromMs,
          toMs,
          interval: request.query.interval,
          tz,
          playbookId: request.query.playbookId,
          campaignId: request.query.campaignId,
        }),
      );
      return { metric: request.query.metric, interval: request.query.interval, tz, points };
    },
  );
}
