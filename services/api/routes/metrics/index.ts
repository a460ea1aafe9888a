import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ClickHouseClient } from '../../../platform/clickhouse.js';
import { DELIVERY_STATUS_HELP, DELIVERY_STATUSES, EMAIL_ONLY_STATUSES } from '../../../events/types.js';
import {
  cachedAnswer,
  change,
  changeTree,
  type AnswerCache,
  type CampaignNames,
  compareOutreachCampaignRows,
  describeRates,
  emptyOutreachCampaignRow,
  previousRange,
  queryCampaigns,
  queryOutreach,
  queryOutreachCampaigns,
  queryOutreachPeriods,
  queryTimeseries,
  preciseRange,
  rawEventsFrom,
  ratesOf,
  withQueryTimeLimit,
  type Precision,
  type Freshness,
  type MetricsRange,
  type OutreachCampaignRow,
} from '../../../reporting/index.js';
import { ApiError, badRequest } from '../../errors.js';
import { parseRange } from '../../shared/range-params.js';
import { errorResponses } from '../../shared/schemas.js';
import {
  CampaignsResponse,
  OutreachCampaignsResponse,
  OutreachResponse,
  PagedRangeQuerystring,
  RangeQuerystring,
  RatesResponse,
  TimeseriesQuerystring,
  TimeseriesResponse,
} from './schemas.js';
import { campaignOrder, lineUp, pageOf, rowKeyOf, type RowKey } from './rows.js';

const errors = errorResponses(400, 401, 429, 503);

const STATUS_DESCRIPTION =
  DELIVERY_STATUSES.map((status) => `${status}: ${DELIVERY_STATUS_HELP[status]}.`).join(' ') +
  ` Text messages never take the email-only statuses (${EMAIL_ONLY_STATUSES.join(', ')}).`;

const FRESHNESS_DESCRIPTION =
  ' Every answer carries freshness: everything published to the event topics before countedThrough is counted. It is deployment-wide (scope: deployment): the progress of the ingest over every tenant’s events, so another tenant’s backlog shows as behind too.';

export interface MetricsRoutesOptions {
  clickhouse: ClickHouseClient;
  maxRangeDays: number;
  /** Smallest denominator a rate is judged at (RATE_MINIMUM_VOLUME). */
  minimumVolume: number;
  /** How complete the counts are (cached briefly by its owner). */
  freshness: () => Promise<Freshness>;
  /** Answers kept per tenant data version (embedded engine only; see answer-cache.ts). */
  answers?: AnswerCache;
  /** Playbook and campaign names kept per tenant data version (embedded engine only; see campaign-names.ts). */
  names?: CampaignNames;
  /** Most rows of a per-campaign answer, and its default limit (API_MAX_ANSWER_ROWS; default 10,000). */
  maxAnswerRows?: number;
  /** Execution time limit of each reporting query (API_QUERY_TIMEOUT_MS; default 10 s). */
  queryTimeoutMs?: number;
  /** Days raw events are kept (RAW_RETENTION_DAYS); undefined: for ever, every answer exact to the millisecond. */
  rawRetentionDays?: number;
  /** The clock the retention cut-off is taken from (tests set it); default Date.now. */
  now?: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** /v1/metrics/*: exact range metrics of the token's tenant. */
export async function metricsRoutes(app: FastifyInstance, options: MetricsRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.addHook('onRequest', app.authenticate);
  const maxRows = options.maxAnswerRows ?? 10_000;
  // The ingest's progress over all tenants: said so in every answer.
  const freshnessOf = async () => ({ ...(await options.freshness()), scope: 'deployment' as const });
  const timeoutMs = options.queryTimeoutMs ?? 10_000;
  // Every reporting query of these routes runs under the engine's execution time limit; one it
  // stops answers 503 QUERY_TIMEOUT.
  const clickhouse = withQueryTimeLimit(
    options.clickhouse,
    timeoutMs,
    () =>
      new ApiError(
        'QUERY_TIMEOUT',
        `the query ran longer than the limit of ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${timeoutMs / 1000} s`} (API_QUERY_TIMEOUT_MS) and was stopped; ask for a shorter range or a filter (playbookId, campaignId), or retry later`,
        { 'retry-after': '10' },
      ),
  );
  /** The page a per-campaign request asks for: its limit (at most maxRows) and where to start. */
  const pageParams = (query: { limit?: number; after?: string }) => {
    if (query.limit !== undefined && query.limit > maxRows) {
      throw badRequest(`query parameter limit is ${query.limit}; at most ${maxRows} rows per answer (page on with after)`);
    }
    return { limit: query.limit ?? maxRows, after: query.after === undefined ? undefined : rowKeyOf(query.after) };
  };

  /** A period as asked (from, to) and the range its counts are read over, exact to `precision` (raw-retention.ts). */
  interface Period {
    asked: MetricsRange;
    range: MetricsRange;
    precision: Precision;
  }
  const now = options.now ?? (() => Date.now());
  /**
   * The requested period and, with compare=previous, the previous one. Where raw events may be
   * gone (RAW_RETENTION_DAYS) an edge is widened to 15 minutes: the cache keys below hold the
   * widened range, so an answer is never served across the cut-off moving past one of its edges.
   */
  const rangeOf = (
    tenantId: string,
    query: { from: string; to: string; playbookId?: string; campaignId?: string; compare?: unknown },
  ): { current: Period; previous: Period | undefined; range: MetricsRange; before: MetricsRange | undefined } => {
    const { fromMs, toMs } = parseRange(query, options.maxRangeDays);
    const asked = { tenantId, fromMs, toMs, playbookId: query.playbookId, campaignId: query.campaignId };
    const rawFrom = rawEventsFrom(now(), options.rawRetentionDays);
    const period = (range: MetricsRange): Period => ({ asked: range, ...preciseRange(range, rawFrom) });
    const current = period(asked);
    const previous = query.compare === 'previous' ? period(previousRange(asked)) : undefined;
    return { current, previous, range: current.range, before: previous?.range };
  };
  /** from and to as asked, and the precision of the counts. */
  const window = (period: Period) => ({ from: iso(period.asked.fromMs), to: iso(period.asked.toMs), precision: period.precision });
  /** [current, previous] (previous undefined without compare). */
  const outreachOf = (range: MetricsRange, before: MetricsRange | undefined) =>
    cachedAnswer(options.answers, range.tenantId, ['outreach', range, before ?? null], async () => {
      if (!before) return [await queryOutreach(clickhouse, range), undefined] as const;
      // Periods widened into one shared 15-minute bucket overlap: then read each on its own.
      if (before.toMs >= range.fromMs) return [await queryOutreach(clickhouse, range), await queryOutreach(clickhouse, before)] as const;
      const [previous, current] = await queryOutreachPeriods(clickhouse, [before, range]);
      return [current!, previous] as const;
    });
  const campaignsOf = (range: MetricsRange) =>
    cachedAnswer(options.answers, range.tenantId, ['campaigns', range], () => queryCampaigns(clickhouse, range, options.names));
  const outreachCampaignsOf = (range: MetricsRange) =>
    cachedAnswer(options.answers, range.tenantId, ['outreach-campaigns', range], () =>
      queryOutreachCampaigns(clickhouse, range, options.minimumVolume, options.names),
    );

  api.get(
    '/v1/metrics/campaigns',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['metrics'],
        summary: 'Entries and exits per playbook and campaign',
        description:
          'Customers who entered and exited each campaign in the range (non-unique: enter, exit and re-enter counts two entries).' +
          FRESHNESS_DESCRIPTION,
        querystring: PagedRangeQuerystring,
        response: { 200: CampaignsResponse, ...errors },
      },
    },
    async (request) => {
      const { current, previous: earlier, range, before } = rangeOf(request.principal.tenantId, request.query);
      const { limit, after } = pageParams(request.query);
      const [rows, previous, freshness] = await Promise.all([campaignsOf(range), before ? campaignsOf(before) : undefined, freshnessOf()]);
      const order = campaignOrder as (a: RowKey, b: RowKey) => number;
      if (!earlier || !previous) return { ...window(current), ...pageOf(rows, order, after, limit), freshness };
      const compared = lineUp(
        rows,
        previous,
        (row) => ({ ...row, entries: 0, exits: 0 }),
        (row) => ({ entries: row.entries, exits: row.exits }),
        campaignOrder,
      );
      return { ...window(current), ...pageOf(compared, order, after, limit), previous: window(earlier), freshness };
    },
  );

  api.get(
    '/v1/metrics/outreach',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['metrics'],
        summary: 'Text messages and emails by delivery status',
        description: STATUS_DESCRIPTION + FRESHNESS_DESCRIPTION,
        querystring: RangeQuerystring,
        response: { 200: OutreachResponse, ...errors },
      },
    },
    async (request) => {
      const { current, previous: earlier, range, before } = rangeOf(request.principal.tenantId, request.query);
      // Both periods in one read of each table (queryOutreachPeriods), not two queries.
      const [[counts, previous], freshness] = await Promise.all([outreachOf(range, before), freshnessOf()]);
      if (!earlier || !previous) return { ...window(current), ...counts, freshness };
      return {
        ...window(current),
        ...counts,
        previous: { ...window(earlier), ...previous },
        change: changeTree(counts, previous),
        freshness,
      };
    },
  );

  api.get(
    '/v1/metrics/rates',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['metrics'],
        summary: 'Deliverability rates with their exact parts and health against the thresholds senders are held to',
        description: describeRates() + FRESHNESS_DESCRIPTION,
        querystring: RangeQuerystring,
        response: { 200: RatesResponse, ...errors },
      },
    },
    async (request) => {
      const { current, previous: earlier, range, before } = rangeOf(request.principal.tenantId, request.query);
      // Both periods in one read of each table (queryOutreachPeriods), not two queries.
      const [[counts, previous], freshness] = await Promise.all([outreachOf(range, before), freshnessOf()]);
      const rates = ratesOf(counts, options.minimumVolume);
      if (!earlier || !previous) return { ...window(current), ...rates, freshness };
      const then = ratesOf(previous, options.minimumVolume);
      return { ...window(current), ...rates, previous: { ...window(earlier), ...then }, change: changeTree(rates, then), freshness };
    },
  );

  api.get(
    '/v1/metrics/outreach/campaigns',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['metrics'],
        summary: 'Text messages and emails by status, and their rates, per playbook and campaign',
        description:
          'One row per playbook + campaign (names as in /v1/metrics/campaigns); messages without a campaign are one row of their own (campaignId null). Rates as in /v1/metrics/rates.' +
          FRESHNESS_DESCRIPTION,
        querystring: PagedRangeQuerystring,
        response: { 200: OutreachCampaignsResponse, ...errors },
      },
    },
    async (request) => {
      const { current, previous: earlier, range, before } = rangeOf(request.principal.tenantId, request.query);
      const { limit, after } = pageParams(request.query);
      const [rows, previous, freshness] = await Promise.all([
        outreachCampaignsOf(range),
        before ? outreachCampaignsOf(before) : undefined,
        freshnessOf(),
      ]);
      if (!earlier || !previous) return { ...window(current), ...pageOf(rows, compareOutreachCampaignRows, after, limit), freshness };
      const compared = lineUp<OutreachCampaignRow, Pick<OutreachCampaignRow, 'sms' | 'email' | 'rates'>>(
        rows,
        previous,
        (row) => emptyOutreachCampaignRow(row, options.minimumVolume),
        (row) => ({ sms: row.sms, email: row.email, rates: row.rates }),
        compareOutreachCampaignRows,
      );
      return {
        ...window(current),
        ...pageOf(compared, compareOutreachCampaignRows, after, limit),
        previous: window(earlier),
        freshness,
      };
    },
  );

  api.get(
    '/v1/metrics/timeseries',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['metrics'],
        summary: 'One metric or rate per hour or day, local to a time zone',
        description:
          'Buckets are local to tz (default UTC), exact across DST changes and for :30/:45 offsets, and clipped to the range. A rate metric (e.g. email.bounceRate) gives each point its numerator and denominator.' +
          FRESHNESS_DESCRIPTION,
        querystring: TimeseriesQuerystring,
        response: { 200: TimeseriesResponse, ...errors },
      },
    },
    async (request) => {
      const { current, previous: earlier, range, before } = rangeOf(request.principal.tenantId, request.query);
      const tz = request.query.tz ?? 'UTC';
      const series = (r: MetricsRange) => {
        const query = { ...r, metric: request.query.metric, interval: request.query.interval, tz };
        return cachedAnswer(options.answers, r.tenantId, ['timeseries', query], () => queryTimeseries(clickhouse, query));
      };
      const [points, previous, freshness] = await Promise.all([series(range), before ? series(before) : undefined, freshnessOf()]);
      const head = { metric: request.query.metric, interval: request.query.interval, tz };
      if (!earlier || !previous) return { ...head, points, precision: current.precision, freshness };
      const compared = points.map((point, index) => {
        const then = previous[index];
        return { ...point, change: then ? change(point.value, then.value) : null };
      });
      return { ...head, points: compared, previous: { ...window(earlier), points: previous }, precision: current.precision, freshness };
    },
  );
}
