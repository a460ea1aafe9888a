import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ClickHouseClient } from '../../../platform/clickhouse.js';
import { DELIVERY_STATUS_HELP, DELIVERY_STATUSES, EMAIL_ONLY_STATUSES } from '../../../events/types.js';
import { queryCampaigns, queryOutreach, queryTimeseries } from '../../../reporting/index.js';
import { parseRange } from '../../shared/range-params.js';
import { errorResponses } from '../../shared/schemas.js';
import { CampaignsResponse, OutreachResponse, RangeQuerystring, TimeseriesQuerystring, TimeseriesResponse } from './schemas.js';

const errors = errorResponses(400, 401, 429, 503);

const STATUS_DESCRIPTION =
  DELIVERY_STATUSES.map((status) => `${status}: ${DELIVERY_STATUS_HELP[status]}.`).join(' ') +
  ` Text messages never take the email-only statuses (${EMAIL_ONLY_STATUSES.join(', ')}).`;

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
        description:
          'Customers who entered and exited each campaign in the range (non-unique: enter, exit and re-enter counts two entries).',
        querystring: RangeQuerystring,
        response: { 200: CampaignsResponse, ...errors },
      },
    },
    async (request) => {
      const { fromMs, toMs } = parseRange(request.query, options.maxRangeDays);
      const rows = await queryCampaigns(options.clickhouse, {
        tenantId: request.principal.tenantId,
        fromMs,
        toMs,
        playbookId: request.query.playbookId,
        campaignId: request.query.campaignId,
      });
      return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), rows };
    },
  );

  api.get(
    '/v1/metrics/outreach',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Text messages and emails by delivery status',
        description: STATUS_DESCRIPTION,
        querystring: RangeQuerystring,
        response: { 200: OutreachResponse, ...errors },
      },
    },
    async (request) => {
      const { fromMs, toMs } = parseRange(request.query, options.maxRangeDays);
      const counts = await queryOutreach(options.clickhouse, {
        tenantId: request.principal.tenantId,
        fromMs,
        toMs,
        playbookId: request.query.playbookId,
        campaignId: request.query.campaignId,
      });
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
      const points = await queryTimeseries(options.clickhouse, {
        tenantId: request.principal.tenantId,
        metric: request.query.metric,
        fromMs,
        toMs,
        interval: request.query.interval,
        tz,
        playbookId: request.query.playbookId,
        campaignId: request.query.campaignId,
      });
      return { metric: request.query.metric, interval: request.query.interval, tz, points };
    },
  );
}
