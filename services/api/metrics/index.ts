/** Exact range metrics over the 15-minute rollups and the raw edges (see range.ts). */
export { queryCampaigns, campaignsQuery, type CampaignRow } from './campaigns-query.js';
export { queryOutreach, outreachQuery, type OutreachCounts, type SmsCounts, type EmailCounts } from './outreach-query.js';
export {
  queryTimeseries,
  timeseriesQuery,
  TIMESERIES_METRICS,
  MAX_TIMESERIES_BUCKETS,
  type TimeseriesQuery,
  type TimeseriesPoint,
  type TimeseriesInterval,
} from './timeseries-query.js';
export { knownTimeZones } from './time-zones.js';
export { MIN_TIME_MS, MAX_TIME_MS, type MetricsRange } from './range.js';
export {
  MetricsQueryError,
  InvalidRangeError,
  InvalidArgumentError,
  UnknownMetricError,
  UnknownTimeZoneError,
  InvalidIntervalError,
  TooManyBucketsError,
} from './errors.js';
